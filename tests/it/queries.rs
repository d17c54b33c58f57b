//! Every Query root field of the contract answers, and the concrete entity
//! types and the Relation and Money types carry their fields.

use crate::common::{arr, data, ids, s, DOC};
use serde_json::{json, Value};

#[actix_web::test]
async fn node_resolves_entities_relations_and_documents() {
    let d = data(
        r#"query($doc: ID!) {
            fund: node(id: "ctef") {
                __typename id
                ... on Fund { name totalAmount { display } }
            }
            rel: node(id: "fy2026-ndaa-authorizes-ctef") {
                __typename id
                ... on Relation { kind from { id } to { id } amount { amount qualifier } fiscalYear }
            }
            doc: node(id: $doc) {
                __typename id
                ... on Document { publisher dateline publishedOn }
            }
            person: node(id: "issa-ozeir") { __typename ... on Person { rank } }
            unknown: node(id: "no-such-node") { id }
        }"#,
        json!({ "doc": DOC }),
    )
    .await;
    assert_eq!(d["fund"]["__typename"], "Fund");
    assert_eq!(d["fund"]["id"], "ctef");
    assert_eq!(d["fund"]["name"], "Counter-ISIS Train and Equip Fund");
    assert_eq!(d["fund"]["totalAmount"]["display"], "$358 million");

    assert_eq!(d["rel"]["__typename"], "Relation");
    assert_eq!(d["rel"]["kind"], "AUTHORIZES");
    assert_eq!(d["rel"]["from"]["id"], "fy2026-ndaa");
    assert_eq!(d["rel"]["to"]["id"], "ctef");
    assert_eq!(d["rel"]["amount"]["amount"], 358_000_000.0);
    assert_eq!(d["rel"]["amount"]["qualifier"], "EXACT");
    assert_eq!(d["rel"]["fiscalYear"], 2026);

    assert_eq!(d["doc"]["__typename"], "Document");
    assert_eq!(d["doc"]["id"], DOC);
    assert_eq!(d["doc"]["publisher"], "Kurdistan24");
    assert_eq!(d["doc"]["dateline"], "Erbil");
    assert_eq!(d["doc"]["publishedOn"], Value::Null);

    assert_eq!(d["person"]["__typename"], "Person");
    assert_eq!(d["person"]["rank"], "Lieutenant General");
    assert_eq!(d["unknown"], Value::Null);
}

#[actix_web::test]
async fn entity_known_and_unknown() {
    let d = data(
        r#"{
            known: entity(id: "peshmerga") { __typename id kind name aliases description }
            unknown: entity(id: "no-such-entity") { id }
            notAnEntity: entity(id: "fy2026-ndaa-authorizes-ctef") { id }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["known"]["__typename"], "Organization");
    assert_eq!(d["known"]["id"], "peshmerga");
    assert_eq!(d["known"]["kind"], "ARMED_FORCE");
    assert_eq!(d["known"]["name"], "Peshmerga");
    assert_eq!(d["known"]["aliases"], json!(["Peshmerga Forces"]));
    assert!(s(&d["known"]["description"]).contains("pillar of regional stability"));
    assert_eq!(d["unknown"], Value::Null);
    assert_eq!(d["notAnEntity"], Value::Null);
}

