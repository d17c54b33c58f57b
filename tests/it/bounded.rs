//! Queries whose answer is bounded before they run skip the field budget's
//! step on each field, and only when the budget could never refuse them:
//! through HTTP, against the counts the application keeps.

use crate::common::*;
use actix_web::web;
use partnergraph::api::Limits;
use partnergraph::dataset;
use partnergraph::http::AppState;
use partnergraph::live::GraphService;
use serde_json::{json, Value};
use std::sync::Arc;

/// Q1 of BENCHMARKS.md: pages only.
const Q1: &str = "{ entity(id: \"ctef\") { id name relations(first: 100) { edges { node { \
                  kind from { name } to { name } } } } } }";

/// State over the article with these limits, writes with [`TOKEN`], and
/// no response cache (it would answer repeats before they run).
fn state_limited(limits: Limits) -> web::Data<AppState> {
    let graph = dataset::load_builtin().expect("the built-in dataset loads");
    let service = Arc::new(GraphService::in_memory(graph));
    web::Data::new(
        AppState::new(service, limits, 1 << 20, Some(TOKEN.into())).with_response_cache(0),
    )
}

async fn post(state: &web::Data<AppState>, query: &str, variables: Value) -> Resp {
    let req = post_graphql(body_of(query, variables))
        .insert_header(("authorization", format!("Bearer {TOKEN}")));
    send_to(state.clone(), &[], req).await
}

#[actix_web::test]
async fn a_query_of_pages_that_passed_runs_without_the_field_step_and_answers_alike() {
    let state = state_limited(Limits::default());
    let first = post(&state, Q1, json!(null)).await;
    assert!(first.json().get("errors").is_none(), "{}", first.text());
    assert!(!arr(&first.json()["data"]["entity"]["relations"]["edges"]).is_empty());
    // The first run is checked and counted; the bound is kept with it.
    assert_eq!(state.unbudgeted_requests(), 0);
    for round in 1..=2 {
        let again = post(&state, Q1, json!(null)).await;
        assert_eq!(again.body, first.body);
        assert_eq!(state.unbudgeted_requests(), round);
    }
    // A list of unknown length, an analysis or introspection has no bound:
    // always counted, however often it passed.
    for query in [
        "{ entity(id: \"ctef\") { neighbors { id } } }",
        "{ entity(id: \"ctef\") { aliases } }",
        "{ shortestPath(from: \"issa-ozeir\", to: \"ctef\") { length } }",
        "{ __type(name: \"Entity\") { interfaces { name } } }",
    ] {
        let first = post(&state, query, json!(null)).await;
        assert!(first.json().get("errors").is_none(), "{}", first.text());
        for _ in 0..2 {
            let again = post(&state, query, json!(null)).await;
            assert_eq!(again.body, first.body, "{query}");
        }
        assert_eq!(state.unbudgeted_requests(), 2, "{query}");
    }
    // Introspection still answers what the SDL says on every repeat.
    let entity = post(
        &state,
        "{ __type(name: \"Entity\") { interfaces { name } } }",
        json!(null),
    )
    .await;
    assert_eq!(
        entity.json()["data"]["__type"]["interfaces"],
        json!([{ "name": "Node" }])
    );
}

#[actix_web::test]
async fn a_query_the_field_budget_may_refuse_is_counted_every_time() {
    let state = state_limited(Limits {
        max_resolved_fields: 10,
        ..Limits::default()
    });
    // Twenty items of three fields each: over a budget of ten, every time.
    for _ in 0..3 {
        let large = post(
            &state,
            "{ entities(first: 20) { edges { node { id } } } }",
            json!(null),
        )
        .await;
        assert_eq!(large.code(), "BUDGET_EXCEEDED", "{}", large.text());
    }
    assert_eq!(state.unbudgeted_requests(), 0);
    // Two items are bounded by 9 fields: within the budget, so the repeat
    // runs without the step.
    for _ in 0..2 {
        let small = post(
            &state,
            "{ entities(first: 2) { edges { node { id } } } }",
            json!(null),
        )
        .await;
        assert!(small.json().get("errors").is_none(), "{}", small.text());
        assert_eq!(arr(&small.json()["data"]["entities"]["edges"]).len(), 2);
    }
    assert_eq!(state.unbudgeted_requests(), 1);
}

#[actix_web::test]
async fn a_longer_text_written_puts_a_bounded_query_back_under_the_byte_budget() {
    // Room for two fields of the article's texts, not for a text of 50,000
    // bytes.
    let state = state_limited(Limits {
        max_response_bytes: 40_000,
        ..Limits::default()
    });
    const READ: &str = "{ entity(id: \"long-unit\") { description } }";
    for _ in 0..2 {
        let none = post(&state, READ, json!(null)).await;
        assert_eq!(
            none.json()["data"],
            json!({ "entity": null }),
            "{}",
            none.text()
        );
    }
    assert_eq!(state.unbudgeted_requests(), 1);
    let description = "x".repeat(50_000);
    let created = post(
        &state,
        "mutation($input: EntityInput!) { createEntity(input: $input) { id } }",
        json!({ "input": {
            "id": "long-unit",
            "kind": "SECURITY_SERVICE",
            "name": "Long Unit",
            "description": description,
            "sources": [{ "document": DOC, "quote": "including the Asayish and Peshmerga" }],
        } }),
    )
    .await;
    assert_eq!(
        created.json()["data"]["createEntity"]["id"],
        "long-unit",
        "{}",
        created.text()
    );
    // The same request, which passed and was bounded before, is counted
    // again now that the graph holds a longer text, and refused.
    for _ in 0..2 {
        let long = post(&state, READ, json!(null)).await;
        assert_eq!(long.code(), "BUDGET_EXCEEDED", "{}", long.text());
    }
    assert_eq!(state.unbudgeted_requests(), 1);
}
