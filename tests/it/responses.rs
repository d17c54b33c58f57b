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

/// Gives `ctef` the description "The fund.", a write.
async fn describe_ctef(state: &web::Data<AppState>) {
    let described = post(
        state,
        json!({
            "query": "mutation($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id } }",
            "variables": { "id": "ctef", "patch": { "description": "The fund." } },
        }),
        Some(TOKEN),
    )
    .await;
    assert!(
        described.json().get("errors").is_none(),
        "{}",
        described.text()
    );
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
    describe_ctef(&state).await;
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

/// The article served twice with the same write token, one state keeping
/// responses and one not.
fn kept_and_fresh() -> (web::Data<AppState>, web::Data<AppState>) {
    (
        writable_configured(|s| s.with_response_cache(1000)),
        writable_configured(|s| s.with_response_cache(0)),
    )
}

const ENTITY_PAGE: &str = "query($id: ID!) { entity(id: $id) { id name aliases degree \
     relations(first: 100) { totalCount edges { node { id kind from { id name } to { id name } } } } \
     neighbors { id name } } }";

#[actix_web::test]
async fn a_write_elsewhere_keeps_an_answer_named_for_the_new_version() {
    let (state, _) = writable_state();
    let page = json!({ "query": ENTITY_PAGE, "variables": { "id": "ctef" } });
    let first = post(&state, page.clone(), None).await.json();
    let version = first["extensions"]["graphVersion"].as_u64().unwrap();
    let created = post(
        &state,
        json!({
            "query": "mutation($input: EntityInput!) { createEntity(input: $input) { id } }",
            "variables": { "input": { "id": "zz-front", "kind": "ARMED_GROUP", "name": "Zz Front",
                "sources": [{ "document": DOC, "quote": "including the Asayish and Peshmerga" }] } },
        }),
        Some(TOKEN),
    )
    .await;
    assert!(created.json().get("errors").is_none(), "{}", created.text());
    let (hits, _) = state.response_cache_stats();
    let again = post(&state, page.clone(), None).await.json();
    assert_eq!(
        state.response_cache_stats().0,
        hits + 1,
        "answered from the cache"
    );
    assert_eq!(again["data"], first["data"]);
    assert_eq!(again["extensions"]["graphVersion"], version + 1);

    // A relation of `ctef` changes its page.
    let related = post(
        &state,
        json!({
            "query": "mutation($input: RelationInput!) { createRelation(input: $input) { id } }",
            "variables": { "input": { "id": "ctef-zz", "kind": "FUNDS", "from": "ctef", "to": "zz-front",
                "sources": [{ "document": DOC, "quote": "including the Asayish and Peshmerga" }] } },
        }),
        Some(TOKEN),
    )
    .await;
    assert!(related.json().get("errors").is_none(), "{}", related.text());
    let after = post(&state, page, None).await.json();
    assert_eq!(
        state.response_cache_stats().0,
        hits + 1,
        "not from the cache"
    );
    assert_eq!(after["extensions"]["graphVersion"], version + 2);
    let neighbors = ids(&after["data"]["entity"]["neighbors"]);
    assert!(neighbors.contains(&"zz-front".to_owned()), "{after:#}");
}

/// A small deterministic generator, so a failure replays the same way.
struct Steps(u64);

impl Steps {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[actix_web::test]
async fn kept_answers_always_equal_fresh_ones_whatever_the_writes() {
    let (kept, fresh) = kept_and_fresh();
    let quote = json!([{ "document": DOC, "quote": "including the Asayish and Peshmerga" }]);
    let names = ["Zz Front", "Yy Brigade", "Zz Office", "Quiet Council"];
    let ends = ["ctef", "peshmerga", "n0", "n1", "n2", "n3", "n4", "n5"];
    let queries: Vec<Value> = {
        let mut q = Vec::new();
        for id in ["ctef", "peshmerga", "n1", "n4"] {
            q.push(json!({ "query": ENTITY_PAGE, "variables": { "id": id } }));
            q.push(json!({ "query": "query($id: ID!) { neighborhood(id: $id, depth: 2) { entities { id name } relations { id kind } } }", "variables": { "id": id } }));
            q.push(json!({ "query": "query($id: ID!) { node(id: $id) { id ... on Relation { kind from { name } } } }", "variables": { "id": id } }));
        }
        for search in ["zz", "", "front", "council"] {
            q.push(json!({ "query": "query($s: String) { entities(search: $s, first: 5) { totalCount edges { node { id name degree } } } }", "variables": { "s": search } }));
        }
        q.push(
            json!({ "query": "{ relation(id: \"r3\") { id kind from { id name } to { id } } }" }),
        );
        q.push(json!({ "query": "{ node(id: \"r5\") { id } }" }));
        q.push(json!({ "query": "{ stats { entities relations } graphVersion }" }));
        q.push(json!({ "query": "{ entity(id: \"ctef\") { ... on Fund { flows { recipient { id } } } } }" }));
        q
    };
    let mut steps = Steps(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for i in 0..200 {
        let write = match steps.below(5) {
            0 | 1 => json!({
                "query": "mutation($input: EntityInput!) { createEntity(input: $input) { id } }",
                "variables": { "input": { "id": format!("n{}", steps.below(6)), "kind": "ARMED_GROUP",
                    "name": names[steps.below(names.len())], "sources": quote } },
            }),
            2 => json!({
                "query": "mutation($input: RelationInput!) { createRelation(input: $input) { id } }",
                "variables": { "input": { "id": format!("r{}", steps.below(8)), "kind": "COOPERATES_WITH",
                    "from": ends[steps.below(ends.len())], "to": ends[steps.below(ends.len())], "sources": quote } },
            }),
            3 => json!({
                "query": "mutation($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id } }",
                "variables": { "id": ends[steps.below(ends.len())], "patch": { "name": names[steps.below(names.len())] } },
            }),
            _ => match steps.below(2) {
                0 => json!({
                    "query": "mutation($id: ID!) { deleteRelation(id: $id) }",
                    "variables": { "id": format!("r{}", steps.below(8)) },
                }),
                _ => json!({
                    "query": "mutation($id: ID!) { deleteEntity(id: $id, cascade: true) }",
                    "variables": { "id": format!("n{}", steps.below(6)) },
                }),
            },
        };
        let a = post(&kept, write.clone(), Some(TOKEN)).await;
        let b = post(&fresh, write.clone(), Some(TOKEN)).await;
        assert_eq!(a.body, b.body, "write {i}: {write}");
        if a.json().get("errors").is_none() {
            accepted += 1;
        }
        // Some questions asked after each write, a different few each time,
        // each twice so the second may come from the cache.
        for _ in 0..4 {
            let q = &queries[steps.below(queries.len())];
            for _ in 0..2 {
                let (a, b) = (
                    post(&kept, q.clone(), None).await,
                    post(&fresh, q.clone(), None).await,
                );
                assert_eq!(a.text(), b.text(), "after write {i} ({write}): {q}");
            }
        }
    }
    assert!(accepted > 70, "only {accepted} writes were accepted");
    let (hits, _) = kept.response_cache_stats();
    assert!(hits > 800, "only {hits} answers came from the cache");
}

#[actix_web::test]
async fn a_body_answered_before_is_answered_again_by_its_bytes_alone() {
    const DESCRIBED: &str = "query($id: ID!) { entity(id: $id) { id description } }";
    let (state, _) = writable_state();
    let body = json!({ "query": DESCRIBED, "variables": { "id": "ctef" } });
    let first = post(&state, body.clone(), None).await;
    // Computed, then a hit that remembers the body, then hits by the body.
    for (round, body_hits) in [(1, 0), (2, 1), (3, 2)] {
        let again = post(&state, body.clone(), None).await;
        assert_eq!(again.body, first.body);
        assert_eq!(state.response_cache_stats(), (round, 1));
        assert_eq!(state.response_cache_body_hits(), body_hits);
    }
    // The media type is still the request's own.
    let graphql_json = send_to(
        state.clone(),
        &[],
        post_graphql(body.to_string())
            .insert_header(("accept", "application/graphql-response+json")),
    )
    .await;
    assert_eq!(graphql_json.body, first.body);
    assert_eq!(
        graphql_json.header("content-type").as_deref(),
        Some("application/graphql-response+json; charset=utf-8")
    );
    assert_eq!(state.response_cache_body_hits(), 3);

    // Extensions change what a request is beyond its key: such a body is
    // answered from the cache, but never by its bytes alone.
    let waiting = json!({
        "query": DESCRIBED,
        "variables": { "id": "ctef" },
        "extensions": { "minGraphVersion": 0 },
    });
    for _ in 0..3 {
        let again = post(&state, waiting.clone(), None).await;
        assert_eq!(again.body, first.body);
    }
    assert_eq!(state.response_cache_stats(), (7, 1));
    assert_eq!(state.response_cache_body_hits(), 3);

    // A write that changes the answer: the same bytes are answered afresh,
    // counted once as a miss, then by their bytes again.
    describe_ctef(&state).await;
    let (hits, misses) = state.response_cache_stats();
    let fresh = post(&state, body.clone(), None).await;
    assert_eq!(fresh.json()["data"]["entity"]["description"], "The fund.");
    assert_eq!(state.response_cache_stats(), (hits, misses + 1));
    let again = post(&state, body.clone(), None).await;
    assert_eq!(again.body, fresh.body);
    assert_eq!(state.response_cache_stats(), (hits + 1, misses + 1));
    assert_eq!(state.response_cache_body_hits(), 4);
}