#[actix_web::test]
async fn entities_filter_by_kind_and_search() {
    let d = data(
        r#"{
            forces: entities(kind: ARMED_FORCE) { totalCount nodes { id kind } }
            countries: entities(kind: COUNTRY) { totalCount edges { cursor node { id } } }
            iraqCountry: entities(kind: COUNTRY, search: "iraq") { totalCount nodes { id } }
            all: entities(first: 100) { totalCount nodes { id } }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["forces"]["totalCount"], 5);
    assert_eq!(
        ids(&d["forces"]["nodes"]),
        [
            "iraqs-security-and-intelligence-forces",
            "iraqs-security-institutions",
            "partner-forces-in-iraq-and-syria",
            "partner-forces-in-syria",
            "peshmerga",
        ]
    );
    assert!(arr(&d["forces"]["nodes"])
        .iter()
        .all(|n| n["kind"] == "ARMED_FORCE"));
    assert_eq!(d["countries"]["totalCount"], 3);
    let countries: Vec<&str> = arr(&d["countries"]["edges"])
        .iter()
        .map(|e| s(&e["node"]["id"]))
        .collect();
    assert_eq!(countries, ["iraq", "syria", "united-states"]);
    assert_eq!(ids(&d["iraqCountry"]["nodes"]), ["iraq"]);
    assert_eq!(d["all"]["totalCount"], 24);
    let all = ids(&d["all"]["nodes"]);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "without search, entities are ordered by id");
}

#[actix_web::test]
async fn relation_known_and_unknown() {
    let d = data(
        r#"{
            r: relation(id: "ctef-funds-partner-forces-in-syria") {
                id kind from { id } to { id } role fiscalYear date categories
                amount { amount currency qualifier display }
                sources { document { id } quote }
            }
            unknown: relation(id: "no-such-relation") { id }
        }"#,
        json!(null),
    )
    .await;
    let r = &d["r"];
    assert_eq!(r["kind"], "FUNDS");
    assert_eq!(r["from"]["id"], "ctef");
    assert_eq!(r["to"]["id"], "partner-forces-in-syria");
    assert_eq!(r["role"], Value::Null);
    assert_eq!(r["fiscalYear"], 2026);
    assert_eq!(r["date"], Value::Null);
    assert_eq!(r["categories"], json!([]));
    assert_eq!(
        r["amount"],
        json!({ "amount": 130_000_000.0, "currency": "USD", "qualifier": "EXACT", "display": "$130 million" })
    );
    assert_eq!(
        r["sources"],
        json!([{ "document": { "id": DOC }, "quote": "an additional $130 million allocated to partner forces in Syria" }])
    );
    assert_eq!(d["unknown"], Value::Null);
}

#[actix_web::test]
async fn relations_filter_by_kind() {
    let d = data(
        r#"{
            funds: relations(kind: FUNDS) { totalCount nodes { id kind } }
            participation: relations(kind: PARTICIPATES_IN) { totalCount }
            enacted: relations(kind: ENACTED) { nodes { id from { id } to { id } } }
            all: relations(first: 100) { totalCount }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["funds"]["totalCount"], 4);
    assert_eq!(
        ids(&d["funds"]["nodes"]),
        [
            "ctef-funds-iraqs-security-institutions",
            "ctef-funds-partner-forces-in-syria",
            "fy2026-ndaa-funds-cjtf-oir",
            "fy2026-ndaa-funds-partner-forces-in-iraq-and-syria",
        ]
    );
    assert!(arr(&d["funds"]["nodes"])
        .iter()
        .all(|n| n["kind"] == "FUNDS"));
    assert_eq!(d["participation"]["totalCount"], 9);
    assert_eq!(
        d["enacted"]["nodes"],
        json!([{ "id": "us-congress-enacted-fy2026-ndaa", "from": { "id": "us-congress" }, "to": { "id": "fy2026-ndaa" } }])
    );
    assert_eq!(d["all"]["totalCount"], 43);
}

#[actix_web::test]
async fn documents_list_the_article() {
    let d = data(
        "{ documents { id title publisher publishedOn dateline text } }",
        json!(null),
    )
    .await;
    let docs = arr(&d["documents"]);
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!(doc["id"], DOC);
    assert_eq!(
        doc["title"],
        "Peshmerga Participate in U.S.-Iraq Strategic Talks to Strengthen Long-Term Security Cooperation"
    );
    assert_eq!(doc["publisher"], "Kurdistan24");
    assert_eq!(doc["dateline"], "Erbil");
    assert_eq!(doc["publishedOn"], Value::Null);
    assert!(s(&doc["text"]).contains("Erbil (Kurdistan24)"));
}

