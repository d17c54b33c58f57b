//! The one place where errors become wire errors with a stable
//! `extensions.code`.

use crate::graph::GraphError;
use crate::live::WriteError;
use crate::store::StoreError;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    ErrorExtensionValues, ErrorExtensions, ServerError, ServerResult, ValidationResult, Variables,
};

/// Codes that clients can rely on.
pub mod code {
    /// An id that names nothing.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The write would clash with what exists (duplicate id, attached relations).
    pub const CONFLICT: &str = "CONFLICT";
    /// The write needs a valid bearer token.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// An argument out of range or otherwise unusable.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// The document is not valid GraphQL syntax.
    pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not validate against the schema.
    pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The document nests deeper than allowed.
    pub const DEPTH_LIMIT: &str = "QUERY_TOO_DEEP";
    /// The document asks for more work than allowed.
    pub const COMPLEXITY_LIMIT: &str = "QUERY_TOO_COMPLEX";
    /// The answer would be larger than a request may ask for.
    pub const BUDGET_EXCEEDED: &str = "BUDGET_EXCEEDED";
    /// The HTTP request itself is unusable.
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// A persisted query's hash is not known: send the text with it.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// The database cannot be reached: the write was not made; retry
    /// shortly (HTTP 503).
    pub const STORE_UNAVAILABLE: &str = "STORE_UNAVAILABLE";
    /// The instance has not applied the `extensions.minGraphVersion` asked
    /// for within its consistency wait (HTTP 503).
    pub const VERSION_NOT_REACHED: &str = "VERSION_NOT_REACHED";
    /// The request's body did not arrive in time (HTTP 408).
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// The server is at a limit of what it takes at once (connections,
    /// work in flight); retry after the `Retry-After` header (HTTP 503).
    pub const OVERLOADED: &str = "OVERLOADED";
    /// A fault of the service; details are logged, not returned.
    pub const INTERNAL: &str = "INTERNAL_SERVER_ERROR";
}

/// Errors the API reports to clients, each with its code: the API layer's
/// one error type, and [`ApiError::extensions`] the one place that writes
/// `extensions.code`. Deliberately not `Display`: that keeps
/// async-graphql's blanket `From<Display>` (which drops the code) from
/// applying, so every conversion goes through `extend`.
#[derive(Debug)]
pub enum ApiError {
    /// No item has this id.
    NotFound {
        /// "entity", "relation", "node".
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// Something a write names does not exist, in the graph's own words.
    Missing(String),
    /// An argument is out of range.
    BadInput(String),
    /// The write would clash with what exists.
    Conflict(String),
    /// The write needs a valid bearer token.
    Unauthenticated(String),
    /// The store cannot take writes now; retrying later may succeed.
    StoreUnavailable(String),
    /// An analysis or the answer ran over its time, size or field budget.
    BudgetExceeded(String),
    /// The document asks for more work than allowed; with its cost and the
    /// limit when they are known.
    TooComplex {
        /// What the client is told.
        message: String,
        /// The document's cost and the most allowed.
        cost: Option<(usize, usize)>,
    },
    /// The document nests deeper than allowed.
    TooDeep(String),
    /// The document is not valid GraphQL syntax.
    ParseFailed(String),
    /// A fault of the service.
    Internal(String),
}

impl ApiError {
    /// Not found, for an entity id.
    pub fn no_entity(id: &str) -> Self {
        ApiError::NotFound {
            what: "entity",
            id: id.to_owned(),
        }
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            ApiError::NotFound { what, id } => format!("no {what} with id `{id}`"),
            ApiError::BadInput(m)
            | ApiError::Missing(m)
            | ApiError::Conflict(m)
            | ApiError::Unauthenticated(m)
            | ApiError::StoreUnavailable(m)
            | ApiError::BudgetExceeded(m)
            | ApiError::TooComplex { message: m, .. }
            | ApiError::TooDeep(m)
            | ApiError::ParseFailed(m) => m.clone(),
            ApiError::Internal(_) => "internal error".to_owned(),
        }
    }

    /// The code clients rely on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::Missing(_) => code::NOT_FOUND,
            ApiError::BadInput(_) => code::BAD_USER_INPUT,
            ApiError::Conflict(_) => code::CONFLICT,
            ApiError::Unauthenticated(_) => code::UNAUTHENTICATED,
            ApiError::StoreUnavailable(_) => code::STORE_UNAVAILABLE,
            ApiError::BudgetExceeded(_) => code::BUDGET_EXCEEDED,
            ApiError::TooComplex { .. } => code::COMPLEXITY_LIMIT,
            ApiError::TooDeep(_) => code::DEPTH_LIMIT,
            ApiError::ParseFailed(_) => code::PARSE_FAILED,
            ApiError::Internal(_) => code::INTERNAL,
        }
    }

    /// The error's `extensions`: its code, and for a refused cost the cost
    /// and the limit.
    fn extensions(&self) -> ErrorExtensionValues {
        let mut ext = ErrorExtensionValues::default();
        set_code(&mut ext, self.code());
        if let ApiError::TooComplex {
            cost: Some((cost, max)),
            ..
        } = self
        {
            ext.set("cost", *cost as u64);
            ext.set("maxCost", *max as u64);
        }
        ext
    }

    /// The error of a request that never ran (a refused document): no
    /// path and no location.
    pub fn into_server_error(self) -> ServerError {
        self.log();
        let mut e = ServerError::new(self.message(), None);
        e.extensions = Some(self.extensions());
        e
    }

    fn log(&self) {
        if let ApiError::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        self.log();
        let mut e = async_graphql::Error::new(self.message());
        e.extensions = Some(self.extensions());
        e
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.extend()
    }
}

