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

/// The explorer, GraphiQL and their files: served by the binary, with a
/// policy that lets them reach nothing but this server.
#[actix_web::test]
async fn the_web_pages_are_served_with_a_self_only_policy() {
    for (path, marker) in [
        ("/", "/assets/explorer.js"),
        ("/graphiql", "/assets/graphiql.js"),
    ] {
        let r = send(TestRequest::get().uri(path)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.starts_with("default-src 'self';"), "{csp}");
        for directive in [
            "script-src 'self';",
            "connect-src 'self';",
            "style-src 'self';",
        ] {
            assert!(csp.contains(directive), "{csp} lacks {directive}");
        }
        assert!(!csp.contains("http") && !csp.contains('*') && !csp.contains("unsafe"));
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        let html = r.text();
        assert!(html.contains(marker), "{path} does not load {marker}");
        // Nothing in the page names another origin.
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
    }
    // The explorer's hooks that browser tests and users rely on.
    let html = send(TestRequest::get().uri("/")).await.text();
    assert!(html.contains(r#"type="search""#) && html.contains(r#"aria-label="Search""#));
}

#[actix_web::test]
async fn page_files_are_gzipped_when_asked_and_revalidated_by_etag() {
    let plain = send(TestRequest::get().uri("/assets/explorer.js")).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(plain.header("content-encoding"), None);
    assert!(
        !plain.text().contains("https://"),
        "the bundle names another origin"
    );
    let etag = plain.header("etag").unwrap();

    let gz = send(
        TestRequest::get()
            .uri("/assets/explorer.js")
            .insert_header(("accept-encoding", "gzip, br")),
    )
    .await;
    assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gz.header("vary").as_deref(), Some("Accept-Encoding"));
    assert!(gz.body.len() < plain.body.len() / 2);
    assert_eq!(&gz.body[..2], &[0x1f, 0x8b]);

    let again = send(
        TestRequest::get()
            .uri("/assets/explorer.js")
            .insert_header(("if-none-match", etag.as_str())),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());

    let head = send(
        TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/"),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);

    let missing = send(TestRequest::get().uri("/assets/nothing.js")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "NOT_FOUND");
    let outside = send(TestRequest::get().uri("/assets/..%2Fexplorer.html")).await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
}

/// GraphiQL opens with the README's example queries, read from the README
/// when the page is built.
#[actix_web::test]
async fn graphiql_carries_the_readme_examples() {
    let js = send(TestRequest::get().uri("/assets/graphiql.js"))
        .await
        .text();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("\n## Example queries").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let mut found = 0;
    for block in section.split("```graphql\n").skip(1) {
        let query = block.split("```").next().unwrap();
        // Bundled as a JSON string: compare a line of each.
        let line = query.lines().find(|l| l.trim().len() > 8).unwrap().trim();
        assert!(
            js.contains(line),
            "GraphiQL lacks the README example line {line:?}"
        );
        found += 1;
    }
    assert!(found >= 5, "only {found} examples in the README");
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
