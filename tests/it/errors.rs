//! Errors carry a stable `extensions.code`, and request errors get the
//! status codes of the GraphQL-over-HTTP spec.

use crate::common::{
    arr, body_of, data, error_code, gql, post_graphql, send, send_to, state_with, GQL_RESPONSE,
};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use partnergraph::api::Limits;
use serde_json::{json, Value};

#[actix_web::test]
async fn unknown_ids_to_analyses_are_not_found() {
    for q in [
        r#"{ shortestPath(from: "nobody", to: "ctef") { length } }"#,
        r#"{ shortestPath(from: "ctef", to: "nobody") { length } }"#,
        r#"{ paths(from: "nobody", to: "ctef") { length } }"#,
        r#"{ paths(from: "ctef", to: "nobody") { length } }"#,
        r#"{ neighborhood(id: "nobody") { entities { id } } }"#,
        r#"{ fundingFlows(from: "nobody") { direct } }"#,
        r#"{ fundingFlows(to: "nobody") { direct } }"#,
    ] {
        let (status, body) = gql(q, json!(null)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{q}: a field error, not a request error"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{q}: {body:#}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nobody"),
            "{q}: the message names the id: {body:#}"
        );
        assert!(body.get("data").is_some(), "{q}: data is present (null)");
    }
}

#[actix_web::test]
async fn arguments_out_of_range_are_bad_user_input() {
    for q in [
        r#"{ paths(from: "ctef", to: "peshmerga", maxLength: 7) { length } }"#,
        r#"{ paths(from: "ctef", to: "peshmerga", maxLength: 0) { length } }"#,
        r#"{ paths(from: "ctef", to: "peshmerga", first: -1) { length } }"#,
        r#"{ paths(from: "ctef", to: "peshmerga", first: 101) { length } }"#,
        r#"{ neighborhood(id: "ctef", depth: 5) { entities { id } } }"#,
        r#"{ neighborhood(id: "ctef", depth: -1) { entities { id } } }"#,
        r#"{ centrality(first: -1) { rank } }"#,
        r#"{ centrality(first: 101) { rank } }"#,
    ] {
        assert_eq!(error_code(q, json!(null)).await, "BAD_USER_INPUT", "{q}");
    }
    // The limits themselves are allowed.
    for q in [
        r#"{ paths(from: "ctef", to: "peshmerga", maxLength: 6, first: 1) { length } }"#,
        r#"{ neighborhood(id: "ctef", depth: 4) { entities { id } } }"#,
    ] {
        let (status, body) = gql(q, json!(null)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("errors").is_none(), "{q}: {body:#}");
    }
}

fn deep_query(levels: usize) -> String {
    format!(
        r#"{{ entity(id: "ctef") {{ {} id {} }} }}"#,
        "neighbors { ".repeat(levels),
        "} ".repeat(levels)
    )
}

fn post_accepting(body: String, accept: &str) -> TestRequest {
    post_graphql(body).insert_header(("accept", accept))
}

