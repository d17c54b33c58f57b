//! Filters and orders of `relations` and `Entity.relations`, and the
//! documents as a way in, over HTTP: each filter and order against the
//! same filter written out plainly over the full list of relations the API
//! gives, on the article and (a property) on generated graphs; paging a
//! filtered list with cursors; bad filters refused without a change.

use crate::common::{arr, body_of, data, first_code, gql, ids, post_graphql, s, send_to, DOC};
use crate::writes::Writable;
use actix_web::web;
use partnergraph::api::Limits;
use partnergraph::graph::Graph;
use partnergraph::http::AppState;
use partnergraph::live::GraphService;
use partnergraph::synthetic::{generate, Spec};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

const FIELDS: &str = "id kind from { id } to { id } amount { amount currency } fiscalYear date \
                      sources { document { id } }";

/// Every item of a connection field at `path` of `query` (which takes
/// `$after`), page by page through the cursors; and the `totalCount` each
/// page gave.
async fn all_pages(
    post: &impl AsyncFn(&str, Value) -> Value,
    query: &str,
    vars: Value,
    path: &[&str],
) -> (Vec<Value>, Vec<u64>) {
    let mut items = Vec::new();
    let mut totals = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut v = vars.clone();
        v["after"] = after.clone();
        let d = post(query, v).await;
        let conn = path.iter().fold(&d, |v, k| &v[*k]);
        totals.push(conn["totalCount"].as_u64().unwrap());
        items.extend(arr(&conn["nodes"]).iter().cloned());
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    (items, totals)
}

fn relations_query(page: usize) -> String {
    format!(
        "query($filter: RelationFilter, $order: RelationOrder, $after: String) {{ \
         relations(filter: $filter, orderBy: $order, first: {page}, after: $after) {{ \
         totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {FIELDS} }} }} }}"
    )
}

/// The filter of the API written out plainly over one relation as listed.
fn meets(r: &Value, f: &Value) -> bool {
    let amount = r["amount"]["amount"].as_f64();
    let docs: BTreeSet<&str> = arr(&r["sources"])
        .iter()
        .map(|s| s["document"]["id"].as_str().unwrap())
        .collect();
    let date = r["date"].as_str();
    let given = |k: &str| f.get(k).filter(|v| !v.is_null());
    given("kinds").is_none_or(|ks| arr(ks).contains(&r["kind"]))
        && given("from").is_none_or(|id| r["from"]["id"] == *id)
        && given("to").is_none_or(|id| r["to"]["id"] == *id)
        && given("fiscalYear").is_none_or(|y| r["fiscalYear"] == *y)
        && given("amountAtLeast").is_none_or(|lo| amount.is_some_and(|a| a >= lo.as_f64().unwrap()))
        && given("amountAtMost").is_none_or(|hi| amount.is_some_and(|a| a <= hi.as_f64().unwrap()))
        && given("currency").is_none_or(|c| amount.is_some() && r["amount"]["currency"] == *c)
        && given("dateFrom").is_none_or(|d| date.is_some_and(|x| x >= s(d)))
        && given("dateTo").is_none_or(|d| date.is_some_and(|x| x <= s(d)))
        && given("document").is_none_or(|d| docs.contains(s(d)))
        && given("minDocuments").is_none_or(|n| docs.len() as i64 >= n.as_i64().unwrap())
}

/// The order of the API written out plainly: by the field's value (dates
/// as ISO text sort as dates), relations without it last either way, then
/// by id.
fn plain_order(rs: &mut [Value], order: &Value) {
    let field = order["field"].as_str().unwrap_or("ID");
    let desc = order["direction"] == json!("DESC");
    let key = |r: &Value| -> Option<(f64, String)> {
        match field {
            "AMOUNT" => r["amount"]["amount"].as_f64().map(|a| (a, String::new())),
            "FISCAL_YEAR" => r["fiscalYear"].as_f64().map(|y| (y, String::new())),
            "DATE" => r["date"].as_str().map(|d| (0.0, d.to_owned())),
            _ => None,
        }
    };
    rs.sort_by(|a, b| {
        let id = s(&a["id"]).cmp(s(&b["id"]));
        if field == "ID" {
            return if desc { id.reverse() } else { id };
        }
        let by = match (key(a), key(b)) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by.then(id)
    });
}

