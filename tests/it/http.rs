//! HTTP routes: GET /graphql, GraphiQL, health, 404, CORS.

use crate::common::{send, send_to, state, urlencode, GQL_RESPONSE};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

const ORIGIN: &str = "https://ui.example";

#[actix_web::test]
async fn get_runs_queries() {
    let query = r#"{ entity(id: "ctef") { ... on Fund { totalAmount { display } } } }"#;
    let r = send(TestRequest::get().uri(&format!("/graphql?query={}", urlencode(query)))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["data"]["entity"]["totalAmount"]["display"],
        "$358 million"
    );
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    // With variables and an operation name, answering graphql-response+json.
    let query = "query A($id: ID!) { entity(id: $id) { name } } query B { stats { entities } }";
    let uri = format!(
        "/graphql?query={}&variables={}&operationName=A",
        urlencode(query),
        urlencode(&json!({ "id": "issa-ozeir" }).to_string())
    );
    let r = send(
        TestRequest::get()
            .uri(&uri)
            .insert_header(("accept", GQL_RESPONSE)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["data"]["entity"]["name"], "Issa Ozeir");
    assert!(r.header("content-type").unwrap().starts_with(GQL_RESPONSE));

    // No query.
    let r = send(TestRequest::get().uri("/graphql")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Variables that are not JSON.
    let uri = format!(
        "/graphql?query={}&variables=%7Bnot",
        urlencode("{ stats { entities } }")
    );
    let r = send(TestRequest::get().uri(&uri)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn get_refuses_mutations() {
    let r =
        send(TestRequest::get().uri(&format!("/graphql?query={}", urlencode("mutation { x }"))))
            .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text());
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    assert_eq!(r.code(), "BAD_REQUEST");
    // The operation picked by name decides.
    let doc = "query Q { stats { entities } } mutation M { x }";
    let uri = format!("/graphql?query={}&operationName=M", urlencode(doc));
    let r = send(TestRequest::get().uri(&uri)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let uri = format!("/graphql?query={}&operationName=Q", urlencode(doc));
    let r = send(TestRequest::get().uri(&uri)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[actix_web::test]
async fn graphiql_page() {
    let r = send(TestRequest::get().uri("/graphiql")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let html = r.text().to_lowercase();
    assert!(html.contains("graphiql"));
    assert!(html.contains("/graphql"));
}

#[actix_web::test]
async fn healthz() {
    let r = send(TestRequest::get().uri("/healthz")).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["entities"], 24);
    assert_eq!(body["relations"], 43);
    assert_eq!(body["documents"], 1);
}

#[actix_web::test]
async fn unknown_paths_are_json_404() {
    let r = send(TestRequest::get().uri("/no/such/path")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.code(), "NOT_FOUND");
}

fn preflight(origin: &str) -> TestRequest {
    TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/graphql")
        .insert_header(("origin", origin))
        .insert_header(("access-control-request-method", "POST"))
        .insert_header(("access-control-request-headers", "content-type"))
}

#[actix_web::test]
async fn cors_with_configured_origins() {
    let origins = [ORIGIN.to_owned()];
    let r = send_to(state(), &origins, preflight(ORIGIN)).await;
    assert!(r.status.is_success(), "preflight: {}", r.status);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(ORIGIN)
    );
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");

    // The actual request gets the header too.
    let req = crate::common::post_graphql(crate::common::body_of(
        "{ stats { entities } }",
        json!(null),
    ))
    .insert_header(("origin", ORIGIN));
    let r = send_to(state(), &origins, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(ORIGIN)
    );

    // Another origin is not allowed.
    let r = send_to(state(), &origins, preflight("https://evil.example")).await;
    assert_ne!(
        r.header("access-control-allow-origin").as_deref(),
        Some("https://evil.example")
    );
    assert_ne!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
}

#[actix_web::test]
async fn no_cors_without_configured_origins() {
    let r = send(preflight(ORIGIN)).await;
    assert!(r.header("access-control-allow-origin").is_none());
    let req = crate::common::post_graphql(crate::common::body_of(
        "{ stats { entities } }",
        json!(null),
    ))
    .insert_header(("origin", ORIGIN));
    let r = send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn metrics_in_prometheus_text_format() {
    let app = actix_web::test::init_service(partnergraph::http::app(state(), &[])).await;
    let query = TestRequest::post()
        .uri("/graphql")
        .insert_header(("content-type", "application/json"))
        .set_payload(
            json!({ "query": "query MetricsProbe { stats { entities } }", "operationName": "MetricsProbe" })
                .to_string(),
        )
        .to_request();
    let answered = actix_web::test::call_service(&app, query).await;
    assert_eq!(answered.status(), StatusCode::OK);
    let req = TestRequest::get().uri("/metrics").to_request();
    let resp = actix_web::test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = String::from_utf8(actix_web::test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.contains(
            r#"partnergraph_graphql_requests_total{operation="MetricsProbe",outcome="ok",type="query"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"partnergraph_graphql_request_duration_seconds_bucket{operation="MetricsProbe",type="query",le="#),
        "{text}"
    );
    for name in [
        "partnergraph_graph_entities",
        "partnergraph_graph_relations",
        "partnergraph_graph_version",
        "partnergraph_ranking_cache_hits_total",
        "partnergraph_ranking_cache_misses_total",
        "partnergraph_write_graph_copies_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
}
