//! Query responses answered again from the per-version response cache:
//! the same bytes for the same question on the same graph version, fresh
//! answers after every write, and nothing kept that answered with errors.

use crate::common::*;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::web;
use partnergraph::api::Limits;
use partnergraph::http::AppState;
use serde_json::{json, Value};

const NAME: &str = "query Name($id: ID!) { entity(id: $id) { id name } }";

async fn post(state: &web::Data<AppState>, body: Value, token: Option<&str>) -> Resp {
    let mut req = post_graphql(body.to_string());
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    send_to(state.clone(), &[], req).await
}

async fn name_of(state: &web::Data<AppState>, id: &str) -> Resp {
    post(
        state,
        json!({ "query": NAME, "variables": { "id": id } }),
        None,
    )
    .await
}

#[actix_web::test]
async fn a_repeated_query_is_answered_from_the_cache_with_the_same_bytes() {
    let state = state();
    let first = name_of(&state, "ctef").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(state.response_cache_stats(), (0, 1));
    let again = name_of(&state, "ctef").await;
    assert_eq!(again.body, first.body);
    assert_eq!(
        again.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(state.response_cache_stats(), (1, 1));

    // Other variables, another operation name or another text are other
    // questions.
    let other = name_of(&state, "peshmerga").await;
    assert_ne!(other.body, first.body);
    assert_eq!(other.json()["data"]["entity"]["id"], "peshmerga");
    let named = post(
        &state,
        json!({ "query": NAME, "operationName": "Name", "variables": { "id": "ctef" } }),
        None,
    )
    .await;
    assert_eq!(named.json()["data"], first.json()["data"]);
    assert_eq!(state.response_cache_stats(), (1, 3));

    // The media type is the request's own, even on a hit.
    let graphql_json = send_to(
        state.clone(),
        &[],
        post_graphql(body_of(NAME, json!({ "id": "ctef" })))
            .insert_header(("accept", "application/graphql-response+json")),
    )
    .await;
    assert_eq!(graphql_json.body, first.body);
    assert_eq!(
        graphql_json.header("content-type").as_deref(),
        Some("application/graphql-response+json; charset=utf-8")
    );
    // GET asks the same question.
    let get = send_to(
        state.clone(),
        &[],
        TestRequest::get().uri(&format!(
            "/graphql?query={}&variables={}",
            urlencode(NAME),
            urlencode(r#"{"id":"ctef"}"#)
        )),
    )
    .await;
    assert_eq!(get.body, first.body);
    assert_eq!(state.response_cache_stats(), (3, 3));
}

#[actix_web::test]
async fn a_write_is_seen_at_once() {
    let (state, _) = writable_state();
    let before = name_of(&state, "ctef").await.json();
    let version = before["extensions"]["graphVersion"].as_u64().unwrap();
    let renamed = post(
        &state,
        json!({
            "query": "mutation($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id } }",
            "variables": { "id": "ctef", "patch": { "description": "The fund." } },
        }),
        Some(TOKEN),
    )
    .await;
    assert!(renamed.json().get("errors").is_none(), "{}", renamed.text());
    // Mutations are never kept, nor answered from the cache.
    assert_eq!(state.response_cache_stats(), (0, 2));
    let described = post(
        &state,
        json!({
            "query": "query Name($id: ID!) { entity(id: $id) { id name description } }",
            "variables": { "id": "ctef" },
        }),
        None,
    )
    .await;
    assert_eq!(
        described.json()["data"]["entity"]["description"],
        "The fund."
    );
    let after = name_of(&state, "ctef").await.json();
    assert_eq!(
        after["extensions"]["graphVersion"],
        version + 1,
        "{after:#}"
    );
    assert_eq!(after["data"], before["data"]);
    assert_eq!(state.response_cache_stats(), (0, 4));
}

#[actix_web::test]
async fn answers_with_errors_are_not_kept() {
    let state = state_with(
        Limits {
            max_resolved_fields: 3,
            ..Limits::default()
        },
        1 << 20,
    );
    let body = json!({ "query": "{ entities(first: 10) { edges { node { id name } } } }" });
    for _ in 0..2 {
        let r = post(&state, body.clone(), None).await;
        assert_eq!(r.code(), "BUDGET_EXCEEDED");
    }
    let unknown = json!({ "query": "{ nothing }" });
    for _ in 0..2 {
        let r = post(&state, unknown.clone(), None).await;
        assert_eq!(r.code(), "GRAPHQL_VALIDATION_FAILED");
    }
    assert_eq!(state.response_cache_stats(), (0, 4));
}

#[actix_web::test]
async fn size_zero_turns_the_cache_off() {
    let state = state_configured(|s| s.with_response_cache(0));
    let first = name_of(&state, "ctef").await;
    let again = name_of(&state, "ctef").await;
    assert_eq!(first.body, again.body);
    assert_eq!(state.response_cache_stats(), (0, 0));
}

#[actix_web::test]
async fn metrics_count_hits_and_misses() {
    let state = state();
    name_of(&state, "ctef").await;
    name_of(&state, "ctef").await;
    let text = send_to(state.clone(), &[], TestRequest::get().uri("/metrics"))
        .await
        .text();
    let count = |outcome| outcome_count(&text, "partnergraph_response_cache_total", outcome);
    // Other tests count into the same registry, so only lower bounds hold.
    assert!(count("hit") >= 1 && count("miss") >= 1, "{text}");
}