fn expected(all: &[Value], filter: &Value, order: &Value) -> Vec<String> {
    let mut hits: Vec<Value> = all.iter().filter(|r| meets(r, filter)).cloned().collect();
    plain_order(&mut hits, order);
    hits.iter().map(|r| s(&r["id"]).to_owned()).collect()
}

fn id_list(items: &[Value]) -> Vec<String> {
    items.iter().map(|r| s(&r["id"]).to_owned()).collect()
}

async fn article(query: &str, vars: Value) -> Value {
    data(query, vars).await
}

const ORDERS: [&str; 4] = ["ID", "AMOUNT", "DATE", "FISCAL_YEAR"];

/// Every filter the article can answer something (and nothing) to.
fn article_filters() -> Vec<Value> {
    vec![
        json!({}),
        json!({ "kinds": ["FUNDS"] }),
        json!({ "kinds": ["FUNDS", "AUTHORIZES"] }),
        json!({ "from": "fy2026-ndaa" }),
        json!({ "to": "peshmerga" }),
        json!({ "from": "ctef", "to": "iraqs-security-institutions" }),
        json!({ "from": "no-such-entity" }),
        json!({ "fiscalYear": 2026 }),
        json!({ "fiscalYear": 2025 }),
        json!({ "amountAtLeast": 200000000 }),
        json!({ "amountAtMost": 213000000 }),
        json!({ "amountAtLeast": 130000000, "amountAtMost": 343000000 }),
        json!({ "amountAtLeast": 213000000.5 }),
        json!({ "currency": "USD" }),
        json!({ "currency": "EUR" }),
        json!({ "dateFrom": "2025-01-01" }),
        json!({ "dateTo": "2030-01-01" }),
        json!({ "document": DOC }),
        json!({ "document": "no-such-document" }),
        json!({ "minDocuments": 0 }),
        json!({ "minDocuments": 1 }),
        json!({ "minDocuments": 2 }),
        json!({ "kinds": ["FUNDS"], "fiscalYear": 2026, "amountAtLeast": 1, "currency": "USD",
                "document": DOC, "minDocuments": 1 }),
    ]
}

#[actix_web::test]
async fn every_filter_and_order_matches_plain_filtering_of_the_article() {
    let q = relations_query(7);
    let (all, _) = all_pages(&article, &q, json!({}), &["relations"]).await;
    assert_eq!(all.len(), 43, "the article's relations");
    let mut nonempty = 0;
    for filter in article_filters() {
        for field in ORDERS {
            for direction in ["ASC", "DESC"] {
                let order = json!({ "field": field, "direction": direction });
                let vars = json!({ "filter": filter, "order": order });
                let (got, totals) = all_pages(&article, &q, vars, &["relations"]).await;
                let want = expected(&all, &filter, &order);
                assert_eq!(id_list(&got), want, "{filter} {order}");
                assert!(
                    totals.iter().all(|t| *t as usize == want.len()),
                    "{filter}: {totals:?}"
                );
                nonempty += usize::from(!want.is_empty());
            }
        }
    }
    assert!(nonempty > 50, "most filters keep something");
    // `field` defaults to ID, `direction` to ASC; `kind` and `filter` both hold.
    let d = data(
        "{ a: relations(orderBy: { direction: DESC }, first: 100) { nodes { id } } \
           b: relations(kind: FUNDS, filter: { kinds: [AUTHORIZES] }) { totalCount } \
           c: relations(kind: FUNDS, filter: { fiscalYear: 2026 }) { totalCount } }",
        json!({}),
    )
    .await;
    let mut desc = id_list(&all);
    desc.sort();
    desc.reverse();
    assert_eq!(ids(&d["a"]["nodes"]), desc);
    assert_eq!(d["b"]["totalCount"], json!(0));
    let funds_2026 = expected(
        &all,
        &json!({ "kinds": ["FUNDS"], "fiscalYear": 2026 }),
        &json!({}),
    );
    assert_eq!(d["c"]["totalCount"], json!(funds_2026.len()));
    assert!(!funds_2026.is_empty());
}

