//! The article's key facts, as the API reports them.

use crate::common::{arr, data, ids, normalize_ws, s, DOC};
use serde_json::{json, Value};
use std::collections::HashMap;

#[actix_web::test]
async fn ctef_total_is_358_million_exact() {
    let d = data(
        r#"{ entity(id: "ctef") { name aliases ... on Fund { totalAmount { amount currency qualifier display } } } }"#,
        json!(null),
    )
    .await;
    let e = &d["entity"];
    assert_eq!(e["name"], "Counter-ISIS Train and Equip Fund");
    assert_eq!(e["aliases"], json!(["CTEF"]));
    assert_eq!(
        e["totalAmount"],
        json!({ "amount": 358_000_000.0, "currency": "USD", "qualifier": "EXACT", "display": "$358 million" }),
        "$358 million is stated, never $213M + $130M"
    );
}

#[actix_web::test]
async fn ctef_money_to_iraq_and_syria() {
    let d = data(
        r#"{
            entity(id: "ctef") {
                relations(direction: OUTGOING, kinds: [FUNDS]) {
                    nodes { id to { id name } fiscalYear amount { amount currency qualifier display } }
                }
            }
        }"#,
        json!(null),
    )
    .await;
    let funds = arr(&d["entity"]["relations"]["nodes"]);
    assert_eq!(funds.len(), 2);
    let isi = &funds[0];
    assert_eq!(isi["to"]["id"], "iraqs-security-institutions");
    assert_eq!(isi["to"]["name"], "Iraq’s security institutions");
    assert_eq!(isi["fiscalYear"], 2026);
    assert_eq!(
        isi["amount"],
        json!({ "amount": 213_000_000.0, "currency": "USD", "qualifier": "AT_LEAST", "display": "more than $213 million" })
    );
    let syria = &funds[1];
    assert_eq!(syria["to"]["id"], "partner-forces-in-syria");
    assert_eq!(
        syria["amount"],
        json!({ "amount": 130_000_000.0, "currency": "USD", "qualifier": "EXACT", "display": "$130 million" })
    );
}

#[actix_web::test]
async fn ndaa_total_vote_and_enactment() {
    let d = data(
        r#"{
            entity(id: "fy2026-ndaa") {
                name aliases
                ... on Legislation { total { amount qualifier display } vote { yeas nays display } enactedBy { id name } }
            }
            relations(kind: ENACTED) { nodes { from { id } to { id } } }
        }"#,
        json!(null),
    )
    .await;
    let e = &d["entity"];
    assert_eq!(
        e["name"],
        "Fiscal Year 2026 National Defense Authorization Act"
    );
    assert_eq!(e["aliases"], json!(["NDAA"]));
    assert_eq!(
        e["total"],
        json!({ "amount": 925_000_000_000.0, "qualifier": "EXACT", "display": "$925 billion" })
    );
    assert_eq!(e["total"]["amount"].as_f64(), Some(925e9));
    assert_eq!(
        e["vote"],
        json!({ "yeas": 77, "nays": 20, "display": "77–20" })
    );
    assert_eq!(
        e["enactedBy"],
        json!([{ "id": "us-congress", "name": "U.S. Congress" }])
    );
    assert!(arr(&d["relations"]["nodes"])
        .contains(&json!({ "from": { "id": "us-congress" }, "to": { "id": "fy2026-ndaa" } })));
}

const FLOW: &str = "source { id } recipient { id } direct amount { amount qualifier display } path { length entities { id } relations { id kind } }";

#[actix_web::test]
async fn funding_flows_to_peshmerga_go_through_iraqs_security_institutions() {
    let d = data(
        &format!(
            r#"{{
                to: fundingFlows(to: "peshmerga") {{ {FLOW} }}
                fromCtef: fundingFlows(from: "ctef", to: "peshmerga") {{ {FLOW} }}
            }}"#
        ),
        json!(null),
    )
    .await;
    let flows = arr(&d["to"]);
    let flow = flows
        .iter()
        .find(|f| {
            ids(&f["path"]["entities"])
                == [
                    "fy2026-ndaa",
                    "ctef",
                    "iraqs-security-institutions",
                    "peshmerga",
                ]
        })
        .unwrap_or_else(|| panic!("no flow NDAA → CTEF → ISI → Peshmerga in {flows:#?}"));
    assert_eq!(flow["source"]["id"], "fy2026-ndaa");
    assert_eq!(flow["recipient"]["id"], "peshmerga");
    assert_eq!(flow["direct"], false);
    assert_eq!(
        flow["amount"],
        json!({ "amount": 213_000_000.0, "qualifier": "AT_LEAST", "display": "more than $213 million" }),
        "the group's amount, not a share of it"
    );
    assert_eq!(flow["path"]["length"], 3);
    let kinds: Vec<&str> = arr(&flow["path"]["relations"])
        .iter()
        .map(|r| s(&r["kind"]))
        .collect();
    assert_eq!(kinds, ["AUTHORIZES", "FUNDS", "PART_OF"]);
    assert!(flows.iter().all(|f| f["recipient"]["id"] == "peshmerga"));

    let from_ctef = arr(&d["fromCtef"]);
    assert_eq!(from_ctef.len(), 1);
    assert_eq!(from_ctef[0]["source"]["id"], "ctef");
    assert_eq!(
        ids(&from_ctef[0]["path"]["entities"]),
        ["ctef", "iraqs-security-institutions", "peshmerga"]
    );
    assert_eq!(from_ctef[0]["direct"], false);
    assert_eq!(from_ctef[0]["amount"]["amount"], 213_000_000.0);
}