#[actix_web::test]
async fn too_deep_queries_are_refused() {
    // Beyond the depth limit of 15 but within the bound on nesting of 32.
    let body = body_of(&deep_query(20), json!(null));
    let strict = send(post_accepting(body, GQL_RESPONSE)).await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{}", strict.text());
    assert_eq!(strict.code(), "QUERY_TOO_DEEP", "{}", strict.text());

    let body = body_of(&deep_query(40), json!(null));
    let strict = send(post_accepting(body.clone(), GQL_RESPONSE)).await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{}", strict.text());
    assert_eq!(strict.code(), "QUERY_TOO_DEEP", "{}", strict.text());
    assert!(
        strict
            .text()
            .contains("the document nests fields more than 15"),
        "{}",
        strict.text()
    );
    assert!(strict.json().get("data").is_none());
    assert!(strict
        .header("content-type")
        .unwrap()
        .starts_with(GQL_RESPONSE));

    let legacy = send(post_accepting(body, "application/json")).await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.text());
    assert_eq!(legacy.code(), "QUERY_TOO_DEEP", "{}", legacy.text());
    assert!(legacy
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    // Within the default depth of 15 the same shape runs (three levels of
    // `neighbors`, which the cost model admits: each level weighs ten).
    let (status, body) = gql(&deep_query(3), json!(null)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body:#}");
}

#[actix_web::test]
async fn texts_nested_past_the_parser_are_refused_as_too_deep() {
    // Past the parser's own bound on selection sets (64), and a list value
    // nested far deeper than any parser should recurse.
    let list = format!(
        r#"{{ entity(id: {}"ctef"{}) {{ id }} }}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for query in [deep_query(100), list] {
        let body = body_of(&query, json!(null));
        let strict = send(post_accepting(body.clone(), GQL_RESPONSE)).await;
        assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{}", strict.text());
        assert_eq!(strict.code(), "QUERY_TOO_DEEP", "{}", strict.text());
        assert!(
            strict
                .text()
                .contains("nests braces and brackets more than 64"),
            "{}",
            strict.text()
        );
    }
}

#[actix_web::test]
async fn depth_limit_is_configurable() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let resp = send_to(
        state_with(limits, 1 << 20),
        &[],
        post_accepting(body_of(&deep_query(3), json!(null)), GQL_RESPONSE),
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(resp.code(), "QUERY_TOO_DEEP");
}

#[actix_web::test]
async fn syntax_and_validation_errors() {
    let cases = [
        ("{ entity(id: \"ctef\") { id ", "GRAPHQL_PARSE_FAILED"),
        ("query {", "GRAPHQL_PARSE_FAILED"),
        (
            "{ entity(id: \"ctef\") { noSuchField } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ noSuchRootField }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ entities(kind: NOT_A_KIND) { totalCount } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (query, code) in cases {
        let body = body_of(query, json!(null));
        let strict = send(post_accepting(body.clone(), GQL_RESPONSE)).await;
        assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(strict.code(), code, "{query}");
        assert!(
            strict.json().get("data").is_none(),
            "{query}: a request error has no data key: {}",
            strict.text()
        );
        assert!(strict
            .header("content-type")
            .unwrap()
            .starts_with(GQL_RESPONSE));

        let legacy = send(post_accepting(body, "application/json")).await;
        assert_eq!(legacy.status, StatusCode::OK, "{query}");
        assert_eq!(legacy.code(), code, "{query}");
    }
}

#[actix_web::test]
async fn missing_required_variable_is_a_request_error() {
    let query = "query($id: ID!) { entity(id: $id) { id } }";
    let resp = send(post_accepting(body_of(query, json!({})), GQL_RESPONSE)).await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{}", resp.text());
    assert!(resp.json().get("data").is_none());
    let code = resp.code();
    assert!(!code.is_empty());
}

#[actix_web::test]
async fn malformed_requests() {
    // Not JSON.
    let r = send(post_graphql("{ this is not json")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BAD_REQUEST");
    let message = r.json()["errors"][0]["message"].to_string();
    assert!(message.contains("not valid JSON"), "{message}");
    // JSON, but not an object.
    for body in ["[1, 2]", " \"{ stats { entities } }\"", "null"] {
        let r = send(post_graphql(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.code(), "BAD_REQUEST");
        let message = r.json()["errors"][0]["message"].to_string();
        assert!(
            message.contains("must be a JSON object"),
            "{body}: {message}"
        );
    }
    // A member given twice is refused rather than one of them picked.
    let twice = r#"{"query": "{ stats { entities } }", "query": "{ __typename }"}"#;
    let r = send(post_graphql(twice)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BAD_REQUEST");
    // Members the protocol does not name are ignored.
    let r = send(post_graphql(
        json!({ "query": "{ stats { entities } }", "id": "7", "other": [1] }).to_string(),
    ))
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["data"]["stats"]["entities"], 24);
    // `query` not a string.
    let r = send(post_graphql(json!({ "query": 42 }).to_string())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BAD_REQUEST");
    // No `query`.
    let r = send(post_graphql(json!({ "variables": {} }).to_string())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // `variables` not an object.
    let r = send(post_graphql(
        json!({ "query": "{ stats { entities } }", "variables": [1] }).to_string(),
    ))
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BAD_REQUEST");
    let r = send(post_graphql(
        json!({ "query": "{ stats { entities } }", "variables": "{}" }).to_string(),
    ))
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // `operationName` not a string.
    let r = send(post_graphql(
        json!({ "query": "{ stats { entities } }", "operationName": 1 }).to_string(),
    ))
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Null variables and operationName are fine.
    let r = send(post_graphql(
        json!({ "query": "{ stats { entities } }", "variables": null, "operationName": null })
            .to_string(),
    ))
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["data"]["stats"]["entities"], 24);
}

#[actix_web::test]
async fn content_type_must_be_json() {
    let body = body_of("{ stats { entities } }", json!(null));
    let r = send(
        TestRequest::post()
            .uri("/graphql")
            .insert_header(("content-type", "text/plain"))
            .set_payload(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), "BAD_REQUEST");
    let r = send(
        TestRequest::post()
            .uri("/graphql")
            .set_payload(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // With a charset parameter it is still JSON.
    let r = send(
        TestRequest::post()
            .uri("/graphql")
            .insert_header(("content-type", "application/json; charset=utf-8"))
            .set_payload(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[actix_web::test]
async fn body_over_the_limit_is_413() {
    let filler = "x".repeat(2000);
    let body = body_of(
        &format!("{{ stats {{ entities }} }} # {filler}"),
        json!(null),
    );
    assert!(body.len() >= 2000);
    let r = send_to(state_with(Limits::default(), 1000), &[], post_graphql(body)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Below the limit the same state answers.
    let small = body_of("{ stats { entities } }", json!(null));
    let r = send_to(
        state_with(Limits::default(), 1000),
        &[],
        post_graphql(small),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[actix_web::test]
async fn accept_negotiation() {
    let body = body_of("{ stats { entities } }", json!(null));
    let r = send(post_accepting(body.clone(), "text/html")).await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);

    for (accept, want) in [
        (GQL_RESPONSE, GQL_RESPONSE),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        (
            "application/json;q=0.5, application/graphql-response+json",
            GQL_RESPONSE,
        ),
        (
            "application/graphql-response+json;q=0.5, application/json",
            "application/json",
        ),
        ("text/html, application/json;q=0.9", "application/json"),
    ] {
        let r = send(post_accepting(body.clone(), accept)).await;
        assert_eq!(r.status, StatusCode::OK, "{accept}");
        let ct = r.header("content-type").unwrap();
        assert!(ct.starts_with(want), "Accept {accept}: got {ct}");
        assert_eq!(r.json()["data"]["stats"]["entities"], 24);
    }
    // No Accept at all: application/json.
    let r = send(post_graphql(body)).await;
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
}

#[actix_web::test]
async fn other_methods_are_405() {
    let r = send(
        TestRequest::put()
            .uri("/graphql")
            .insert_header(("content-type", "application/json"))
            .set_payload(body_of("{ stats { entities } }", json!(null))),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = r.header("allow").unwrap_or_default();
    assert!(allow.contains("POST") && allow.contains("GET"), "{allow}");
    let r = send(TestRequest::delete().uri("/graphql")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[actix_web::test]
async fn field_errors_keep_partial_data() {
    let (status, body) = gql(
        r#"{ ok: entity(id: "ctef") { id } bad: shortestPath(from: "nobody", to: "ctef") { length } }"#,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["ok"]["id"], "ctef");
    assert_eq!(body["data"]["bad"], Value::Null);
    assert_eq!(body["errors"][0]["path"], json!(["bad"]));
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[actix_web::test]
async fn complexity_limit_is_configurable() {
    let limits = Limits {
        max_complexity: 5,
        ..Limits::default()
    };
    let query = r#"{ stats { entities relations documents } documents { id title publisher } }"#;
    let resp = send_to(
        state_with(limits, 1 << 20),
        &[],
        post_accepting(body_of(query, json!(null)), GQL_RESPONSE),
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{}", resp.text());
    assert_eq!(resp.code(), "QUERY_TOO_COMPLEX");
    assert!(resp.json().get("data").is_none());
    // The same query is well within the default complexity.
    let (status, body) = gql(query, json!(null)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body:#}");
}

#[actix_web::test]
async fn answers_that_fan_out_hit_the_field_budget() {
    // Twelve levels of `neighbors` is within the depth limit, yet its answer
    // would have millions of fields: the cost model refuses it before any
    // work, saying what it would cost.
    let (status, body) = gql(&deep_query(12), json!(null)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{body:#}"
    );
    assert!(body["errors"][0]["extensions"]["cost"].as_u64() > Some(1_000_000_000));
    // With no complexity limit to speak of, the field budget stops it.
    let limits = Limits {
        max_complexity: usize::MAX,
        ..Limits::default()
    };
    let resp = send_to(
        state_with(limits, 1 << 20),
        &[],
        post_graphql(body_of(&deep_query(12), json!(null))),
    )
    .await;
    let body = resp.json();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BUDGET_EXCEEDED",
        "{body:#}"
    );
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1));
    assert!(body["data"].is_null());
    // A smaller budget refuses a smaller answer, and is configurable.
    let limits = Limits {
        max_resolved_fields: 10,
        ..Limits::default()
    };
    let resp = send_to(
        state_with(limits, 1 << 20),
        &[],
        post_graphql(body_of(
            r#"{ entities(first: 20) { edges { node { id name } } } }"#,
            json!(null),
        )),
    )
    .await;
    assert_eq!(resp.code(), "BUDGET_EXCEEDED", "{}", resp.text());
}

#[actix_web::test]
async fn funding_flows_past_the_field_budget_are_refused_before_they_are_built() {
    let limits = Limits {
        max_resolved_fields: 2,
        ..Limits::default()
    };
    let resp = send_to(
        state_with(limits, 1 << 20),
        &[],
        post_graphql(body_of("{ fundingFlows { direct } }", json!(null))),
    )
    .await;
    assert_eq!(resp.code(), "BUDGET_EXCEEDED", "{}", resp.text());
    assert!(
        resp.text().contains("more than 2 funding flows"),
        "{}",
        resp.text()
    );
    // Within the budget the same question answers.
    let flows = data("{ fundingFlows { direct } }", json!(null)).await;
    assert!(arr(&flows["fundingFlows"]).len() > 2);
}

#[actix_web::test]
async fn slow_analyses_hit_the_time_budget() {
    let limits = Limits {
        analysis_time_limit: std::time::Duration::ZERO,
        ..Limits::default()
    };
    for q in [
        r#"{ shortestPath(from: "issa-ozeir", to: "ctef") { length } }"#,
        r#"{ paths(from: "issa-ozeir", to: "ctef") { length } }"#,
        r#"{ neighborhood(id: "iraq", depth: 2) { entities { id } } }"#,
        r#"{ fundingFlows { direct } }"#,
        r#"{ centrality(measure: BETWEENNESS, samples: 5) { score } }"#,
    ] {
        let resp = send_to(
            state_with(limits.clone(), 1 << 20),
            &[],
            post_graphql(body_of(q, json!(null))),
        )
        .await;
        assert_eq!(resp.code(), "BUDGET_EXCEEDED", "{q}: {}", resp.text());
        assert!(resp.text().contains("budget"), "{}", resp.text());
    }
}

#[actix_web::test]
async fn betweenness_samples_are_labelled_and_bounded() {
    let (_, body) = gql(
        r#"{ exact: centrality(measure: BETWEENNESS, first: 3) { exact score }
             sampled: centrality(measure: BETWEENNESS, first: 3, samples: 5) { exact score } }"#,
        json!(null),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(body["data"]["exact"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["exact"] == true));
    assert!(body["data"]["sampled"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["exact"] == false));
    for bad in [0, 5000] {
        let (_, body) = gql(
            &format!("{{ centrality(measure: BETWEENNESS, samples: {bad}) {{ score }} }}"),
            json!(null),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body:#}"
        );
    }
}