#[actix_web::test]
async fn shortest_path_counts_hops() {
    let d = data(
        r#"{
            both: shortestPath(from: "issa-ozeir", to: "peshmerga") {
                length entities { id } relations { id }
            }
            outgoing: shortestPath(from: "issa-ozeir", to: "peshmerga", direction: OUTGOING) { length }
            money: shortestPath(from: "fy2026-ndaa", to: "peshmerga", kinds: [AUTHORIZES, FUNDS, PART_OF]) {
                length entities { id }
            }
            itself: shortestPath(from: "ctef", to: "ctef") { length entities { id } relations { id } }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["both"]["length"], 2);
    assert_eq!(
        ids(&d["both"]["entities"]),
        ["issa-ozeir", "us-iraq-talks", "peshmerga"]
    );
    assert_eq!(
        ids(&d["both"]["relations"]),
        [
            "issa-ozeir-participates-in-us-iraq-talks",
            "peshmerga-participates-in-us-iraq-talks"
        ]
    );
    assert_eq!(d["outgoing"], Value::Null, "no outgoing path: null");
    assert_eq!(d["money"]["length"], 3);
    assert_eq!(
        ids(&d["money"]["entities"]),
        [
            "fy2026-ndaa",
            "ctef",
            "iraqs-security-institutions",
            "peshmerga"
        ]
    );
    assert_eq!(d["itself"]["length"], 0);
    assert_eq!(ids(&d["itself"]["entities"]), ["ctef"]);
    assert_eq!(d["itself"]["relations"], json!([]));
}

#[actix_web::test]
async fn paths_are_ordered_simple_paths() {
    let d = data(
        r#"{
            two: paths(from: "issa-ozeir", to: "peshmerga", maxLength: 2) { length entities { id } relations { id } }
            four: paths(from: "issa-ozeir", to: "peshmerga") { length entities { id } relations { id } }
            one: paths(from: "issa-ozeir", to: "peshmerga", first: 1) { length }
            out: paths(from: "fy2026-ndaa", to: "iraqs-security-institutions", direction: OUTGOING) { length entities { id } }
        }"#,
        json!(null),
    )
    .await;
    let two = arr(&d["two"]);
    assert_eq!(two.len(), 1);
    assert_eq!(
        ids(&two[0]["entities"]),
        ["issa-ozeir", "us-iraq-talks", "peshmerga"]
    );
    let four = arr(&d["four"]);
    assert!(four.len() > 1 && four.len() <= 20, "{}", four.len());
    assert_eq!(four[0], two[0], "the shortest path comes first");
    let mut last: Option<(i64, Vec<String>)> = None;
    for p in four {
        let len = p["length"].as_i64().unwrap();
        let ents = ids(&p["entities"]);
        let rels = ids(&p["relations"]);
        assert!((1..=4).contains(&len));
        assert_eq!(rels.len() as i64, len);
        assert_eq!(ents.len() as i64, len + 1);
        assert_eq!(ents.first().map(String::as_str), Some("issa-ozeir"));
        assert_eq!(ents.last().map(String::as_str), Some("peshmerga"));
        let mut unique = ents.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ents.len(), "a path is simple: {ents:?}");
        if let Some(prev) = &last {
            assert!(
                prev < &(len, rels.clone()),
                "ordered by length, then relation ids: {prev:?} then {rels:?}"
            );
        }
        last = Some((len, rels));
    }
    assert_eq!(arr(&d["one"]).len(), 1);
    let out = arr(&d["out"]);
    assert_eq!(out.len(), 2);
    assert_eq!(
        ids(&out[0]["entities"]),
        ["fy2026-ndaa", "ctef", "iraqs-security-institutions"]
    );
    assert_eq!(
        ids(&out[1]["entities"]),
        [
            "fy2026-ndaa",
            "cjtf-oir",
            "peshmerga",
            "iraqs-security-institutions"
        ]
    );
}