impl From<crate::graph::BadFilter> for ApiError {
    fn from(e: crate::graph::BadFilter) -> Self {
        ApiError::BadInput(e.to_string())
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Refused(g) => match &g {
                GraphError::DuplicateId { .. }
                | GraphError::HasRelations { .. }
                | GraphError::MergeBlocked(_) => ApiError::Conflict(g.to_string()),
                GraphError::NotFound { .. } | GraphError::DanglingEnd { .. } => {
                    ApiError::Missing(g.to_string())
                }
                _ => ApiError::BadInput(g.to_string()),
            },
            // An instance that can no longer follow the store is
            // unavailable for writes until restarted; another instance can
            // take them.
            WriteError::Store(e @ (StoreError::Unavailable(_) | StoreError::Pruned { .. })) => {
                ApiError::StoreUnavailable(e.to_string())
            }
            WriteError::Store(e @ StoreError::Conflict(_)) => ApiError::Conflict(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Writes `code` into an error's extensions: the one place that does.
fn set_code(ext: &mut ErrorExtensionValues, code: &str) {
    ext.set("code", code);
}

fn with_code(mut err: ServerError, code: &str) -> ServerError {
    let has_code = err
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if !has_code {
        let mut ext = err.extensions.take().unwrap_or_default();
        set_code(&mut ext, code);
        err.extensions = Some(ext);
    }
    err
}

/// The longest parse error message returned, in bytes.
const MAX_MESSAGE: usize = 300;

/// The checks of a request's document, which also give every
/// request-level error (syntax, validation, depth and complexity limits)
/// an `extensions.code`; async-graphql reports them with a message only.
/// A parsed document's shape ([`super::shape`]) is checked before
/// validation expands it, and its cost ([`super::cost`]) once validation
/// has passed, before anything runs. One per request, run by the
/// schema's extension ([`super::guards`]).
pub(super) struct DocumentChecks {
    /// The complexity limit, which bounds an operation's expanded fields.
    max_complexity: usize,
    /// The depth limit: fields within fields, through fragments.
    max_depth: usize,
    /// Whether this very request (text, operation and variables) passed
    /// the checks before: then its text, shape and cost need no second
    /// look, as they are what they were.
    passed_before: bool,
    /// The request's cost, worked out with the parsed document and checked
    /// once validation has passed, so that a document too deep is told so
    /// rather than that it costs too much.
    cost: std::sync::atomic::AtomicUsize,
}

impl DocumentChecks {
    /// Checks against these limits, for a request that `passed_before` or
    /// not.
    pub(super) fn new(max_complexity: usize, max_depth: usize, passed_before: bool) -> Self {
        DocumentChecks {
            max_complexity,
            max_depth,
            passed_before,
            cost: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Before the text is parsed: its nesting, which the parser would
    /// follow by recursion.
    pub(super) fn before_parsing(&self, query: &str) -> ServerResult<()> {
        if self.passed_before {
            return Ok(());
        }
        super::shape::scan(query)
    }

    /// Once the text is parsed: a syntax error gets its code, a document
    /// its shape check, and its cost is worked out for [`Self::validated`].
    pub(super) fn parsed(
        &self,
        parsed: ServerResult<ExecutableDocument>,
        variables: &Variables,
    ) -> ServerResult<ExecutableDocument> {
        let doc = parsed.map_err(|mut e| {
            // Every refusal of depth was made by `scan` or is made by
            // `check` below (the schema's own recursion bound is set past
            // what `scan` lets through), so what the parser refuses here
            // is the syntax.
            // The parser quotes the offending line whole: a megabyte line
            // would come back whole.
            if e.message.len() > MAX_MESSAGE {
                let mut end = MAX_MESSAGE;
                while !e.message.is_char_boundary(end) {
                    end -= 1;
                }
                e.message.truncate(end);
                e.message.push('…');
            }
            with_code(e, code::PARSE_FAILED)
        })?;
        if !self.passed_before {
            super::shape::check(&doc, self.max_complexity, self.max_depth)?;
            self.cost.store(
                super::cost::MODEL.cost(&doc, variables),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        Ok(doc)
    }

    /// The validation of a request that passed it before, without running
    /// its rules again (async-graphql's fast mode still walks the document
    /// with four of them): the request is the same, so they would pass.
    /// What a validation returns besides is not read here: the schema
    /// sets no cache control, and depth and cost are these checks' own.
    pub(super) fn passed_validation_before(&self) -> Option<ValidationResult> {
        self.passed_before.then(|| ValidationResult {
            cache_control: Default::default(),
            complexity: 0,
            depth: 0,
        })
    }

    /// Once validation has run: what it refused gets its code, and a
    /// valid document its cost check.
    pub(super) fn validated(
        &self,
        validated: Result<ValidationResult, Vec<ServerError>>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let validated = validated.map_err(|errors| {
            errors
                .into_iter()
                // The depth and cost limits are checked here (with their
                // own codes), not by async-graphql's validation, so
                // whatever validation refuses is a validation failure.
                .map(|e| with_code(e, code::VALIDATION_FAILED))
                .collect::<Vec<_>>()
        })?;
        let cost = self.cost.load(std::sync::atomic::Ordering::Relaxed);
        if cost > self.max_complexity {
            return Err(vec![super::cost::refusal(cost, self.max_complexity)]);
        }
        Ok(validated)
    }
}

/// Adds `code` to an error that has none; for errors raised outside the
/// resolvers (unknown operation name, bad variables).
pub fn ensure_code(err: ServerError, fallback: &str) -> ServerError {
    with_code(err, fallback)
}
