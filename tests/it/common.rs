//! Shared helpers: the in-process application, GraphQL requests, JSON access.

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::{test, web};
use partnergraph::api::Limits;
use partnergraph::dataset;
use partnergraph::graph::Graph;
use partnergraph::http::{app, AppState};
use partnergraph::live::GraphService;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// The id of the article, the one document of the built-in dataset.
pub const DOC: &str = "k24-peshmerga-us-iraq-talks";

/// The media type of the GraphQL-over-HTTP spec.
pub const GQL_RESPONSE: &str = "application/graphql-response+json";

/// The built-in graph, loaded once and cloned for every application.
fn graph() -> Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH
        .get_or_init(|| dataset::load_builtin().expect("the built-in dataset loads"))
        .clone()
}

/// State with the default limits and a 1 MiB body limit.
pub fn state() -> web::Data<AppState> {
    state_with(Limits::default(), 1 << 20)
}

/// State with these limits.
pub fn state_with(limits: Limits, max_body_bytes: usize) -> web::Data<AppState> {
    let service = Arc::new(GraphService::in_memory(graph()));
    web::Data::new(AppState::new(service, limits, max_body_bytes, None))
}

/// State with the default limits, set up further by `configure` (cache
/// sizes, say).
pub fn state_configured(configure: impl FnOnce(AppState) -> AppState) -> web::Data<AppState> {
    configured(None, configure)
}

/// State with the default limits and write token `token`, set up further
/// by `configure`.
fn configured(
    token: Option<&str>,
    configure: impl FnOnce(AppState) -> AppState,
) -> web::Data<AppState> {
    let service = Arc::new(GraphService::in_memory(graph()));
    web::Data::new(configure(AppState::new(
        service,
        Limits::default(),
        1 << 20,
        token.map(str::to_owned),
    )))
}

/// The write token of `writable_state`.
pub const TOKEN: &str = "test-token-0123456789";

/// State over a fresh copy of the built-in graph that takes writes with
/// `TOKEN`, and its service.
pub fn writable_state() -> (web::Data<AppState>, Arc<GraphService>) {
    let service = Arc::new(GraphService::in_memory(graph()));
    let state = AppState::new(
        service.clone(),
        Limits::default(),
        1 << 20,
        Some(TOKEN.into()),
    );
    (web::Data::new(state), service)
}

/// State that takes writes with [`TOKEN`], set up further by `configure`.
pub fn writable_configured(configure: impl FnOnce(AppState) -> AppState) -> web::Data<AppState> {
    configured(Some(TOKEN), configure)
}

/// A response, read to the end.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: web::Bytes,
}

impl Resp {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header").to_owned())
    }

    /// The `extensions.code` of the first error.
    pub fn code(&self) -> String {
        first_code(&self.json())
    }
}

/// Sends `req` to an application built from `state` and `cors` origins.
pub async fn send_to(state: web::Data<AppState>, cors: &[String], req: test::TestRequest) -> Resp {
    let svc = test::init_service(app(state, cors)).await;
    let resp = test::call_service(&svc, req.to_request()).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = test::read_body(resp).await;
    Resp {
        status,
        headers,
        body,
    }
}

/// Sends `req` to the default application (built-in data, default limits, no CORS).
pub async fn send(req: test::TestRequest) -> Resp {
    send_to(state(), &[], req).await
}

/// A `POST /graphql` with a JSON content type and this body.
pub fn post_graphql(body: impl Into<web::Bytes>) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/graphql")
        .insert_header(("content-type", "application/json"))
        .set_payload(body)
}

/// The JSON body of a GraphQL request.
pub fn body_of(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

/// Posts a GraphQL request (no `Accept`, so application/json) and returns
/// the status and the JSON body.
pub async fn gql(query: &str, variables: Value) -> (StatusCode, Value) {
    let resp = send(post_graphql(body_of(query, variables))).await;
    (resp.status, resp.json())
}

/// The `data` of a request that must succeed without errors.
pub async fn data(query: &str, variables: Value) -> Value {
    let (status, body) = gql(query, variables).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

/// The `extensions.code` of the first error of a request that must fail.
pub async fn error_code(query: &str, variables: Value) -> String {
    let (_, body) = gql(query, variables).await;
    first_code(&body)
}

/// The `extensions.code` of the first error of a response body.
pub fn first_code(body: &Value) -> String {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected errors: {body:#}"));
    assert!(!errors.is_empty(), "expected errors: {body:#}");
    errors[0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("the error has no extensions.code: {body:#}"))
        .to_owned()
}

/// A JSON string, or a panic naming the value.
pub fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// A JSON array, or a panic naming the value.
pub fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}

/// The `id`s of a list of objects.
pub fn ids(list: &Value) -> Vec<String> {
    arr(list).iter().map(|x| s(&x["id"]).to_owned()).collect()
}

/// Percent-encodes a query-string value.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Collapses runs of whitespace to one space, as quotes are compared.
pub fn normalize_ws(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of counter `name` with label `outcome` in a `/metrics` text;
/// 0 when it is not there yet.
pub fn outcome_count(metrics: &str, name: &str, outcome: &str) -> u64 {
    let prefix = format!("{name}{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
