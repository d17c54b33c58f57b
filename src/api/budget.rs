//! A per-request budget of resolved fields. Depth and complexity limits
//! bound the shape of a document, not the size of its answer: nested
//! `neighbors` fifteen deep is shallow and simple by both measures yet
//! fans out exponentially. Complexity multipliers would not help either,
//! since async-graphql applies them only below object types, not below the
//! `Entity` interface. So every field resolution is counted, and past the
//! budget the rest of the request is refused.

use super::error::code;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerError, ServerResult, Value};
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
