//! HTTP: routes, GraphQL-over-HTTP, the web pages, health, CORS, body limits,
//! request logging and graceful shutdown. The only module that knows HTTP.

pub mod connections;
mod export;
mod graphql;
mod pages;
mod query_cache;
mod responses;
pub mod server;
mod websocket;
pub mod wire;

use crate::api::{self, AppSchema, Limits, WriteAccess};
use crate::live::GraphService;
use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{http::header, middleware, web, App, HttpRequest, HttpResponse};
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What every request handler shares.
pub struct AppState {
    /// The live graph.
    pub service: Arc<GraphService>,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// The same schema without the validation rules, for requests that
    /// passed them before (see `query_cache`).
    validated_schema: AppSchema,
    /// The schema without the field budget's step, for queries that passed
    /// before and whose answer is bounded within the budget (see
    /// `api::answer_budget`).
    unbudgeted_schema: AppSchema,
    /// Requests run on `unbudgeted_schema`.
    unbudgeted: std::sync::atomic::AtomicU64,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The query limits (exports share the neighbourhood depth limit).
    pub limits: Limits,
    /// The bearer token that writes need; `None` disables writes.
    write_token: Option<String>,
    /// Parsed documents and persisted queries kept between requests.
    queries: query_cache::QueryCache,
    /// Query responses, kept until a write changes what they read.
    responses: responses::ResponseCache,
    /// How long a request waits for the `minGraphVersion` it asks for.
    consistency_wait: std::time::Duration,
    /// How long a client has to send a request's whole body.
    body_timeout: std::time::Duration,
    /// GraphQL executions allowed at once; more are refused with 503.
    max_in_flight: usize,
    /// How often a WebSocket is pinged.
    websocket_ping: std::time::Duration,
}

/// Connections one client address may hold open unless configured.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 256;

/// GraphQL executions allowed at once unless configured.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// GraphQL executions running now, over every worker.
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One running execution, counted for as long as it lives.
struct InFlight;

