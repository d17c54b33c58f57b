//! The schema's one extension: the checks of a request's document
//! ([`super::error::DocumentChecks`]), introspection answered with the
//! SDL's meaning ([`super::introspection`]) and the budget of fields and
//! bytes ([`super::answer_budget`]), each in its own module, hooked into
//! async-graphql's request here.
//!
//! One extension rather than three because async-graphql sends every
//! field of every answer through each registered extension in turn, each
//! step a boxed future, whether or not the extension looks at fields. Only
//! the budget looks at fields, so each field now takes one step rather
//! than three: 23,000 fewer instructions (9.5%) for a resolved request of
//! the article's Q1 (BENCHMARKS.md, "What the schema's extensions cost a
//! resolved request").

use super::answer_budget::Budget;
use super::error::DocumentChecks;
use super::introspection::IntrospectionAnswer;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
};
use std::sync::Arc;

/// The extension's settings: the limits, and whether the schema serves
/// only requests that passed its checks before.
pub struct Guards {
    /// The complexity limit, which bounds an operation's expanded fields.
    pub max_complexity: usize,
    /// The depth limit: fields within fields, through fragments.
    pub max_depth: usize,
    /// The most fields one request may resolve.
    pub max_resolved_fields: usize,
    /// The most bytes one answer may hold (its JSON, escapes aside).
    pub max_response_bytes: usize,
    /// Whether every request this schema runs passed the same checks
    /// before, with the same text, operation and variables (the schema of
    /// validated requests): it is then not validated again, nor are its
    /// text, shape and cost checked. The budget always applies.
    pub passed_before: bool,
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        // Created afresh for every request.
        Arc::new(RequestGuards {
            checks: DocumentChecks::new(self.max_complexity, self.max_depth, self.passed_before),
            introspection: IntrospectionAnswer::new(),
            budget: Budget::new(self.max_resolved_fields, self.max_response_bytes),
        })
    }
}

/// One request's guards.
struct RequestGuards {
    checks: DocumentChecks,
    introspection: IntrospectionAnswer,
    budget: Budget,
}

#[async_trait::async_trait]
impl Extension for RequestGuards {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        next.run(ctx, request.data(self.budget.bytes())).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        self.checks.before_parsing(query)?;
        let parsed = next.run(ctx, query, variables).await;
        let doc = self.checks.parsed(parsed, variables)?;
        self.introspection.parsed(query, variables, &doc);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        if let Some(passed) = self.checks.passed_validation_before() {
            return Ok(passed);
        }
        self.checks.validated(next.run(ctx).await)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.budget.start_answer();
        let response = next.run(ctx, operation_name).await;
        self.introspection.answered(operation_name, response)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.budget.resolve(ctx, info, next).await
    }
}
