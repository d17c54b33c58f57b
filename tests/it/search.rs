//! `entities(search:)`: name and aliases, case- and accent-insensitive,
//! ranked exact > prefix > substring.

use crate::common::{data, ids};
use serde_json::json;
use std::collections::BTreeSet;

async fn search(q: &str) -> Vec<String> {
    let d = data(
        "query($q: String) { entities(search: $q, first: 100) { totalCount nodes { id } } }",
        json!({ "q": q }),
    )
    .await;
    let found = ids(&d["entities"]["nodes"]);
    assert_eq!(
        d["entities"]["totalCount"].as_u64(),
        Some(found.len() as u64)
    );
    found
}

#[actix_web::test]
async fn ctef_finds_the_fund_first() {
    for q in ["CTEF", "ctef", "Ctef", "CTÉF", "ctéf", "  CTEF  "] {
        let found = search(q).await;
        assert_eq!(found.first().map(String::as_str), Some("ctef"), "{q:?}");
    }
    let by_name = search("counter-isis train and equip fund").await;
    assert_eq!(by_name.first().map(String::as_str), Some("ctef"));
}

#[actix_web::test]
async fn search_is_case_and_accent_insensitive() {
    assert_eq!(
        search("PESHMERGA").await,
        ["peshmerga", "ministry-of-peshmerga"]
    );
    assert_eq!(search("peshmerga").await, search("PeShMeRgA").await);
    assert_eq!(search("Pêshmergá").await, search("peshmerga").await);
    // The article's curly apostrophe matches a straight one.
    let straight = search("Iraq's security institutions").await;
    assert_eq!(straight, ["iraqs-security-institutions"]);
    assert_eq!(search("IRAQ’S SECURITY INSTITUTIONS").await, straight);
    // Aliases are searched too.
    assert_eq!(search("krg").await, ["kurdistan-regional-government"]);
    assert_eq!(
        search("washington").await.first().map(String::as_str),
        Some("united-states")
    );
    assert!(search("no such thing at all").await.is_empty());
}

#[actix_web::test]
async fn exact_then_prefix_then_substring() {
    let found = search("iraq").await;
    assert_eq!(found.len(), 7, "{found:?}");
    assert_eq!(found[0], "iraq", "the exact match first");
    let prefix: BTreeSet<&str> = found[1..4].iter().map(String::as_str).collect();
    assert_eq!(
        prefix,
        BTreeSet::from([
            "iraqi-armed-forces-command",
            "iraqs-security-and-intelligence-forces",
            "iraqs-security-institutions",
        ]),
        "then names starting with the query: {found:?}"
    );
    let pos = |id: &str| found.iter().position(|x| x == id).unwrap();
    assert!(
        pos("iraqs-security-and-intelligence-forces") < pos("iraqs-security-institutions"),
        "then by name"
    );
    assert_eq!(
        found[4..],
        [
            "partner-forces-in-iraq-and-syria", // "American-verified partner forces in Iraq and Syria"
            "federal-government-of-iraq",       // "Federal Government of Iraq"
            "us-iraq-talks",                    // "U.S.-Iraq Strategic Talks"
        ],
        "then names containing the query, by name"
    );
}

#[actix_web::test]
async fn search_with_kind() {
    let d = data(
        r#"{
            forces: entities(search: "partner", kind: ARMED_FORCE) { nodes { id } }
            none: entities(search: "partner", kind: COUNTRY) { totalCount nodes { id } }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(
        ids(&d["forces"]["nodes"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "partner-forces-in-iraq-and-syria".to_owned(),
            "partner-forces-in-syria".to_owned()
        ])
    );
    assert_eq!(d["none"]["totalCount"], 0);
    assert_eq!(d["none"]["nodes"], json!([]));
}