#[actix_web::test]
async fn neighborhood_is_the_induced_subgraph() {
    let d = data(
        r#"{
            one: neighborhood(id: "ctef") { entities { id } relations { id } }
            zero: neighborhood(id: "ctef", depth: 0) { entities { id } relations { id } }
            two: neighborhood(id: "peshmerga", depth: 2) { entities { id } relations { id } }
            incoming: neighborhood(id: "ctef", direction: INCOMING) { entities { id } }
            all: relations(first: 100) { nodes { id from { id } to { id } } }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(
        ids(&d["one"]["entities"]),
        [
            "ctef",
            "fy2026-ndaa",
            "iraqs-security-institutions",
            "partner-forces-in-syria"
        ]
    );
    assert_eq!(
        ids(&d["one"]["relations"]),
        [
            "ctef-funds-iraqs-security-institutions",
            "ctef-funds-partner-forces-in-syria",
            "fy2026-ndaa-authorizes-ctef"
        ]
    );
    assert_eq!(ids(&d["zero"]["entities"]), ["ctef"]);
    assert_eq!(d["zero"]["relations"], json!([]));
    assert_eq!(ids(&d["incoming"]["entities"]), ["ctef", "fy2026-ndaa"]);

    let members: std::collections::BTreeSet<String> =
        ids(&d["two"]["entities"]).into_iter().collect();
    assert!(members.contains("peshmerga") && members.contains("asayish"));
    let induced: Vec<String> = arr(&d["all"]["nodes"])
        .iter()
        .filter(|r| members.contains(s(&r["from"]["id"])) && members.contains(s(&r["to"]["id"])))
        .map(|r| s(&r["id"]).to_owned())
        .collect();
    assert_eq!(ids(&d["two"]["relations"]), induced);
}

#[actix_web::test]
async fn funding_flows_and_centrality_and_stats_answer() {
    let d = data(
        r#"{
            fundingFlows { source { id } recipient { id } direct amount { display } path { length } }
            centrality { rank score entity { id } }
            stats {
                entities relations documents
                entitiesByKind { kind count }
                relationsByKind { kind count }
            }
        }"#,
        json!(null),
    )
    .await;
    assert!(!arr(&d["fundingFlows"]).is_empty());
    let ranks: Vec<i64> = arr(&d["centrality"])
        .iter()
        .map(|r| r["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ranks,
        (1..=10).collect::<Vec<_>>(),
        "PAGERANK, first 10 by default"
    );
    let st = &d["stats"];
    assert_eq!(st["entities"], 24);
    assert_eq!(st["relations"], 43);
    assert_eq!(st["documents"], 1);
    let count = |list: &Value, kind: &str| -> i64 {
        arr(list)
            .iter()
            .find(|k| k["kind"] == kind)
            .map_or(0, |k| k["count"].as_i64().unwrap())
    };
    let by_entity = &st["entitiesByKind"];
    assert_eq!(count(by_entity, "ARMED_FORCE"), 5);
    assert_eq!(count(by_entity, "COUNTRY"), 3);
    assert_eq!(count(by_entity, "FUND"), 1);
    assert_eq!(count(by_entity, "PERSON"), 1);
    assert_eq!(count(by_entity, "EVENT"), 2);
    let total: i64 = arr(by_entity)
        .iter()
        .map(|k| k["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 24);
    let by_relation = &st["relationsByKind"];
    assert_eq!(count(by_relation, "FUNDS"), 4);
    assert_eq!(count(by_relation, "PARTICIPATES_IN"), 9);
    assert_eq!(count(by_relation, "AUTHORIZES"), 1);
    let total: i64 = arr(by_relation)
        .iter()
        .map(|k| k["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 43);
}

#[actix_web::test]
async fn concrete_entity_types_have_their_fields() {
    let d = data(
        r#"{
            ctef: entity(id: "ctef") {
                ... on Fund {
                    totalAmount { amount currency qualifier display }
                    fiscalYear
                    flows { recipient { id } direct }
                }
            }
            ndaa: entity(id: "fy2026-ndaa") {
                ... on Legislation {
                    vote { yeas nays display }
                    total { amount display }
                    fiscalYear
                    enactedBy { id }
                }
            }
            meeting: entity(id: "nov-6-2025-technical-meeting") {
                ... on Event { date participants { id } partOf { id } }
            }
            talks: entity(id: "us-iraq-talks") { ... on Event { date } }
            issa: entity(id: "issa-ozeir") {
                ... on Person { rank positions { role organization { id } relation { id } } }
            }
            isi: entity(id: "iraqs-security-institutions") { ... on Organization { members { id } partOf { id } } }
            isif: entity(id: "iraqs-security-and-intelligence-forces") { ... on Organization { members { id } } }
            kr: entity(id: "kurdistan-region") { ... on Place { governedBy { id } } }
            iraq: entity(id: "iraq") { ... on Place { governedBy { id } } }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(
        d["ctef"]["totalAmount"],
        json!({ "amount": 358_000_000.0, "currency": "USD", "qualifier": "EXACT", "display": "$358 million" })
    );
    assert_eq!(d["ctef"]["fiscalYear"], 2026);
    assert!(!arr(&d["ctef"]["flows"]).is_empty());

    assert_eq!(
        d["ndaa"]["vote"],
        json!({ "yeas": 77, "nays": 20, "display": "77–20" })
    );
    assert_eq!(
        d["ndaa"]["total"],
        json!({ "amount": 925_000_000_000.0, "display": "$925 billion" })
    );
    assert_eq!(d["ndaa"]["fiscalYear"], 2026);
    assert_eq!(ids(&d["ndaa"]["enactedBy"]), ["us-congress"]);

    assert_eq!(d["meeting"]["date"], "2025-11-06");
    assert_eq!(
        ids(&d["meeting"]["participants"]),
        ["iraq", "issa-ozeir", "united-states"]
    );
    assert_eq!(ids(&d["meeting"]["partOf"]), ["us-iraq-talks"]);
    assert_eq!(d["talks"]["date"], Value::Null);

    assert_eq!(d["issa"]["rank"], "Lieutenant General");
    assert_eq!(
        d["issa"]["positions"],
        json!([{
            "role": "Chief of Staff",
            "organization": { "id": "ministry-of-peshmerga" },
            "relation": { "id": "issa-ozeir-holds-position-at-ministry-of-peshmerga" }
        }])
    );

    assert_eq!(ids(&d["isi"]["members"]), ["peshmerga"]);
    assert_eq!(ids(&d["isi"]["partOf"]), ["iraq"]);
    assert_eq!(ids(&d["isif"]["members"]), ["asayish", "peshmerga"]);
    assert_eq!(
        ids(&d["kr"]["governedBy"]),
        ["kurdistan-regional-government"]
    );
    assert_eq!(
        ids(&d["iraq"]["governedBy"]),
        ["federal-government-of-iraq"]
    );
}

#[actix_web::test]
async fn entity_interface_fields_degree_relations_neighbors() {
    let d = data(
        r#"{
            ctef: entity(id: "ctef") {
                degree
                all: relations { totalCount nodes { id } }
                out: relations(direction: OUTGOING, kinds: [FUNDS], first: 1) {
                    totalCount
                    pageInfo { hasNextPage hasPreviousPage endCursor }
                    nodes { id }
                }
                incoming: neighbors(direction: INCOMING) { id }
                neighbors { id }
                sources { document { id } quote }
            }
            peshmerga: entity(id: "peshmerga") {
                degree
                partOf: neighbors(direction: OUTGOING, kinds: [PART_OF]) { id }
                relations(direction: INCOMING) { nodes { id } }
            }
        }"#,
        json!(null),
    )
    .await;
    let ctef = &d["ctef"];
    assert_eq!(ctef["degree"], 3);
    assert_eq!(ctef["all"]["totalCount"], 3);
    assert_eq!(
        ids(&ctef["all"]["nodes"]),
        [
            "ctef-funds-iraqs-security-institutions",
            "ctef-funds-partner-forces-in-syria",
            "fy2026-ndaa-authorizes-ctef"
        ]
    );
    assert_eq!(ctef["out"]["totalCount"], 2);
    assert_eq!(
        ids(&ctef["out"]["nodes"]),
        ["ctef-funds-iraqs-security-institutions"]
    );
    assert_eq!(ctef["out"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(ctef["out"]["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(ids(&ctef["incoming"]), ["fy2026-ndaa"]);
    assert_eq!(
        ids(&ctef["neighbors"]),
        [
            "fy2026-ndaa",
            "iraqs-security-institutions",
            "partner-forces-in-syria"
        ]
    );
    assert_eq!(arr(&ctef["sources"]).len(), 1);
    assert_eq!(ctef["sources"][0]["document"]["id"], DOC);

    let after = s(&ctef["out"]["pageInfo"]["endCursor"]).to_owned();
    let next = data(
        r#"query($after: String) {
            entity(id: "ctef") {
                relations(direction: OUTGOING, kinds: [FUNDS], first: 1, after: $after) {
                    pageInfo { hasNextPage hasPreviousPage }
                    nodes { id }
                }
            }
        }"#,
        json!({ "after": after }),
    )
    .await;
    let page = &next["entity"]["relations"];
    assert_eq!(ids(&page["nodes"]), ["ctef-funds-partner-forces-in-syria"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);

    let p = &d["peshmerga"];
    assert_eq!(p["degree"], 7);
    assert_eq!(
        ids(&p["partOf"]),
        [
            "iraqs-security-and-intelligence-forces",
            "iraqs-security-institutions",
            "kurdistan-region"
        ]
    );
    assert_eq!(
        ids(&p["relations"]["nodes"]),
        [
            "cjtf-oir-supports-peshmerga",
            "united-states-cooperates-with-peshmerga"
        ]
    );
}

#[actix_web::test]
async fn relation_fields_role_categories_sources() {
    let d = data(
        r#"{
            holds: relation(id: "issa-ozeir-holds-position-at-ministry-of-peshmerga") {
                role amount { amount } fiscalYear
                from { __typename id } to { __typename id }
            }
            supports: relation(id: "united-states-supports-partner-forces-in-iraq-and-syria") {
                categories sources { document { id } quote }
            }
            funds: relation(id: "ctef-funds-iraqs-security-institutions") {
                amount { amount currency qualifier display }
            }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["holds"]["role"], "Chief of Staff");
    assert_eq!(d["holds"]["amount"], Value::Null);
    assert_eq!(d["holds"]["fiscalYear"], Value::Null);
    assert_eq!(
        d["holds"]["from"],
        json!({ "__typename": "Person", "id": "issa-ozeir" })
    );
    assert_eq!(
        d["holds"]["to"],
        json!({ "__typename": "Organization", "id": "ministry-of-peshmerga" })
    );
    let categories: Vec<&str> = arr(&d["supports"]["categories"]).iter().map(s).collect();
    assert_eq!(categories.len(), 6);
    assert!(categories.contains(&"anti-drone systems"));
    assert!(categories.contains(&"logistical aid"));
    assert_eq!(arr(&d["supports"]["sources"]).len(), 2);
    assert_eq!(
        d["funds"]["amount"],
        json!({ "amount": 213_000_000.0, "currency": "USD", "qualifier": "AT_LEAST", "display": "more than $213 million" })
    );
}