#[actix_web::test]
async fn a_filtered_list_pages_with_cursors_both_ways() {
    let filter = json!({ "fiscalYear": 2026 });
    let order = json!({ "field": "AMOUNT", "direction": "DESC" });
    let (all, _) = all_pages(&article, &relations_query(100), json!({}), &["relations"]).await;
    let want = expected(&all, &filter, &order);
    assert!(want.len() >= 4, "{want:?}");
    // Forward two at a time.
    let (got, totals) = all_pages(
        &article,
        &relations_query(2),
        json!({ "filter": filter, "order": order }),
        &["relations"],
    )
    .await;
    assert_eq!(id_list(&got), want);
    assert!(totals.iter().all(|t| *t as usize == want.len()));
    // The last two, then the two before them.
    let q = "query($f: RelationFilter, $o: RelationOrder, $before: String) { \
             relations(filter: $f, orderBy: $o, last: 2, before: $before) { totalCount \
             pageInfo { hasPreviousPage startCursor } nodes { id } } }";
    let d = data(q, json!({ "f": filter, "o": order })).await;
    let n = want.len();
    assert_eq!(ids(&d["relations"]["nodes"]), want[n - 2..]);
    assert_eq!(d["relations"]["pageInfo"]["hasPreviousPage"], json!(true));
    let before = d["relations"]["pageInfo"]["startCursor"].clone();
    let d = data(q, json!({ "f": filter, "o": order, "before": before })).await;
    assert_eq!(ids(&d["relations"]["nodes"]), want[n - 4..n - 2]);
}

#[actix_web::test]
async fn entity_relations_take_the_same_filters_and_orders() {
    let (all, _) = all_pages(&article, &relations_query(100), json!({}), &["relations"]).await;
    let q = format!(
        "query($id: ID!, $dir: Direction, $filter: RelationFilter, $order: RelationOrder, $after: String) {{ \
         entity(id: $id) {{ relations(direction: $dir, filter: $filter, orderBy: $order, first: 2, after: $after) {{ \
         totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {FIELDS} }} }} }} }}"
    );
    for id in ["fy2026-ndaa", "ctef", "peshmerga", "iraq"] {
        for (dir, end) in [
            ("BOTH", None),
            ("OUTGOING", Some("from")),
            ("INCOMING", Some("to")),
        ] {
            let mine: Vec<Value> = all
                .iter()
                .filter(|r| match end {
                    Some(end) => r[end]["id"] == json!(id),
                    None => r["from"]["id"] == json!(id) || r["to"]["id"] == json!(id),
                })
                .cloned()
                .collect();
            for filter in article_filters() {
                for field in ORDERS {
                    let order = json!({ "field": field, "direction": "DESC" });
                    let vars = json!({ "id": id, "dir": dir, "filter": filter, "order": order });
                    let (got, totals) =
                        all_pages(&article, &q, vars, &["entity", "relations"]).await;
                    let want = expected(&mine, &filter, &order);
                    assert_eq!(id_list(&got), want, "{id} {dir} {filter} {order}");
                    assert!(totals.iter().all(|t| *t as usize == want.len()));
                }
            }
        }
    }
}

#[actix_web::test]
async fn bad_filters_are_refused_and_change_nothing() {
    let app = Writable::new();
    let version = async || {
        let r = app.send("{ graphVersion }", json!({}), None).await;
        r.json()["data"]["graphVersion"].as_u64().unwrap()
    };
    let before = version().await;
    let bad = [
        json!({ "amountAtLeast": 10, "amountAtMost": 5 }),
        json!({ "dateFrom": "2025-02-01", "dateTo": "2025-01-31" }),
        json!({ "minDocuments": -1 }),
        json!({ "currency": "" }),
        json!({ "currency": "usd" }),
        json!({ "currency": "DOLLARS" }),
    ];
    for filter in bad {
        for q in [
            "query($f: RelationFilter) { graphVersion relations(filter: $f) { totalCount } }",
            "query($f: RelationFilter) { entity(id: \"ctef\") { relations(filter: $f) { totalCount } } }",
        ] {
            let r = app.send(q, json!({ "f": filter }), None).await;
            let body = r.json();
            assert_eq!(first_code(&body), "BAD_USER_INPUT", "{filter}: {body:#}");
            let message = s(&body["errors"][0]["message"]);
            assert!(
                ["amountAtLeast", "dateFrom", "minDocuments", "currency"]
                    .iter()
                    .any(|name| message.contains(name)),
                "the message names the condition: {message}"
            );
        }
    }
    // Not a date at all: refused by the Date scalar before anything runs.
    let (_, body) = gql(
        "{ relations(filter: { dateFrom: \"2025-13-01\" }) { totalCount } }",
        json!({}),
    )
    .await;
    assert!(body["errors"].is_array(), "{body:#}");
    assert_eq!(version().await, before);
}

