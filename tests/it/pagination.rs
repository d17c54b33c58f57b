//! Relay connections: both ways, default page size, limits, bad cursors.

use crate::common::{arr, data, error_code, ids, s};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Walks `field` forwards (`first`/`after`) and backwards (`last`/`before`)
/// in pages of 5, checking the pageInfo flags on the way, and compares both
/// walks with the whole list.
async fn walk_both_ways(field: &str) {
    let all_query = format!("{{ c: {field}(first: 100) {{ totalCount nodes {{ id }} }} }}");
    let all = data(&all_query, json!(null)).await;
    let total = all["c"]["totalCount"].as_u64().unwrap() as usize;
    let all_ids = ids(&all["c"]["nodes"]);
    assert_eq!(all_ids.len(), total);
    assert!(total > 5, "enough items to page through");

    let page_query = format!(
        "query($first: Int, $after: String, $last: Int, $before: String) {{
            c: {field}(first: $first, after: $after, last: $last, before: $before) {{
                totalCount
                pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                edges {{ cursor node {{ id }} }}
            }}
        }}"
    );
    let edge_ids = |c: &Value| -> Vec<String> {
        arr(&c["edges"])
            .iter()
            .map(|e| s(&e["node"]["id"]).to_owned())
            .collect()
    };

    // Forwards.
    let mut forward = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let d = data(&page_query, json!({ "first": 5, "after": after })).await;
        let c = &d["c"];
        assert_eq!(c["totalCount"].as_u64(), Some(total as u64));
        let got = edge_ids(c);
        assert!(!got.is_empty() && got.len() <= 5);
        let info = &c["pageInfo"];
        assert_eq!(info["hasPreviousPage"], pages > 0, "page {pages}");
        let edges = arr(&c["edges"]);
        assert_eq!(info["startCursor"], edges[0]["cursor"]);
        assert_eq!(info["endCursor"], edges[edges.len() - 1]["cursor"]);
        forward.extend(got);
        pages += 1;
        assert!(pages <= total, "the walk forwards does not end");
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].clone();
    }
    assert_eq!(pages, total.div_ceil(5));
    assert_eq!(forward, all_ids, "{field}: forwards, in order, once each");
    assert_eq!(
        forward.iter().collect::<BTreeSet<_>>().len(),
        total,
        "no duplicates"
    );

    // Backwards, from the end.
    let mut backward: Vec<String> = Vec::new();
    let mut before = Value::Null;
    let mut pages = 0;
    loop {
        let d = data(&page_query, json!({ "last": 5, "before": before })).await;
        let c = &d["c"];
        let got = edge_ids(c);
        assert!(!got.is_empty() && got.len() <= 5);
        let info = &c["pageInfo"];
        assert_eq!(info["hasNextPage"], pages > 0, "page {pages} from the end");
        backward.extend(got.into_iter().rev());
        pages += 1;
        assert!(pages <= total, "the walk backwards does not end");
        if info["hasPreviousPage"] == false {
            break;
        }
        before = info["startCursor"].clone();
    }
    let mut reversed = all_ids.clone();
    reversed.reverse();
    assert_eq!(backward, reversed, "{field}: backwards, in reverse order");
}

#[actix_web::test]
async fn entities_page_both_ways() {
    walk_both_ways("entities").await;
}

#[actix_web::test]
async fn relations_page_both_ways() {
    walk_both_ways("relations").await;
}

#[actix_web::test]
async fn default_page_size_is_20() {
    let d = data(
        r#"{
            entities { totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { id } } }
            relations { totalCount pageInfo { hasNextPage } nodes { id } }
            e100: entities(first: 100) { pageInfo { hasNextPage } nodes { id } }
            zero: entities(first: 0) { totalCount pageInfo { hasNextPage } nodes { id } }
        }"#,
        json!(null),
    )
    .await;
    assert_eq!(d["entities"]["totalCount"], 24);
    assert_eq!(arr(&d["entities"]["edges"]).len(), 20);
    assert_eq!(d["entities"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(d["entities"]["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(d["relations"]["totalCount"], 43);
    assert_eq!(arr(&d["relations"]["nodes"]).len(), 20);
    assert_eq!(d["relations"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(arr(&d["e100"]["nodes"]).len(), 24);
    assert_eq!(d["e100"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(d["zero"]["totalCount"], 24);
    assert_eq!(d["zero"]["nodes"], json!([]));
}

#[actix_web::test]
async fn page_size_and_cursor_errors() {
    for q in [
        "{ entities(first: 101) { totalCount } }",
        "{ entities(first: -1) { totalCount } }",
        "{ entities(last: 101) { totalCount } }",
        "{ entities(last: -1) { totalCount } }",
        "{ relations(first: 101) { totalCount } }",
        "{ relations(first: -1) { totalCount } }",
        r#"{ entities(after: "garbage") { totalCount } }"#,
        r#"{ entities(before: "garbage") { totalCount } }"#,
        r#"{ relations(after: "not a cursor") { totalCount } }"#,
        r#"{ entity(id: "ctef") { relations(first: 101) { totalCount } } }"#,
        r#"{ entity(id: "ctef") { relations(after: "garbage") { totalCount } } }"#,
    ] {
        assert_eq!(error_code(q, json!(null)).await, "BAD_USER_INPUT", "{q}");
    }
}
