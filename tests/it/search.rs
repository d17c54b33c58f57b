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

/// Pages walked with cursors, forwards and backwards, are slices of the
/// whole ranking: each page ranks only the hits up to its end.
#[actix_web::test]
async fn pages_of_a_search_are_slices_of_the_whole_ranking() {
    let whole = search("a").await;
    assert!(whole.len() > 12, "{whole:?}");
    let page = |args: String| async move {
        let d = data(
            &format!(
                "{{ entities(search: \"a\", {args}) {{ totalCount \
                 edges {{ cursor node {{ id }} }} }} }}"
            ),
            json!({}),
        )
        .await;
        let edges = d["entities"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ids: Vec<String> = edges
            .iter()
            .filter_map(|e| e["node"]["id"].as_str().map(String::from))
            .collect();
        let cursors: Vec<String> = edges
            .iter()
            .filter_map(|e| e["cursor"].as_str().map(String::from))
            .collect();
        (d["entities"]["totalCount"].as_u64(), ids, cursors)
    };
    let mut seen = Vec::new();
    let mut args = "first: 5".to_string();
    loop {
        let (total, ids, cursors) = page(args.clone()).await;
        assert_eq!(total, Some(whole.len() as u64));
        seen.extend(ids);
        match cursors.last() {
            Some(c) if seen.len() < whole.len() => args = format!("first: 5, after: \"{c}\""),
            _ => break,
        }
    }
    assert_eq!(seen, whole, "forwards, five at a time");
    let (_, tail, cursors) = page("last: 3".into()).await;
    assert_eq!(tail, whole[whole.len() - 3..], "the last three");
    let (_, before, _) = page(format!("last: 4, before: \"{}\"", cursors[0])).await;
    assert_eq!(
        before,
        whole[whole.len() - 7..whole.len() - 3],
        "four before them"
    );
    let (_, default, _) = page(String::new()).await;
    assert_eq!(default, whole[..default.len()], "the default page");
}