#[actix_web::test]
async fn funding_flows_from_ctef_and_from_origins() {
    let d = data(
        &format!(
            r#"{{
                fromCtef: fundingFlows(from: "ctef") {{ {FLOW} }}
                ctef: entity(id: "ctef") {{ ... on Fund {{ flows {{ {FLOW} }} }} }}
                all: fundingFlows {{ {FLOW} }}
                fy2026: fundingFlows(fiscalYear: 2026) {{ recipient {{ id }} }}
                fy2025: fundingFlows(fiscalYear: 2025) {{ recipient {{ id }} }}
            }}"#
        ),
        json!(null),
    )
    .await;
    let recipients = |v: &Value| -> Vec<String> {
        arr(v)
            .iter()
            .map(|f| s(&f["recipient"]["id"]).to_owned())
            .collect()
    };
    assert_eq!(
        recipients(&d["fromCtef"]),
        [
            "iraqs-security-institutions",
            "peshmerga",
            "partner-forces-in-syria"
        ]
    );
    let direct: Vec<bool> = arr(&d["fromCtef"])
        .iter()
        .map(|f| f["direct"].as_bool().unwrap())
        .collect();
    assert_eq!(direct, [true, false, true]);
    assert_eq!(d["fromCtef"][2]["amount"]["display"], "$130 million");
    assert!(arr(&d["fromCtef"])
        .iter()
        .all(|f| f["source"]["id"] == "ctef"));
    assert_eq!(
        d["ctef"]["flows"], d["fromCtef"],
        "Fund.flows is fundingFlows(from: the fund)"
    );

    // Money starts at the NDAA, the only origin: nothing money-carrying flows into it.
    let all = arr(&d["all"]);
    assert!(all.iter().all(|f| f["source"]["id"] == "fy2026-ndaa"));
    assert_eq!(
        recipients(&d["all"]),
        [
            "ctef",
            "iraqs-security-institutions",
            "peshmerga",
            "partner-forces-in-syria",
            "cjtf-oir",
            "partner-forces-in-iraq-and-syria",
        ]
    );
    let displays: Vec<Option<&str>> = all
        .iter()
        .map(|f| f["amount"]["display"].as_str())
        .collect();
    assert_eq!(
        displays,
        [
            Some("$358 million"),
            Some("more than $213 million"),
            Some("more than $213 million"),
            Some("$130 million"),
            None,
            Some("$343 million"),
        ]
    );
    assert_eq!(
        all[4]["amount"],
        Value::Null,
        "no amount stated for CJTF-OIR"
    );
    assert_eq!(recipients(&d["fy2026"]), recipients(&d["all"]));
    assert_eq!(d["fy2025"], json!([]));
}

#[actix_web::test]
async fn issa_ozeir_is_chief_of_staff_of_the_ministry_of_peshmerga() {
    let d = data(
        r#"{
            entity(id: "issa-ozeir") {
                kind name
                ... on Person { rank positions { role organization { id name } } }
            }
        }"#,
        json!(null),
    )
    .await;
    let e = &d["entity"];
    assert_eq!(e["kind"], "PERSON");
    assert_eq!(e["name"], "Issa Ozeir");
    assert_eq!(e["rank"], "Lieutenant General");
    assert_eq!(
        e["positions"],
        json!([{ "role": "Chief of Staff", "organization": { "id": "ministry-of-peshmerga", "name": "Ministry of Peshmerga" } }])
    );
}

#[actix_web::test]
async fn the_two_iraqi_force_phrases_stay_apart() {
    let d = data(
        r#"{
            a: entity(id: "iraqs-security-institutions") { name kind }
            b: entity(id: "iraqs-security-and-intelligence-forces") { name kind }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["a"]["name"], "Iraq’s security institutions");
    assert_eq!(d["b"]["name"], "Iraq’s security and intelligence forces");
    assert_eq!(d["a"]["kind"], "ARMED_FORCE");
    assert_eq!(d["b"]["kind"], "ARMED_FORCE");
}

#[actix_web::test]
async fn every_fact_quotes_its_document() {
    let d = data(
        r#"{
            documents { id text }
            entities(first: 100) { totalCount nodes { id sources { document { id } quote } } }
            relations(first: 100) { totalCount nodes { id sources { document { id } quote } } }
        }"#,
        json!(null),
    )
    .await;
    let texts: HashMap<String, String> = arr(&d["documents"])
        .iter()
        .map(|doc| (s(&doc["id"]).to_owned(), normalize_ws(s(&doc["text"]))))
        .collect();
    assert!(texts.contains_key(DOC));
    let mut checked = 0;
    for list in ["entities", "relations"] {
        let nodes = arr(&d[list]["nodes"]);
        assert_eq!(
            nodes.len() as u64,
            d[list]["totalCount"].as_u64().unwrap(),
            "all {list} fit in one page"
        );
        for node in nodes {
            let id = s(&node["id"]);
            let sources = arr(&node["sources"]);
            assert!(!sources.is_empty(), "{list} `{id}` has no source");
            for src in sources {
                let doc = s(&src["document"]["id"]);
                let text = texts
                    .get(doc)
                    .unwrap_or_else(|| panic!("{list} `{id}` cites unknown document `{doc}`"));
                let quote = normalize_ws(s(&src["quote"]));
                assert!(!quote.is_empty(), "{list} `{id}` has an empty quote");
                assert!(
                    text.contains(&quote),
                    "{list} `{id}`: quote not in `{doc}`: {quote:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 24 + 43);
}
