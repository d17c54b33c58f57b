//! Duplicates and merging over HTTP: `possibleDuplicates` on the article and
//! on planted duplicates, `mergeEntities` moving relations, names and
//! sources and keeping the merged ids resolving, every bad input refused
//! without a change, and (against the real binary) one `graphChanged`
//! commit per merge and the merge surviving a restart and a SIGKILL.

use crate::common::DOC;
use crate::server::{self, counts, gql, Server};
use crate::subscriptions::{Client, SELECTION};
use crate::writes::Writable;
use serde_json::{json, Value};
use std::time::Duration;

const CREATE: &str = "mutation($input: EntityInput!) { createEntity(input: $input) { id } }";
const RELATE: &str = "mutation($input: RelationInput!) { createRelation(input: $input) { id } }";
const MERGE: &str = "mutation($into: ID!, $from: [ID!]!) { mergeEntities(into: $into, from: $from) { \
     id name aliases mergedIds sources { quote } relations(first: 50) { totalCount nodes { id from { id } to { id } } } } }";
const DUPLICATES: &str = "query($kind: EntityKind, $first: Int = 20) { possibleDuplicates(kind: $kind, first: $first) { \
     a { id kind } b { id kind } score reasons } }";
const STATE: &str = "{ graphVersion stats { entities relations } }";

fn service(id: &str, name: &str, aliases: &[&str], quote: &str) -> Value {
    json!({ "input": { "id": id, "kind": "SECURITY_SERVICE", "name": name, "aliases": aliases,
                       "sources": [{ "document": DOC, "quote": quote }] } })
}

fn part_of(id: &str, from: &str, to: &str) -> Value {
    json!({ "input": { "id": id, "kind": "PART_OF", "from": from, "to": to,
                       "sources": [{ "document": DOC, "quote": "including the Asayish and Peshmerga" }] } })
}

const QUOTE_A: &str = "including the Asayish and Peshmerga";
const QUOTE_B: &str = "Asayish";

/// Two security services that are one, related to the article's forces,
/// and a third one unlike them.
async fn planted(w: &Writable) {
    w.ok(
        CREATE,
        service("zeravani", "Zêravanî Forces", &["ZF"], QUOTE_A),
    )
    .await;
    w.ok(
        CREATE,
        service(
            "zeravani-forces",
            "FORCES ZERAVANI",
            &["Gendarmerie"],
            QUOTE_B,
        ),
    )
    .await;
    w.ok(CREATE, service("unrelated", "Kurdish Police", &[], QUOTE_A))
        .await;
    w.ok(
        RELATE,
        part_of(
            "zf-part-of-isif",
            "zeravani-forces",
            "iraqs-security-and-intelligence-forces",
        ),
    )
    .await;
    w.ok(
        RELATE,
        part_of("zf-part-of-kr", "zeravani-forces", "kurdistan-region"),
    )
    .await;
    w.ok(
        RELATE,
        part_of(
            "z-part-of-isif",
            "zeravani",
            "iraqs-security-and-intelligence-forces",
        ),
    )
    .await;
}