#[actix_web::test]
async fn documents_lead_to_what_they_evidence() {
    let (all, _) = all_pages(&article, &relations_query(100), json!({}), &["relations"]).await;
    let entities = data(
        "{ entities(first: 100) { nodes { id sources { document { id } } } } }",
        json!({}),
    )
    .await;
    let quoting: Vec<String> = arr(&entities["entities"]["nodes"])
        .iter()
        .filter(|e| {
            arr(&e["sources"])
                .iter()
                .any(|s| s["document"]["id"] == json!(DOC))
        })
        .map(|e| s(&e["id"]).to_owned())
        .collect();
    let mut sorted = quoting.clone();
    sorted.sort();
    let q = "query($id: ID!, $after: String) { node(id: $id) { ... on Document { \
             entities(first: 10, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } }";
    let (got, totals) = all_pages(&article, q, json!({ "id": DOC }), &["node", "entities"]).await;
    assert_eq!(id_list(&got), sorted);
    assert!(totals.iter().all(|t| *t as usize == sorted.len()) && !sorted.is_empty());
    let q = "query($id: ID!, $after: String) { node(id: $id) { ... on Document { \
             relations(first: 10, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } }";
    let (got, _) = all_pages(&article, q, json!({ "id": DOC }), &["node", "relations"]).await;
    assert_eq!(
        id_list(&got),
        expected(&all, &json!({ "document": DOC }), &json!({}))
    );
    let d = data(
        "{ entity(id: \"ctef\") { documents { id title } } }",
        json!({}),
    )
    .await;
    assert_eq!(ids(&d["entity"]["documents"]), [DOC]);

    // A second document quoted by a new relation of an article entity: it
    // evidences that relation and the new entity, and the article entity
    // now has two documents.
    let app = Writable::new();
    let text = "The Test Brigade is part of the Peshmerga, the report said.";
    let quote = |q: &str| json!([{ "document": "test-report", "quote": q }]);
    let input = json!({
        "document": { "id": "test-report", "title": "T", "publisher": "P", "text": text },
        "entities": [{ "id": "test-brigade", "kind": "ARMED_FORCE", "name": "Test Brigade",
                       "sources": quote("The Test Brigade") }],
        "relations": [{ "id": "test-brigade-part-of-peshmerga", "kind": "PART_OF",
                        "from": "test-brigade", "to": "peshmerga",
                        "sources": quote("The Test Brigade is part of the Peshmerga") }],
    });
    app.ok(
        "mutation($i: IngestInput!) { ingest(input: $i) { graphVersion } }",
        json!({ "i": input }),
    )
    .await;
    let read =
        "{ node(id: \"test-report\") { ... on Document { entities { totalCount nodes { id } } \
                relations { totalCount nodes { id } } } } \
                entity(id: \"peshmerga\") { documents { id } } \
                relations(filter: { document: \"test-report\" }) { nodes { id } } }";
    let r = app.send(read, json!({}), None).await.json();
    let d = &r["data"];
    assert_eq!(ids(&d["node"]["entities"]["nodes"]), ["test-brigade"]);
    assert_eq!(
        ids(&d["node"]["relations"]["nodes"]),
        ["test-brigade-part-of-peshmerga"]
    );
    assert_eq!(ids(&d["entity"]["documents"]), [DOC, "test-report"]);
    assert_eq!(
        ids(&d["relations"]["nodes"]),
        ["test-brigade-part-of-peshmerga"]
    );
    // Deleting the relation takes it out of what the document evidences
    // (and out of any answer kept before).
    app.ok(
        "mutation { deleteRelation(id: \"test-brigade-part-of-peshmerga\") }",
        json!({}),
    )
    .await;
    let r = app.send(read, json!({}), None).await.json();
    let d = &r["data"];
    assert_eq!(d["node"]["relations"]["totalCount"], json!(0));
    assert_eq!(ids(&d["entity"]["documents"]), [DOC]);
    assert_eq!(ids(&d["relations"]["nodes"]), Vec::<String>::new());
}

