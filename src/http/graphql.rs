//! GraphQL over HTTP, per the GraphQL-over-HTTP spec: content negotiation,
//! status codes, request validation and the operation-type check for GET.
//! async-graphql's stock handler ignores `Accept`, answers 200 to request
//! errors and would run mutations over GET, so this layer owns all three.

use super::query_cache::{request_key, Passed, PersistedError};
use super::AppState;
use crate::api::answer_budget::never_exceeded;
use crate::api::cost::AnswerBound;
use crate::api::error::{code, ensure_code};
use crate::api::reads::Reads;
use crate::api::{WriteAccess, WrittenVersion};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};
use async_graphql::{ServerError, Variables};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The response media types a client can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: status codes tell request errors.
    GraphqlResponse,
    /// `application/json`: the legacy type, 200 for every well-formed request.
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept` (actix's typed header, `mime`'s
/// types): the highest-q acceptable type, preferring graphql-response+json
/// on ties; `*/*`, `application/*` and a missing or empty header get
/// application/json. `None` when nothing acceptable, or the header does
/// not parse.
fn negotiate(req: &HttpRequest) -> Option<Media> {
    use actix_web::http::header::Header;
    if req.headers().get(header::ACCEPT).is_none() {
        return Some(Media::Json);
    }
    let accept = header::Accept::parse(req).ok()?;
    if accept.is_empty() {
        return Some(Media::Json);
    }
    let mut best: Option<(header::Quality, Media)> = None;
    for item in accept.iter() {
        let media = match (item.item.type_(), item.item.subtype(), item.item.suffix()) {
            (mime::APPLICATION, sub, Some(mime::JSON)) if sub == "graphql-response" => {
                Media::GraphqlResponse
            }
            (mime::APPLICATION, mime::JSON, None)
            | (mime::APPLICATION, mime::STAR, None)
            | (mime::STAR, mime::STAR, None) => Media::Json,
            _ => continue,
        };
        if item.quality == header::Quality::ZERO {
            continue;
        }
        let better = match best {
            None => true,
            Some((q, m)) => {
                item.quality > q
                    || (item.quality == q && media == Media::GraphqlResponse && m != media)
            }
        };
        if better {
            best = Some((item.quality, media));
        }
    }
    best.map(|(_, m)| m)
}

pub(super) fn error_body(message: &str, code: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

/// A request the HTTP layer refuses before GraphQL sees it.
fn refuse(status: StatusCode, media: Media, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(media.content_type())
        .body(error_body(message, code).to_string())
}

/// A request error the API layer raised before anything ran, sent as it
/// is: its code and any other extensions (a refused cost) travel with it.
fn refuse_error(media: Media, error: ServerError) -> HttpResponse {
    let body = ResponseBody {
        data: None,
        errors: std::slice::from_ref(&error),
        extensions: &BTreeMap::new(),
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => HttpResponse::build(request_error_status(media))
            .content_type(media.content_type())
            .body(bytes),
        Err(_) => refuse(
            request_error_status(media),
            media,
            &error.message,
            code::BAD_REQUEST,
        ),
    }
}

fn not_acceptable() -> HttpResponse {
    HttpResponse::NotAcceptable()
        .content_type(Media::Json.content_type())
        .body(
            error_body(
                "cannot answer in any type the Accept header allows; use application/graphql-response+json or application/json",
                code::BAD_REQUEST,
            )
            .to_string(),
        )
}

/// Answers any method on /graphql other than GET and POST.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, POST"))
        .content_type(Media::Json.content_type())
        .body(error_body("/graphql takes GET and POST", code::BAD_REQUEST).to_string())
}

/// The parameters of a GraphQL request, before they are trusted. A POST
/// body is read into it directly: no map of the whole object is built, and
/// other members are skipped.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    query: Option<Value>,
    operation_name: Option<Value>,
    variables: Option<Value>,
    extensions: Option<Value>,
}

impl Params {
    /// Checks the parameter types and builds the GraphQL request.
    fn into_request(self) -> Result<async_graphql::Request, String> {
        // A persisted query may come as its hash alone.
        let persisted = self
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("persistedQuery").is_some());
        let query = match self.query {
            Some(Value::String(q)) => q,
            None | Some(Value::Null) if persisted => String::new(),
            None | Some(Value::Null) => return Err("the request has no `query`".into()),
            Some(_) => return Err("`query` must be a string".into()),
        };
        let mut request = async_graphql::Request::new(query);
        match self.operation_name {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) => request = request.operation_name(name),
            Some(_) => return Err("`operationName` must be a string".into()),
        }
        match self.variables {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => request = request.variables(Variables::from_json(v)),
            Some(_) => return Err("`variables` must be an object".into()),
        }
        match self.extensions {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let v = async_graphql::Value::from_json(v).map_err(|e| e.to_string())?;
                    request.extensions.insert(k, v);
                }
            }
            Some(_) => return Err("`extensions` must be an object".into()),
        }
        Ok(request)
    }
}

/// `POST /graphql` with a JSON body.
pub async fn post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(media) = negotiate(&req) else {
        return not_acceptable();
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        let message = if content_type.is_empty() {
            "POST /graphql needs `Content-Type: application/json`".to_owned()
        } else {
            format!(
                "unsupported content type `{content_type}`; POST /graphql takes application/json"
            )
        };
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            &message,
            code::BAD_REQUEST,
        );
    }
    let charset_ok = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| {
            p.trim()
                .to_ascii_lowercase()
                .strip_prefix("charset=")
                .map(str::to_owned)
        })
        .all(|cs| cs.trim_matches('"') == "utf-8");
    if !charset_ok {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "request bodies must be UTF-8",
            code::BAD_REQUEST,
        );
    }
    let limit = state.max_body_bytes;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            &format!("request body exceeds the limit of {limit} bytes"),
            "PAYLOAD_TOO_LARGE",
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let mut body = web::BytesMut::new();
    let read = async {
        while let Some(chunk) = payload.next().await {
            let Ok(chunk) = chunk else {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    media,
                    "the request body could not be read",
                    code::BAD_REQUEST,
                ));
            };
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    futures_util::pin_mut!(read);
    // A small body nearly always came with its headers: read it without
    // arming a timer, and arm one only for a body still on its way.
    let arrived = match futures_util::poll!(&mut read) {
        std::task::Poll::Ready(done) => Ok(done),
        std::task::Poll::Pending => tokio::time::timeout(state.body_timeout, read).await,
    };
    match arrived {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => return refused,
        Err(_) => {
            let mut late = refuse(
                StatusCode::REQUEST_TIMEOUT,
                media,
                &format!(
                    "the request body did not arrive within {} ms",
                    state.body_timeout.as_millis()
                ),
                code::REQUEST_TIMEOUT,
            );
            // The rest of the body would keep the connection: a chunked one
            // sent a byte at a time never ends. Reading stops here, and the
            // connection closes once the answer is out.
            late.head_mut()
                .set_connection_type(actix_http::ConnectionType::Close);
            if let Some(wire) = req.conn_data::<super::wire::Closer>() {
                wire.stop_reading();
            }
            return late;
        }
    }
    if let Some(hit) = answer_by_body(&state, &body, media) {
        return hit;
    }
    let params = match serde_json::from_slice::<Params>(&body) {
        Ok(params) => params,
        // Valid JSON of another type than an object.
        Err(e) if e.is_data() && body.trim_ascii_start().first() != Some(&b'{') => {
            return refuse(
                StatusCode::BAD_REQUEST,
                media,
                "the request body must be a JSON object",
                code::BAD_REQUEST,
            );
        }
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                media,
                &format!("the request body is not valid JSON: {e}"),
                code::BAD_REQUEST,
            );
        }
    };
    match params.into_request() {
        Ok(request) => execute(&state, &req, request, media, Sent::Post(&body)).await,
        Err(message) => refuse(StatusCode::BAD_REQUEST, media, &message, code::BAD_REQUEST),
    }
}

/// `GET /graphql`: a WebSocket upgrade (graphql-transport-ws, for
/// subscriptions), or `?query=…&variables=…&operationName=…`.
pub async fn get(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return websocket(&req, payload, &state);
    }
    let Some(media) = negotiate(&req) else {
        return not_acceptable();
    };
    let Ok(web::Query(mut map)) =
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            media,
            "the query string is malformed",
            code::BAD_REQUEST,
        );
    };
    let json_param = |name: &str, raw: Option<String>| -> Result<Option<Value>, String> {
        raw.map(|s| serde_json::from_str(&s).map_err(|e| format!("`{name}` is not JSON: {e}")))
            .transpose()
    };
    let params = (|| -> Result<Params, String> {
        Ok(Params {
            query: map.remove("query").map(Value::String),
            operation_name: map.remove("operationName").map(Value::String),
            variables: json_param("variables", map.remove("variables"))?,
            extensions: json_param("extensions", map.remove("extensions"))?,
        })
    })();
    match params.and_then(Params::into_request) {
        Ok(request) => execute(&state, &req, request, media, Sent::Get).await,
        Err(message) => refuse(StatusCode::BAD_REQUEST, media, &message, code::BAD_REQUEST),
    }
}

/// The operation a request would run, if its document names one
/// unambiguously.
fn selected_operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    }
}

/// The first required variable (non-null, no default) the request does not
/// supply. Variable coercion failures are request errors in the GraphQL
/// spec, but async-graphql reports a missing variable as a field error.
fn missing_variable(op: &OperationDefinition, variables: &Variables) -> Option<String> {
    op.variable_definitions.iter().find_map(|v| {
        let v = &v.node;
        let supplied = variables
            .get(v.name.node.as_str())
            .is_some_and(|value| *value != async_graphql::Value::Null);
        (!v.var_type.node.nullable && v.default_value.is_none() && !supplied)
            .then(|| v.name.node.to_string())
    })
}

/// The most errors one answer lists; the rest are counted in one more.
const MAX_ERRORS: usize = 20;

/// 503 OVERLOADED with a `Retry-After` of `retry_after` seconds: the answer
/// past a bound of what the server takes at once.
fn overloaded(media: Media, message: &str, retry_after: u32) -> HttpResponse {
    let mut response = refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        media,
        message,
        code::OVERLOADED,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    response
}

/// The answer past `--max-in-flight`.
fn too_busy(media: Media) -> HttpResponse {
    overloaded(
        media,
        "the server is running as many requests as it takes; retry shortly",
        1,
    )
}

/// An error's `extensions.code`, if it has one.
fn code_of(e: &ServerError) -> Option<&async_graphql::Value> {
    e.extensions.as_ref().and_then(|x| x.get("code"))
}

/// The status of a request error: only graphql-response+json tells it by
/// status; application/json answers 200 with the error in the body.
fn request_error_status(media: Media) -> StatusCode {
    match media {
        Media::GraphqlResponse => StatusCode::BAD_REQUEST,
        Media::Json => StatusCode::OK,
    }
}

/// How a request came: over GET (queries only), or POSTed as these body
/// bytes.
#[derive(Clone, Copy)]
enum Sent<'b> {
    Get,
    Post(&'b [u8]),
}

/// The response kept for a POSTed body whose bytes were answered from the
/// response cache before, found without parsing them (see `responses`).
fn answer_by_body(state: &AppState, body: &[u8], media: Media) -> Option<HttpResponse> {
    if !state.responses.enabled() || body.len() > super::responses::MAX_REMEMBERED_BODY {
        return None;
    }
    let snapshot = state.service.snapshot();
    let started = std::time::Instant::now();
    let (bytes, operation) = state.responses.get_by_body(&snapshot, body)?;
    Some(kept_answer(media, bytes, operation.as_deref(), started))
}

/// A response kept in the response cache, sent as the answer to a query
/// that `started` then, and counted in `/metrics`.
fn kept_answer(
    media: Media,
    bytes: web::Bytes,
    operation: Option<&str>,
    started: std::time::Instant,
) -> HttpResponse {
    crate::metrics::observe_request(operation, "query", true, started.elapsed());
    HttpResponse::Ok()
        .content_type(media.content_type())
        .body(bytes)
}

/// Runs a GraphQL request, in named steps: what its extensions ask for
/// (a persisted query, a version to wait for), the response cache, the
/// document, the operation's checks, execution, and the answer.
async fn execute(
    state: &AppState,
    req: &HttpRequest,
    mut request: async_graphql::Request,
    media: Media,
    sent: Sent<'_>,
) -> HttpResponse {
    // Only the body of a request without extensions is remembered with
    // its key: those change what the request is beyond its key.
    let plain = request.extensions.is_empty();
    if let Err(refused) = take_persisted(state, &mut request, media) {
        return *refused;
    }
    if let Err(refused) = wait_for_version(state, &mut request, media).await {
        return *refused;
    }
    // One snapshot for the whole request: it never sees half a write.
    let snapshot = state.service.snapshot();
    let started = std::time::Instant::now();
    // One key for both the response cache and the validated requests.
    let key = request_key(
        &request.query,
        request.operation_name.as_deref(),
        &request.variables,
    );
    // Only responses of queries that ran without errors are kept, so a hit
    // needs neither parsing nor the checks below: they passed before.
    let cache_key = key.filter(|_| state.responses.enabled());
    if let Some(bytes) = cache_key
        .as_ref()
        .and_then(|k| state.responses.get(&snapshot, k))
    {
        let operation = request.operation_name.as_deref();
        if let (true, Sent::Post(body), Some(key)) = (plain, sent, cache_key) {
            state.responses.remember_body(body, key, operation);
        }
        return kept_answer(media, bytes, operation, started);
    }
    if let Err(refused) = prepare_document(state, &mut request, media) {
        return *refused;
    }
    let op_type = match check_operation(&mut request, media, matches!(sent, Sent::Get)) {
        Ok(op_type) => op_type,
        Err(refused) => return *refused,
    };
    // Only queries that ran are ever kept in the response cache, so the
    // look-up came before parsing; now the key is kept only for queries.
    let is_query = op_type == Some(OperationType::Query);
    let cache_key = cache_key.filter(|_| is_query);
    let passed = key.and_then(|k| state.queries.validated(&k));
    let bound = match passed {
        Some(passed) => passed.bound,
        None if is_query && key.is_some() => answer_bound(state, &mut request),
        None => None,
    };
    let budget = &state.limits;
    let unbudgeted = passed.is_some()
        && is_query
        && bound.is_some_and(|b| {
            never_exceeded(
                b,
                budget.max_resolved_fields,
                budget.max_response_bytes,
                snapshot.longest_text(),
            )
        });
    let run = Run {
        read_version: snapshot.version(),
        written: Arc::new(WrittenVersion::default()),
        // What a query that may be kept reads, so that only writes that
        // change it drop it.
        reads: cache_key.map(|_| (Arc::new(Reads::default()), snapshot.clone())),
        validated: passed.is_some(),
    };
    let request = attach(state, req, request, op_type, snapshot, &run);
    let schema = if unbudgeted {
        state.unbudgeted.fetch_add(1, Ordering::Relaxed);
        &state.unbudgeted_schema
    } else if run.validated {
        &state.validated_schema
    } else {
        &state.schema
    };
    // Shed load at once rather than queue without bound: the cache hits
    // above cost nothing and are never refused.
    let Some(_running) = super::InFlight::enter(state.max_in_flight) else {
        return too_busy(media);
    };
    let operation_name = request.operation_name.clone();
    let response = schema.execute(request).await;
    let kind = match op_type {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "invalid",
    };
    crate::metrics::observe_request(
        operation_name.as_deref(),
        kind,
        response.errors.is_empty(),
        started.elapsed(),
    );
    let answer = Answer::of(response, &run);
    // A document that failed validation answers a request error, so any
    // other answer passed it.
    if let (false, false, Some(key)) = (run.validated, answer.request_error, key) {
        state.queries.keep_validated(key, Passed { bound });
    }
    answer.send(state, media, cache_key, run.reads)
}

/// The bound of a query's answer (see `answer_budget`), worked out once,
/// when the query first passes its checks, and kept with it.
fn answer_bound(state: &AppState, request: &mut async_graphql::Request) -> Option<AnswerBound> {
    let variables = std::mem::take(&mut request.variables);
    let bound = request.parsed_query().ok().and_then(|doc| {
        crate::api::cost::MODEL.bound(doc, &variables, state.limits.default_page_size)
    });
    request.variables = variables;
    bound
}

/// A step of [`execute`]: its value, or the answer that ends the request
/// (boxed: an answer is large beside most values).
type Step<T> = Result<T, Box<HttpResponse>>;

/// Takes the extension `name` out of the request. Most requests have no
/// extensions, and then no key is hashed.
fn take_extension(
    request: &mut async_graphql::Request,
    name: &str,
) -> Option<async_graphql::Value> {
    if request.extensions.is_empty() {
        return None;
    }
    request.extensions.remove(name)
}

/// Replaces a persisted query's hash with its text (or keeps the text
/// sent with it for next time).
fn take_persisted(
    state: &AppState,
    request: &mut async_graphql::Request,
    media: Media,
) -> Step<()> {
    let Some(extension) = take_extension(request, "persistedQuery") else {
        return Ok(());
    };
    let extension = extension.into_json().unwrap_or(Value::Null);
    match state.queries.resolve_persisted(&extension, &request.query) {
        Ok(text) => {
            request.query = text;
            Ok(())
        }
        Err(PersistedError::NotFound) => Err(Box::new(refuse(
            request_error_status(media),
            media,
            "PersistedQueryNotFound",
            code::PERSISTED_QUERY_NOT_FOUND,
        ))),
        Err(PersistedError::Invalid(message)) => Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            media,
            &message,
            code::BAD_REQUEST,
        ))),
    }
}

/// Waits, within the consistency wait, until this instance has applied
/// the `extensions.minGraphVersion` asked for.
async fn wait_for_version(
    state: &AppState,
    request: &mut async_graphql::Request,
    media: Media,
) -> Step<()> {
    let Some(min) = take_extension(request, "minGraphVersion") else {
        return Ok(());
    };
    let Some(min) = min.into_json().ok().and_then(|v| v.as_u64()) else {
        return Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            media,
            "`extensions.minGraphVersion` must be a non-negative integer",
            code::BAD_REQUEST,
        )));
    };
    let wait = state.consistency_wait;
    // A request waiting for its version holds a place like one running.
    let behind = state.service.snapshot().version() < min;
    let waiting = behind.then(|| super::InFlight::enter(state.max_in_flight));
    if matches!(waiting, Some(None)) {
        return Err(Box::new(too_busy(media)));
    }
    if behind && !state.service.reached(min, wait).await {
        let at = state.service.snapshot().version();
        return Err(Box::new(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            media,
            &format!(
                "this instance is at graph version {at} and did not reach {min} within \
                 {} ms; retry, or ask another instance",
                wait.as_millis()
            ),
            code::VERSION_NOT_REACHED,
        )));
    }
    Ok(())
}

/// Parses the document once (or takes it from the cache) and keeps it in
/// the request, which execution reuses; its shape is checked before it is
/// kept or validated, so a refused document leaves nothing behind. A
/// document that does not parse is left for execution to report.
fn prepare_document(
    state: &AppState,
    request: &mut async_graphql::Request,
    media: Media,
) -> Step<()> {
    if let Some(doc) = state.queries.parsed(&request.query) {
        request.set_parsed_query(doc);
        return Ok(());
    }
    crate::api::shape::scan(&request.query).map_err(|e| Box::new(refuse_error(media, e)))?;
    if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
        let limits = &state.limits;
        crate::api::shape::check(&doc, limits.max_complexity, limits.max_depth)
            .map_err(|e| Box::new(refuse_error(media, e)))?;
        state.queries.keep_parsed(&request.query, &doc);
        request.set_parsed_query(doc);
    }
    Ok(())
}

/// The operation's type, once the checks that HTTP owns pass: only
/// queries over GET, and every required variable given.
fn check_operation(
    request: &mut async_graphql::Request,
    media: Media,
    via_get: bool,
) -> Step<Option<OperationType>> {
    let operation_name = request.operation_name.clone();
    let variables = request.variables.clone();
    let (op_type, missing) = match request.parsed_query() {
        Ok(doc) => match selected_operation(doc, operation_name.as_deref()) {
            Some(op) => (Some(op.ty), missing_variable(op, &variables)),
            None => (None, None),
        },
        Err(_) => (None, None),
    };
    if via_get && op_type.is_some_and(|ty| ty != OperationType::Query) {
        return Err(Box::new(
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "POST"))
                .content_type(media.content_type())
                .body(
                    error_body(
                        "only queries may be sent with GET; send mutations with POST",
                        code::BAD_REQUEST,
                    )
                    .to_string(),
                ),
        ));
    }
    if let Some(name) = missing {
        return Err(Box::new(refuse(
            request_error_status(media),
            media,
            &format!("variable `${name}` is required but was not given"),
            code::VALIDATION_FAILED,
        )));
    }
    Ok(op_type)
}

/// What one execution carries besides the request.
struct Run {
    /// The version of the snapshot the request reads.
    read_version: u64,
    /// The version the request's last write produced.
    written: Arc<WrittenVersion>,
    /// For a query that may be kept: what it reads, and on which snapshot.
    reads: Option<(Arc<Reads>, Arc<crate::graph::Graph>)>,
    /// Whether the request passed validation before.
    validated: bool,
}

/// The request with what its resolvers read: the snapshot (a mutation
/// does not hold it while its write waits: the write may need the copy of
/// the graph it is), the service, the write access and the version cell.
fn attach(
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
    op_type: Option<OperationType>,
    snapshot: Arc<crate::graph::Graph>,
    run: &Run,
) -> async_graphql::Request {
    let request = match op_type {
        Some(OperationType::Mutation) => {
            drop(snapshot);
            request
        }
        _ => request.data(snapshot),
    };
    let request = match &run.reads {
        Some((r, _)) => request.data(r.clone()),
        None => request,
    };
    request
        .data(state.service.clone())
        .data(state.write_access(req))
        .data(run.written.clone())
}

/// An executed request's answer, as it will be sent.
struct Answer {
    response: async_graphql::Response,
    errors: Vec<ServerError>,
    /// The document never ran: no data, and errors with no path.
    request_error: bool,
    status: StatusCode,
}

impl Answer {
    /// Codes on every error, one error past the field budget, at most
    /// [`MAX_ERRORS`], the `graphVersion` extension and the status.
    fn of(mut response: async_graphql::Response, run: &Run) -> Answer {
        let version = run.written.0.load(Ordering::SeqCst).max(run.read_version);
        response
            .extensions
            .insert("graphVersion".into(), async_graphql::Value::from(version));
        // A request error (the document never ran) has no data and no
        // error with a path; such responses omit `data`, per the spec.
        let request_error = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        let fallback = if request_error {
            code::VALIDATION_FAILED
        } else {
            code::BAD_USER_INPUT
        };
        let mut errors: Vec<ServerError> = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| ensure_code(e, fallback))
            .collect();
        // Past the field budget every remaining field failed alike: answer
        // with one error and no partial data rather than thousands of
        // copies.
        let over_budget = errors
            .iter()
            .position(|e| has_code(e, code::BUDGET_EXCEEDED));
        if let Some(i) = over_budget {
            let mut first = errors.swap_remove(i);
            first.path.clear();
            first.locations.clear();
            errors = vec![first];
            response.data = async_graphql::Value::Null;
        }
        // A cap on errors: a document of many mistakes gets the first ones
        // and a count, not an answer as large as itself.
        if errors.len() > MAX_ERRORS {
            let more = errors.len() - MAX_ERRORS;
            errors.truncate(MAX_ERRORS);
            let code = errors
                .first()
                .and_then(code_of)
                .and_then(|c| match c {
                    async_graphql::Value::String(c) => Some(c.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| fallback.to_owned());
            let last = ServerError::new(format!("… and {more} more errors"), None);
            errors.push(ensure_code(last, &code));
        }
        let status = if errors.iter().any(|e| has_code(e, code::STORE_UNAVAILABLE)) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        Answer {
            response,
            errors,
            request_error,
            status,
        }
    }

    /// Serialises the answer straight from the response values (no
    /// intermediate JSON tree) and keeps it in the response cache when it
    /// may be.
    fn send(
        self,
        state: &AppState,
        media: Media,
        cache_key: Option<super::query_cache::Key>,
        reads: Option<(Arc<Reads>, Arc<crate::graph::Graph>)>,
    ) -> HttpResponse {
        let status = if self.status == StatusCode::OK
            && self.request_error
            && media == Media::GraphqlResponse
        {
            StatusCode::BAD_REQUEST
        } else {
            self.status
        };
        let body = ResponseBody {
            data: (!self.request_error).then_some(&self.response.data),
            errors: &self.errors,
            extensions: &self.response.extensions,
        };
        let bytes = match serde_json::to_vec(&body) {
            Ok(bytes) => web::Bytes::from(bytes),
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a GraphQL response");
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    media,
                    "the response could not be serialised",
                    code::INTERNAL,
                );
            }
        };
        if let (Some(key), Some((reads, g))) = (cache_key, reads) {
            if self.errors.is_empty() && status == StatusCode::OK {
                let depends = reads.dependencies(&g);
                state.responses.put(&g, key, bytes.clone(), depends);
            }
        }
        HttpResponse::build(status)
            .content_type(media.content_type())
            .body(bytes)
    }
}

/// Whether an error carries `code`.
fn has_code(e: &ServerError, code: &str) -> bool {
    code_of(e).is_some_and(|c| *c == async_graphql::Value::from(code))
}

/// A GraphQL response as sent: `data` left out of request errors, and
/// `errors` and `extensions` only when there are any.
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// Subscriptions (and queries) over graphql-transport-ws. Writes are not
/// taken over a WebSocket: they carry no Authorization header there.
fn websocket(req: &HttpRequest, payload: web::Payload, state: &AppState) -> HttpResponse {
    let mut data = async_graphql::Data::default();
    data.insert(state.service.clone());
    data.insert(WriteAccess::Missing);
    match super::websocket::serve(
        req,
        payload,
        state.schema.clone(),
        data,
        state.websocket_ping,
    ) {
        Ok(response) => response,
        Err(super::websocket::Refused::Full) => overloaded(
            Media::Json,
            "the server holds as many WebSocket connections as it takes; retry shortly",
            5,
        ),
        Err(super::websocket::Refused::Bad(e)) => HttpResponse::BadRequest()
            .content_type(Media::Json.content_type())
            .body(
                error_body(
                    &format!(
                        "WebSocket upgrade refused: {e}; use the graphql-transport-ws protocol"
                    ),
                    code::BAD_REQUEST,
                )
                .to_string(),
            ),
    }
}