impl InFlight {
    /// A place among the running executions, if fewer than `max` run.
    fn enter(max: usize) -> Option<InFlight> {
        use std::sync::atomic::Ordering;
        if IN_FLIGHT.fetch_add(1, Ordering::SeqCst) >= max {
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(InFlight)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How long a client has to send a body unless configured.
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a request waits for its `minGraphVersion` unless configured.
pub const DEFAULT_CONSISTENCY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

pub use query_cache::DEFAULT_DOCUMENT_CACHE_BYTES;
pub use responses::DEFAULT_RESPONSE_CACHE_BYTES;

/// How many parsed documents (and, separately, persisted queries) are kept
/// unless configured otherwise.
pub const DEFAULT_DOCUMENT_CACHE_SIZE: usize = 1000;

/// How many query responses are kept unless configured otherwise.
pub const DEFAULT_RESPONSE_CACHE_SIZE: usize = 1000;

/// A response cache of `size` entries following `service`'s writes.
fn responses_of(service: &GraphService, size: usize) -> responses::ResponseCache {
    // Subscribed before the version is read. Writes are announced before
    // they are published, so one announced just before may still be
    // unpublished: the cache sees the gap at the next write and empties.
    let events = service.subscribe_ahead();
    responses::ResponseCache::new(size, events, service.snapshot().version())
}

impl AppState {
    /// State serving `service` with these limits; writes need `write_token`.
    pub fn new(
        service: Arc<GraphService>,
        limits: Limits,
        max_body_bytes: usize,
        write_token: Option<String>,
    ) -> Self {
        AppState {
            schema: api::schema(limits.clone()),
            validated_schema: api::schema_validating(
                limits.clone(),
                async_graphql::ValidationMode::Fast,
            ),
            unbudgeted_schema: api::schema_unbudgeted(limits.clone()),
            unbudgeted: std::sync::atomic::AtomicU64::new(0),
            limits,
            max_body_bytes,
            write_token: write_token.filter(|t| !t.is_empty()),
            queries: query_cache::QueryCache::new(DEFAULT_DOCUMENT_CACHE_SIZE),
            responses: responses_of(&service, DEFAULT_RESPONSE_CACHE_SIZE),
            consistency_wait: DEFAULT_CONSISTENCY_WAIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            websocket_ping: websocket::DEFAULT_PING_EVERY,
            service,
        }
    }

    /// Runs at most `max` GraphQL executions at once (503 OVERLOADED
    /// beyond).
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// Pings WebSockets every `every`, closing those silent for three.
    pub fn with_websocket_ping(mut self, every: std::time::Duration) -> Self {
        self.websocket_ping = every;
        self
    }

    /// Gives clients `timeout` to send a request's whole body.
    pub fn with_body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Waits at most `wait` for a request's `minGraphVersion`.
    pub fn with_consistency_wait(mut self, wait: std::time::Duration) -> Self {
        self.consistency_wait = wait;
        self
    }

    /// Keeps at most `size` parsed documents, `size` persisted queries and
    /// `size` validated requests; 0 turns all three off (persisted queries
    /// then always miss).
    pub fn with_document_cache(mut self, size: usize) -> Self {
        self.queries = query_cache::QueryCache::new(size);
        self
    }

    /// Keeps parsed documents of at most `bytes` (estimated) in all.
    pub fn with_document_cache_bytes(mut self, bytes: usize) -> Self {
        self.queries = std::mem::replace(&mut self.queries, query_cache::QueryCache::new(0))
            .with_parsed_bytes(bytes);
        self
    }

    /// Keeps up to `size` query responses (0: none).
    pub fn with_response_cache(mut self, size: usize) -> Self {
        self.responses = responses_of(&self.service, size);
        self
    }

    /// Keeps query responses of at most `bytes` (estimated) in all.
    pub fn with_response_cache_bytes(mut self, bytes: usize) -> Self {
        self.responses = self.responses.with_bytes(bytes);
        self
    }

    /// Queries answered from the response cache, and those looked up there
    /// but computed, since this state was made.
    pub fn response_cache_stats(&self) -> (u64, u64) {
        self.responses.stats()
    }

    /// Queries answered from the response cache by their body's bytes
    /// alone, without parsing them, since this state was made.
    pub fn response_cache_body_hits(&self) -> u64 {
        self.responses.body_hits()
    }

    /// Requests that skipped the validation rules because the same request
    /// passed them before, and those validated, since this state was made.
    pub fn validation_cache_stats(&self) -> (u64, u64) {
        self.queries.validated_stats()
    }

    /// Requests that ran without the field budget's step on each field,
    /// their answer bounded within the budget before they ran, since this
    /// state was made.
    pub fn unbudgeted_requests(&self) -> u64 {
        self.unbudgeted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What the request's `Authorization` header allows. The token is
    /// compared in constant time and never logged.
    pub fn write_access(&self, req: &HttpRequest) -> WriteAccess {
        let Some(expected) = &self.write_token else {
            return WriteAccess::Disabled;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        match given {
            None => WriteAccess::Missing,
            Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
                WriteAccess::Granted
            }
            Some(_) => WriteAccess::Invalid,
        }
    }
}

/// The CORS policy: no cross-origin access unless origins are configured.
fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allowed_methods(["GET", "POST", "OPTIONS"])
        .allowed_headers([header::CONTENT_TYPE, header::ACCEPT, header::AUTHORIZATION])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        base.allow_any_origin()
    } else {
        origins
            .iter()
            .fold(base, |cors, origin| cors.allowed_origin(origin))
    }
}

/// The application, used by the server and by the tests alike.
pub fn app(
    state: web::Data<AppState>,
    cors_origins: &[String],
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(middleware::Condition::new(
            !cors_origins.is_empty(),
            cors(cors_origins),
        ))
        .wrap_fn(request_span)
        .service(
            web::resource("/graphql")
                .route(web::post().to(graphql::post))
                .route(web::get().to(graphql::get))
                .default_service(web::to(graphql::method_not_allowed)),
        )
        .route("/export/{format}", web::get().to(export::export))
        .service(pages::resource("/", pages::explorer))
        .service(pages::resource("/graphiql", pages::graphiql))
        .service(pages::resource("/assets/{file}", pages::assets))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics_text))
        .default_service(web::to(not_found))
}

/// Runs each request in a `request` span at debug level, with its method
/// and path. At the default level (`info`) the span is disabled, and a
/// disabled span costs a check of a cached flag: a response-cache hit
/// costs about what the bytes cost to send, not what formatting a span's
/// fields costs. Errors are logged where they happen, at `warn` or
/// `error`, so nothing is lost at `info`.
fn request_span<S, B>(
    req: ServiceRequest,
    service: &S,
) -> tracing::instrument::Instrumented<S::Future>
where
    S: actix_web::dev::Service<
        ServiceRequest,
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    use tracing::Instrument;
    let span = tracing::debug_span!("request", method = %req.method(), path = %req.path());
    service.call(req).instrument(span)
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let g = state.service.snapshot();
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "store": state.service.engine(),
        "ready": state.service.ready(),
        "graphVersion": g.version(),
        "entities": g.entity_count(),
        "relations": g.relation_count(),
        "documents": g.documents().len(),
    }))
}

/// For load balancers: 200 once the graph is loaded, caught up with the
/// store and copied for writes; 503, saying why, before that and while the
/// store cannot be reached.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let version = state.service.snapshot().version();
    match state.service.not_ready() {
        None => HttpResponse::Ok().json(json!({ "status": "ready", "graphVersion": version })),
        Some(why) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "not ready",
            "reason": why.reason(),
            "graphVersion": version,
        })),
    }
}

async fn metrics_text(state: web::Data<AppState>) -> HttpResponse {
    match crate::metrics::render(&state.service) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "metrics are unavailable");
            HttpResponse::ServiceUnavailable().json(graphql::error_body(
                "metrics are unavailable",
                api::error::code::INTERNAL,
            ))
        }
    }
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(graphql::error_body(
        "not found: the API is at /graphql, the explorer at /, GraphiQL at /graphiql",
        "NOT_FOUND",
    ))
}