// The property: generated graphs, generated filters and orders.

/// A filter drawn over what generated graphs hold.
fn filter() -> impl Strategy<Value = Value> {
    let kinds = prop::sample::subsequence(
        vec![
            "FUNDS",
            "AUTHORIZES",
            "PART_OF",
            "SUPPORTS",
            "COOPERATES_WITH",
        ],
        1..3,
    );
    let amount = (0u32..7, 0u32..7).prop_map(|(a, b)| 10f64.powi(a as i32 + 3) * f64::from(b + 1));
    let day = (2010i32..2026, 1u32..13).prop_map(|(y, m)| format!("{y}-{m:02}-01"));
    (
        prop::option::weighted(0.3, kinds),
        prop::option::weighted(0.3, 2012i32..2027),
        prop::option::weighted(0.3, amount.clone()),
        prop::option::weighted(0.3, amount),
        prop::option::weighted(0.2, prop::sample::select(vec!["USD", "EUR"])),
        prop::option::weighted(0.3, day.clone()),
        prop::option::weighted(0.3, day),
        prop::option::weighted(0.2, 0i32..3),
        prop::option::weighted(0.2, 0usize..64),
    )
        .prop_map(|(kinds, year, lo, hi, currency, from, to, min_docs, end)| {
            let (lo, hi) = match (lo, hi) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            let (from, to) = match (from, to) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            json!({ "kinds": kinds, "fiscalYear": year, "amountAtLeast": lo, "amountAtMost": hi,
                    "currency": currency, "dateFrom": from, "dateTo": to,
                    "minDocuments": min_docs, "end": end })
        })
}

fn order() -> impl Strategy<Value = Value> {
    (prop::sample::select(ORDERS.to_vec()), any::<bool>()).prop_map(
        |(field, desc)| json!({ "field": field, "direction": if desc { "DESC" } else { "ASC" } }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// On generated graphs, any filter and order answer what filtering and
    /// sorting the full list of relations plainly does, `totalCount` too.
    #[test]
    fn filters_and_orders_on_generated_graphs_match_plain_filtering(
        seed in any::<u64>(),
        size in 20usize..120,
        cases in prop::collection::vec((filter(), order()), 6),
    ) {
        let data = generate(&Spec::with_degree(size, 4, seed));
        let mut g = Graph::new();
        data.apply("generated", &mut g).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let failure = actix_web::rt::System::new().block_on(async move {
            let service = Arc::new(GraphService::in_memory(g));
            let state = web::Data::new(AppState::new(service, Limits::default(), 1 << 20, None));
            let post = async |q: &str, v: Value| -> Value {
                let r = send_to(state.clone(), &[], post_graphql(body_of(q, v))).await.json();
                assert!(r.get("errors").is_none(), "{r:#}");
                r["data"].clone()
            };
            let q = relations_query(100);
            let (all, _) = all_pages(&post, &q, json!({}), &["relations"]).await;
            let ends: Vec<String> = all.iter().map(|r| s(&r["from"]["id"]).to_owned()).collect();
            for (mut filter, order) in cases {
                // Half the time, an end the graph has (or one it has not).
                if let Some(i) = filter["end"].as_u64() {
                    let id = ends.get(i as usize).cloned().unwrap_or_else(|| "no-such".into());
                    filter[if i % 2 == 0 { "from" } else { "to" }] = json!(id);
                }
                if let Some(m) = filter.as_object_mut() {
                    m.remove("end");
                }
                let vars = json!({ "filter": filter, "order": order });
                let (got, totals) = all_pages(&post, &relations_query(37), vars, &["relations"]).await;
                let want = expected(&all, &filter, &order);
                if id_list(&got) != want || totals.iter().any(|t| *t as usize != want.len()) {
                    return Some(format!("{filter} {order}:\n got {:?}\nwant {want:?}", id_list(&got)));
                }
            }
            None
        });
        if let Some(f) = failure {
            prop_assert!(false, "{}", f);
        }
    }
}
