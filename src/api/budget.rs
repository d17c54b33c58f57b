//! A per-request budget of resolved fields. Depth and complexity limits
//! bound the shape of a document, not the size of its answer: nested
//! `neighbors` fifteen deep is shallow and simple by both measures yet
//! fans out exponentially. Complexity multipliers would not help either,
//! since async-graphql applies them only below object types, not below the
//! `Entity` interface. So every field resolution is counted, and past the
//! budget the rest of the request is refused.

use super::error::code;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerError, ServerResult, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Refuses a request once it has resolved more than `max` fields.
pub struct FieldBudget {
    /// The most fields one request may resolve.
    pub max: usize,
}

impl ExtensionFactory for FieldBudget {
    fn create(&self) -> Arc<dyn Extension> {
        // Created afresh for every request.
        Arc::new(Counter {
            max: self.max,
            used: AtomicUsize::new(0),
        })
    }
}

struct Counter {
    max: usize,
    used: AtomicUsize,
}

/// The message of a request that ran over its budget.
fn exceeded_message(max: usize) -> String {
    format!(
        "the answer would have more than {max} fields; ask for fewer (smaller pages, less nesting)"
    )
}

#[async_trait::async_trait]
impl Extension for Counter {
    /// A query executes once; a subscription once per event, and each
    /// event is an answer of its own, with the whole budget. Without this a
    /// subscription's count ran on from event to event, and after some
    /// thousands of events every further one was refused.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.used.store(0, Ordering::Relaxed);
        next.run(ctx, operation_name).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if self.used.fetch_add(1, Ordering::Relaxed) >= self.max {
            let mut err = ServerError::new(exceeded_message(self.max), None);
            let mut ext = async_graphql::ErrorExtensionValues::default();
            ext.set("code", code::BUDGET_EXCEEDED);
            err.extensions = Some(ext);
            return Err(err);
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use crate::api::{schema, Limits, WriteAccess};
    use crate::edit;
    use crate::graph::testing::{graph, source};
    use crate::model::{Entity, EntityKind};
    use crate::service::GraphService;
    use futures_util::StreamExt;
    use std::sync::Arc;

    #[tokio::test]
    async fn each_event_of_a_subscription_has_the_whole_budget() {
        // Each event resolves four fields; five events need twenty.
        let schema = schema(Limits {
            max_resolved_fields: 8,
            ..Limits::default()
        });
        let service = Arc::new(GraphService::in_memory(graph(&[])));
        let request =
            async_graphql::Request::new("subscription { graphChanged { kind id graphVersion } }")
                .data(service.clone())
                .data(WriteAccess::Missing);
        let events = schema.execute_stream(request);
        // Writes go on until the subscription has seen five of them: it
        // sees only those after it started listening.
        let writer = service.clone();
        let writes = tokio::spawn(async move {
            for i in 0..200 {
                let name = format!("Unit {i}");
                let unit = Entity::new("", EntityKind::SecurityService, &name, source());
                let written = writer
                    .write(move |g| edit::create_entity(g, None, unit))
                    .await;
                assert!(written.is_ok(), "{written:?}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        let five = events.take(5).collect::<Vec<_>>();
        let got = match tokio::time::timeout(std::time::Duration::from_secs(10), five).await {
            Ok(got) => got,
            Err(_) => panic!("the subscription did not answer five events"),
        };
        writes.abort();
        assert_eq!(got.len(), 5);
        for r in got {
            assert!(r.errors.is_empty(), "{:?}", r.errors);
        }
    }
}
