//! Automatic persisted queries (hash first, text on a miss) and parsed
//! documents reused across requests.

use crate::common::*;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::web;
use partnergraph::http::AppState;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const QUERY: &str = "query Fund($id: ID!) { entity(id: $id) { id name } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(state: &web::Data<AppState>, body: Value) -> Resp {
    send_to(state.clone(), &[], post_graphql(body.to_string())).await
}

async fn get(state: &web::Data<AppState>, params: &[(&str, String)]) -> Resp {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let uri = format!("/graphql?{}", query.join("&"));
    send_to(state.clone(), &[], TestRequest::get().uri(&uri)).await
}

#[actix_web::test]
async fn a_hash_alone_runs_once_the_text_was_sent() {
    let state = state();
    let hash = sha256(QUERY);
    let vars = json!({ "id": "ctef" });

    let miss = post(
        &state,
        json!({ "variables": vars, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(miss.status, StatusCode::OK, "{}", miss.text());
    assert_eq!(miss.code(), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(
        miss.json()["errors"][0]["message"],
        "PersistedQueryNotFound"
    );
    assert!(miss.json().get("data").is_none());

    let register = post(
        &state,
        json!({ "query": QUERY, "variables": vars, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(register.json()["data"]["entity"]["id"], "ctef");

    let by_hash = post(
        &state,
        json!({ "variables": vars, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(by_hash.json()["data"], register.json()["data"]);

    // The same document with other variables answers for them.
    let other = post(
        &state,
        json!({ "variables": { "id": "peshmerga" }, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(other.json()["data"]["entity"]["id"], "peshmerga");

    // Over GET too, as CDN-friendly clients send it.
    let over_get = get(
        &state,
        &[
            ("variables", vars.to_string()),
            ("extensions", persisted(&hash).to_string()),
        ],
    )
    .await;
    assert_eq!(over_get.status, StatusCode::OK, "{}", over_get.text());
    assert_eq!(over_get.json()["data"], register.json()["data"]);
}

#[actix_web::test]
async fn a_persisted_miss_is_a_request_error_for_graphql_response_json() {
    let state = state();
    let req = post_graphql(
        json!({ "extensions": persisted(&sha256("{ stats { entityCount } }")) }).to_string(),
    )
    .insert_header(("accept", GQL_RESPONSE));
    let resp = send_to(state.clone(), &[], req).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(resp.code(), "PERSISTED_QUERY_NOT_FOUND");
}

#[actix_web::test]
async fn a_wrong_hash_or_version_is_refused_and_nothing_runs() {
    let state = state();
    let wrong = post(
        &state,
        json!({ "query": QUERY, "variables": { "id": "ctef" }, "extensions": persisted(&sha256("{ other }")) }),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.code(), "BAD_REQUEST");
    assert!(wrong.json().get("data").is_none());
    // The mismatched hash was not registered.
    let miss = post(
        &state,
        json!({ "extensions": persisted(&sha256("{ other }")) }),
    )
    .await;
    assert_eq!(miss.code(), "PERSISTED_QUERY_NOT_FOUND");

    let v2 = post(
        &state,
        json!({ "query": QUERY, "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256(QUERY) } } }),
    )
    .await;
    assert_eq!(v2.status, StatusCode::BAD_REQUEST);
    assert!(v2.text().contains("version 1"), "{}", v2.text());
    let malformed = post(
        &state,
        json!({ "query": QUERY, "extensions": { "persistedQuery": { "version": 1 } } }),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn a_persisted_mutation_is_still_refused_over_get() {
    let state = state();
    let mutation = "mutation { deleteRelation(id: \"nope\") }";
    let hash = sha256(mutation);
    // Registered over POST (refused there for want of a token, but known).
    let posted = post(
        &state,
        json!({ "query": mutation, "extensions": persisted(&hash) }),
    )
    .await;
    assert!(posted.json()["errors"].is_array(), "{}", posted.text());
    let over_get = get(&state, &[("extensions", persisted(&hash).to_string())]).await;
    assert_eq!(
        over_get.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        over_get.text()
    );
}

#[actix_web::test]
async fn reused_documents_answer_like_fresh_ones() {
    let state = state();
    for id in ["ctef", "peshmerga", "ctef"] {
        let resp = post(&state, json!({ "query": QUERY, "variables": { "id": id } })).await;
        assert_eq!(resp.json()["data"]["entity"]["id"], id);
    }
    // A document that does not parse is never kept: each time it fails alike.
    for _ in 0..2 {
        let resp = post(&state, json!({ "query": "{ entity(id: " })).await;
        assert_eq!(resp.code(), "GRAPHQL_PARSE_FAILED");
    }
    // Validation still runs on a kept document, against each request's variables.
    let resp = post(
        &state,
        json!({ "query": QUERY, "variables": { "id": { "not": "an id" } } }),
    )
    .await;
    assert!(resp.json()["errors"].is_array(), "{}", resp.text());
}

#[actix_web::test]
async fn with_the_cache_off_hashes_never_resolve() {
    let state = state_configured(|s| s.with_document_cache(0));
    let hash = sha256(QUERY);
    let vars = json!({ "id": "ctef" });
    let first = post(
        &state,
        json!({ "query": QUERY, "variables": vars, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(first.json()["data"]["entity"]["id"], "ctef");
    let again = post(
        &state,
        json!({ "variables": vars, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(again.code(), "PERSISTED_QUERY_NOT_FOUND");
}

#[actix_web::test]
async fn a_request_that_passed_validation_skips_the_rules_and_answers_alike() {
    // The response cache would answer repeats before validation; off here.
    let state = state_configured(|s| s.with_response_cache(0));
    let ask = |vars: Value| post(&state, json!({ "query": QUERY, "variables": vars }));
    let first = ask(json!({ "id": "ctef" })).await;
    assert_eq!(first.json()["data"]["entity"]["id"], "ctef");
    assert_eq!(state.validation_cache_stats(), (0, 1));
    let again = ask(json!({ "id": "ctef" })).await;
    assert_eq!(again.body, first.body);
    assert_eq!(state.validation_cache_stats(), (1, 1));

    // Other variables are checked afresh: the same document with a value of
    // the wrong type is refused, every time, with no data.
    for round in 0..2 {
        let bad = send_to(
            state.clone(),
            &[],
            post_graphql(body_of(QUERY, json!({ "id": { "not": "an id" } })))
                .insert_header(("accept", "application/graphql-response+json")),
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
        assert_eq!(bad.code(), "GRAPHQL_VALIDATION_FAILED");
        assert!(bad.json().get("data").is_none());
        assert_eq!(state.validation_cache_stats(), (1, 2 + round));
    }
    // A document that fails the rules is never remembered as passing them.
    for round in 0..2 {
        let bad = post(
            &state,
            json!({ "query": "{ entity(id: \"ctef\") { nope } }" }),
        )
        .await;
        assert_eq!(bad.code(), "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(state.validation_cache_stats(), (1, 4 + round));
    }
    // /metrics counts the look-ups (other tests count into the same
    // registry, so only lower bounds hold).
    let text = send_to(state.clone(), &[], TestRequest::get().uri("/metrics"))
        .await
        .text();
    let count = |outcome| outcome_count(&text, "partnergraph_validation_cache_total", outcome);
    assert!(count("hit") >= 1 && count("miss") >= 5, "{text}");
}

#[actix_web::test]
async fn a_request_that_passed_skips_its_cost_check_but_other_variables_do_not() {
    // Page sizes are variables: the same text costs what its variables ask.
    const PAGES: &str = "query Pages($n: Int) { entities(first: $n) { edges { node { \
                         id relations(first: $n) { edges { node { id } } } } } } }";
    let state = state_configured(|s| s.with_response_cache(0));
    let ask = |n: i64| post(&state, json!({ "query": PAGES, "variables": { "n": n } }));
    for _ in 0..2 {
        let small = ask(3).await;
        assert!(small.json().get("errors").is_none(), "{}", small.text());
        assert_eq!(
            small.json()["data"]["entities"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }
    // The second small request skipped the checks it passed before.
    assert_eq!(state.validation_cache_stats(), (1, 1));
    // Larger pages cost more than the default limit of 5,000: refused each
    // time, never remembered as passing.
    for round in 0..2 {
        let large = ask(100).await;
        assert_eq!(large.code(), "QUERY_TOO_COMPLEX", "{}", large.text());
        assert!(large.json()["data"].is_null(), "{}", large.text());
        assert_eq!(state.validation_cache_stats(), (1, 2 + round));
    }
    // And the small pages still pass without their checks.
    let small = ask(3).await;
    assert!(small.json().get("errors").is_none(), "{}", small.text());
    assert_eq!(state.validation_cache_stats(), (2, 3));
}

#[actix_web::test]
async fn with_the_cache_off_every_request_is_validated() {
    let state = state_configured(|s| s.with_document_cache(0).with_response_cache(0));
    for _ in 0..2 {
        let resp = post(
            &state,
            json!({ "query": QUERY, "variables": { "id": "ctef" } }),
        )
        .await;
        assert_eq!(resp.json()["data"]["entity"]["id"], "ctef");
    }
    assert_eq!(state.validation_cache_stats(), (0, 0));
}