fn pairs(d: &Value) -> Vec<(String, String)> {
    d["possibleDuplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["a"]["id"].as_str().unwrap().to_owned(),
                c["b"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn possible_duplicates_on_the_article_pair_alike_names_of_one_kind_best_first() {
    let w = Writable::new();
    let (d, _) = w.ok(DUPLICATES, json!({ "first": 100 })).await;
    let found = d["possibleDuplicates"].as_array().unwrap();
    assert!(!found.is_empty(), "{d:#}");
    // The article names the partner forces twice, once more fully.
    assert!(
        pairs(&d).contains(&(
            "partner-forces-in-iraq-and-syria".into(),
            "partner-forces-in-syria".into()
        )),
        "{d:#}"
    );
    let mut last = f64::INFINITY;
    for c in found {
        assert_eq!(c["a"]["kind"], c["b"]["kind"], "{c}");
        assert!(c["a"]["id"].as_str() < c["b"]["id"].as_str(), "{c}");
        let score = c["score"].as_f64().unwrap();
        assert!(score <= last && score > 0.0 && score <= 1.0, "{c}");
        last = score;
        assert!(!c["reasons"].as_array().unwrap().is_empty(), "{c}");
    }
    let (d, _) = w
        .ok(DUPLICATES, json!({ "kind": "COUNTRY", "first": 100 }))
        .await;
    assert_eq!(d["possibleDuplicates"], json!([]));
}

#[actix_web::test]
async fn possible_duplicates_find_planted_accented_and_reordered_names() {
    let w = Writable::new();
    planted(&w).await;
    let (d, _) = w
        .ok(DUPLICATES, json!({ "kind": "SECURITY_SERVICE" }))
        .await;
    assert_eq!(
        d["possibleDuplicates"],
        json!([{ "a": { "id": "zeravani", "kind": "SECURITY_SERVICE" },
                 "b": { "id": "zeravani-forces", "kind": "SECURITY_SERVICE" },
                 "score": 1.0,
                 "reasons": ["same name in another word order: \"Zêravanî Forces\" and \"FORCES ZERAVANI\""] }]),
        "{d:#}"
    );
    for first in [0, 101, -1] {
        let (code, _, _) = w.refused(DUPLICATES, json!({ "first": first })).await;
        assert_eq!(code, "BAD_USER_INPUT", "first: {first}");
    }
}

#[actix_web::test]
async fn a_merge_moves_relations_names_and_sources_and_the_old_id_keeps_resolving() {
    let w = Writable::new();
    planted(&w).await;
    let (before, v0) = w.ok(STATE, json!({})).await;
    let (d, v1) = w
        .ok(
            MERGE,
            json!({ "into": "zeravani", "from": ["zeravani-forces"] }),
        )
        .await;
    assert_eq!(v1, v0 + 1, "one write");
    let m = &d["mergeEntities"];
    assert_eq!(m["id"], "zeravani");
    assert_eq!(m["name"], "Zêravanî Forces");
    assert_eq!(
        m["aliases"],
        json!(["ZF", "FORCES ZERAVANI", "Gendarmerie"])
    );
    assert_eq!(m["mergedIds"], json!(["zeravani-forces"]));
    assert_eq!(
        m["sources"],
        json!([{ "quote": QUOTE_A }, { "quote": QUOTE_B }])
    );
    assert_eq!(
        m["relations"]["nodes"],
        json!([
            { "id": "z-part-of-isif", "from": { "id": "zeravani" }, "to": { "id": "iraqs-security-and-intelligence-forces" } },
            { "id": "zf-part-of-isif", "from": { "id": "zeravani" }, "to": { "id": "iraqs-security-and-intelligence-forces" } },
            { "id": "zf-part-of-kr", "from": { "id": "zeravani" }, "to": { "id": "kurdistan-region" } },
        ])
    );
    // No relation lost or doubled; one entity fewer.
    let (after, _) = w.ok(STATE, json!({})).await;
    assert_eq!(after["stats"]["relations"], before["stats"]["relations"]);
    assert_eq!(
        after["stats"]["entities"].as_i64().unwrap(),
        before["stats"]["entities"].as_i64().unwrap() - 1
    );
    // The old id answers the entity it went into, everywhere by id.
    let (d, _) = w
        .ok(
            r#"{ entity(id: "zeravani-forces") { id mergedIds }
                 node(id: "zeravani-forces") { id }
                 export(format: NODE_LINK, id: "zeravani-forces", depth: 0) }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["entity"],
        json!({ "id": "zeravani", "mergedIds": ["zeravani-forces"] })
    );
    assert_eq!(d["node"], json!({ "id": "zeravani" }));
    let export: Value = serde_json::from_str(d["export"].as_str().unwrap()).unwrap();
    let nodes: Vec<&str> = export["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["zeravani"], "{export:#}");
    // The exports say which ids went into it: FtM as `referents`, the
    // graph formats as a typed attribute beside the record.
    let (d, _) = w
        .ok(
            r#"{ ftm: export(format: FTM, id: "zeravani", depth: 0)
                 gexf: export(format: GEXF, id: "zeravani", depth: 0) }"#,
            json!({}),
        )
        .await;
    let line = d["ftm"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["id"] == "zeravani")
        .unwrap();
    assert_eq!(line["referents"], json!(["zeravani-forces"]), "{line:#}");
    assert!(
        d["gexf"]
            .as_str()
            .unwrap()
            .contains(r#"value="zeravani-forces""#),
        "{}",
        d["gexf"]
    );
    // The merged id stays reserved.
    let (code, message, _) = w
        .refused(CREATE, service("zeravani-forces", "New", &[], QUOTE_A))
        .await;
    assert_eq!(code, "CONFLICT", "{message}");
    assert!(message.contains("zeravani-forces"), "{message}");
    // The duplicates are gone.
    let (d, _) = w
        .ok(DUPLICATES, json!({ "kind": "SECURITY_SERVICE" }))
        .await;
    assert_eq!(d["possibleDuplicates"], json!([]));
    // Merging the survivor on carries its merged ids, and an answer
    // about the old id read before (perhaps kept by the response cache)
    // is not answered again.
    const OLD: &str = r#"{ entity(id: "zeravani-forces") { id } }"#;
    let (d, _) = w.ok(OLD, json!({})).await;
    assert_eq!(d["entity"]["id"], "zeravani");
    w.ok(CREATE, service("zeravani-2", "Zeravani", &[], QUOTE_A))
        .await;
    let (d, _) = w
        .ok(MERGE, json!({ "into": "zeravani-2", "from": ["zeravani"] }))
        .await;
    assert_eq!(
        d["mergeEntities"]["mergedIds"],
        json!(["zeravani", "zeravani-forces"])
    );
    let (d, _) = w.ok(OLD, json!({})).await;
    assert_eq!(d["entity"]["id"], "zeravani-2");
}

#[actix_web::test]
async fn every_bad_merge_is_refused_and_changes_nothing() {
    let w = Writable::new();
    planted(&w).await;
    w.ok(
        RELATE,
        part_of("zf-part-of-z", "zeravani-forces", "zeravani"),
    )
    .await;
    let cases: &[(Value, &str, &str)] = &[
        (
            json!({ "into": "nobody", "from": ["zeravani"] }),
            "NOT_FOUND",
            "nobody",
        ),
        (
            json!({ "into": "zeravani", "from": ["nobody"] }),
            "NOT_FOUND",
            "nobody",
        ),
        (
            json!({ "into": "zeravani", "from": ["zeravani"] }),
            "BAD_USER_INPUT",
            "itself",
        ),
        (
            json!({ "into": "zeravani", "from": [] }),
            "BAD_USER_INPUT",
            "empty",
        ),
        (
            json!({ "into": "zeravani", "from": ["unrelated", "unrelated"] }),
            "BAD_USER_INPUT",
            "more than once",
        ),
        (
            json!({ "into": "zeravani", "from": ["asayish", "kurdistan-region"] }),
            "BAD_USER_INPUT",
            "same kind",
        ),
        (
            json!({ "into": "zeravani", "from": ["zeravani-forces"] }),
            "CONFLICT",
            "relation `zf-part-of-z`",
        ),
    ];
    let (before, _) = w.ok(STATE, json!({})).await;
    for (vars, code, says) in cases {
        let (got, message, version) = w.refused(MERGE, vars.clone()).await;
        assert_eq!(
            (got.as_str(), version),
            (*code, before["graphVersion"].as_u64().unwrap()),
            "{vars}: {message}"
        );
        assert!(message.contains(says), "{vars}: {message}");
    }
    let (got, _, _) = w
        .refused_with(
            MERGE,
            json!({ "into": "zeravani", "from": ["unrelated"] }),
            None,
        )
        .await;
    assert_eq!(got, "UNAUTHENTICATED");
    let (after, _) = w.ok(STATE, json!({})).await;
    assert_eq!(after, before);
    let (d, _) = w
        .ok(
            r#"{ entity(id: "unrelated") { id mergedIds } z: entity(id: "zeravani") { aliases mergedIds } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d,
        json!({ "entity": { "id": "unrelated", "mergedIds": [] },
                "z": { "aliases": ["ZF"], "mergedIds": [] } })
    );
}

/// Against the real binary: a merge is one commit (every change it
/// announces carries one graph version), and it survives a restart and a
/// SIGKILL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_is_one_commit_and_survives_a_restart_and_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let port = server.port;
    let blocking = |query: &'static str, vars: Value| {
        tokio::task::spawn_blocking(move || gql(port, query, vars))
    };
    blocking(
        CREATE,
        service("zeravani", "Zêravanî Forces", &["ZF"], QUOTE_A),
    )
    .await
    .unwrap();
    blocking(
        CREATE,
        service("zeravani-forces", "Forces Zeravani", &[], QUOTE_B),
    )
    .await
    .unwrap();
    blocking(CREATE, service("zeravani-2", "Zeravani", &[], QUOTE_A))
        .await
        .unwrap();
    blocking(
        RELATE,
        part_of("zf-part-of-kr", "zeravani-forces", "kurdistan-region"),
    )
    .await
    .unwrap();

    let mut client = Client::connect(port).await;
    client
        .subscribe(
            "all",
            &format!("subscription {{ graphChanged {SELECTION} }}"),
        )
        .await;
    // The subscription listens from when the server first polls it: write
    // until it has seen a write, then merge.
    let mut live = false;
    for round in 0..10 {
        let warm = format!("warm-{round}");
        tokio::task::spawn_blocking(move || {
            gql(port, CREATE, service(&warm, "Warm-up", &[], QUOTE_A))
        })
        .await
        .unwrap();
        if client
            .wait_until(Duration::from_secs(2), |c| !c.events("all").is_empty())
            .await
        {
            live = true;
            break;
        }
    }
    assert!(live, "the subscription never received a warm-up write");
    let (v0, e0, r0) = tokio::task::spawn_blocking(move || counts(port))
        .await
        .unwrap();
    let seen = client.events("all").len();
    let d = blocking(
        MERGE,
        json!({ "into": "zeravani", "from": ["zeravani-forces"] }),
    )
    .await
    .unwrap();
    assert_eq!(d["mergeEntities"]["mergedIds"], json!(["zeravani-forces"]));
    assert!(
        client
            .wait_until(Duration::from_secs(5), |c| c.events("all").len()
                >= seen + 3)
            .await,
        "the merge's changes were not announced"
    );
    // Nothing else was written: give a stray event time to arrive.
    client
        .wait_until(Duration::from_millis(300), |c| {
            c.events("all").len() > seen + 3
        })
        .await;
    let merge_events: Vec<(String, String, i64)> = client.events("all")[seen..]
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["id"].as_str().unwrap().to_owned(),
                e["graphVersion"].as_i64().unwrap(),
            )
        })
        .collect();
    let v1 = v0 + 1;
    assert_eq!(
        merge_events,
        [
            (
                "RELATION_UPDATED".to_owned(),
                "zf-part-of-kr".to_owned(),
                v1
            ),
            (
                "ENTITY_DELETED".to_owned(),
                "zeravani-forces".to_owned(),
                v1
            ),
            ("ENTITY_UPDATED".to_owned(), "zeravani".to_owned(), v1),
        ]
    );
    assert_eq!(counts(port), (v1, e0 - 1, r0));

    const CHECK: &str = r#"{ old: entity(id: "zeravani-forces") { id }
        z: entity(id: "zeravani") { id aliases mergedIds sources { quote } }
        relation(id: "zf-part-of-kr") { from { id } to { id } } }"#;
    let merged = json!({
        "old": { "id": "zeravani" },
        "z": { "id": "zeravani", "aliases": ["ZF", "Forces Zeravani"], "mergedIds": ["zeravani-forces"],
               "sources": [{ "quote": QUOTE_A }, { "quote": QUOTE_B }] },
        "relation": { "from": { "id": "zeravani" }, "to": { "id": "kurdistan-region" } },
    });
    assert_eq!(gql(port, CHECK, json!({})), merged);
    drop(client);

    assert!(server.terminate().success());
    let server = Server::start(&data);
    let port = server.port;
    assert_eq!(gql(port, CHECK, json!({})), merged, "after a restart");
    assert_eq!(counts(port), (v1, e0 - 1, r0));
    let (_, refused) = server::try_gql(
        port,
        CREATE,
        service("zeravani-forces", "Again", &[], QUOTE_A),
    )
    .unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "CONFLICT");

    // A second merge, acknowledged, then SIGKILL.
    let d = gql(
        port,
        MERGE,
        json!({ "into": "zeravani-2", "from": ["zeravani"] }),
    );
    assert_eq!(
        d["mergeEntities"]["mergedIds"],
        json!(["zeravani", "zeravani-forces"])
    );
    server.kill();
    let server = Server::start(&data);
    let port = server.port;
    let d = gql(
        port,
        r#"{ a: entity(id: "zeravani-forces") { id mergedIds } b: node(id: "zeravani") { id }
             relation(id: "zf-part-of-kr") { from { id } } }"#,
        json!({}),
    );
    assert_eq!(
        d,
        json!({ "a": { "id": "zeravani-2", "mergedIds": ["zeravani", "zeravani-forces"] },
                "b": { "id": "zeravani-2" },
                "relation": { "from": { "id": "zeravani-2" } } })
    );
    assert_eq!(counts(port), (v1 + 1, e0 - 2, r0));
}
