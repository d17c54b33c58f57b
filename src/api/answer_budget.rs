//! A per-request budget of resolved fields and of answer bytes. Depth and
//! complexity limits bound the shape of a document, not the size of its
//! answer: nested `neighbors` fifteen deep is shallow and simple by both
//! measures yet fans out exponentially, and one field may hold a long
//! text. Complexity multipliers would not help either, since async-graphql
//! applies them only below object types, not below the `Entity` interface.
//! So every field resolution is counted, with the bytes its name and value
//! add to the answer, and past either budget the rest of the request is
//! refused (`BUDGET_EXCEEDED`) before the answer is written out. A field
//! that builds a large value in one go (`export`) asks the budget for its
//! least size first ([`AnswerBytes::reserve`]), so that one too large for
//! the budget is refused before it is built.
//!
//! Counting is a step on every field, and with it async-graphql describes
//! each field to the extension (a look-up in its registry, type names
//! formatted for each item of a list): about a fifth of a small query's
//! instructions. A request whose answer is bounded before it runs
//! ([`super::cost::Model::bound`]: pages only, no list of unknown length,
//! no analysis) within both budgets, on the graph it reads
//! ([`never_exceeded`]), could never be refused by them, so it runs on a
//! schema without the step ([`super::schema_unbudgeted`]). Every other
//! request is counted.

use super::cost::AnswerBound;
use super::error::ApiError;
use async_graphql::extensions::{ExtensionContext, NextResolve, ResolveInfo};
use async_graphql::{ServerError, ServerResult, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One request's budget: it is refused once it has resolved more than
/// `max` fields, or its answer would hold more than `max_bytes` bytes. Run
/// by the schema's extension ([`super::guards`]).
pub(super) struct Budget {
    max: usize,
    used: AtomicUsize,
    bytes: AnswerBytes,
}

/// The bytes one answer has used so far, in the request's data so that a
/// resolver can ask for room before it builds a large value.
#[derive(Clone)]
pub struct AnswerBytes {
    max: usize,
    used: Arc<AtomicUsize>,
}

impl AnswerBytes {
    /// Counts `n` more bytes of the answer; an error once they pass the
    /// budget.
    fn add(&self, n: usize) -> ServerResult<()> {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.max {
            return Err(exceeded(format!(
                "the answer would be larger than {} bytes; ask for less (smaller pages, fewer or smaller exports; a whole export of a large graph is GET /export/{{format}})",
                self.max
            )));
        }
        Ok(())
    }

    /// Whether a value of at least `n` bytes still fits: if not, why, before
    /// the value is built. Nothing is counted: the value is, once built.
    pub fn reserve(&self, n: usize) -> Result<(), String> {
        if self.used.load(Ordering::Relaxed).saturating_add(n) > self.max {
            return Err(format!(
                "the answer would be larger than {} bytes: this field alone would hold at least {n}; ask for less (a whole export of a large graph is GET /export/{{format}})",
                self.max
            ));
        }
        Ok(())
    }
}

/// The most bytes the budget counts for one value, on a graph whose
/// longest text is `longest_text` bytes: every string of an answer is a
/// text of the graph or made of one (a cursor, an amount in words: at most
/// twice as long and 128 bytes more), or a name from the schema (an enum
/// value, a type name: under 128 bytes), with its two quotes; any other
/// scalar counts at most 20.
fn value_bound(longest_text: usize) -> usize {
    longest_text.saturating_mul(2).saturating_add(130)
}

/// Whether a request whose answer is within `bound` can never run over a
/// budget of `max_fields` fields and `max_bytes` bytes on a graph whose
/// longest text is `longest_text` bytes (see [`value_bound`]). Each field
/// the budget counts adds its key, 4 bytes and its value; a list's value
/// counts its items, each a field of its own as well, once more (no list
/// of the schema holds lists), so a field adds at most its key, 8 bytes
/// and two values.
pub fn never_exceeded(
    bound: AnswerBound,
    max_fields: usize,
    max_bytes: usize,
    longest_text: usize,
) -> bool {
    bound.fields <= max_fields && bytes_bound(bound, longest_text) <= max_bytes
}

/// The most bytes the budget can count for an answer within `bound` on a
/// graph whose longest text is `longest_text` bytes (see
/// [`never_exceeded`]).
pub fn bytes_bound(bound: AnswerBound, longest_text: usize) -> usize {
    let per_field = value_bound(longest_text)
        .saturating_mul(2)
        .saturating_add(bound.longest_key)
        .saturating_add(8);
    bound.fields.saturating_mul(per_field)
}

/// A `BUDGET_EXCEEDED` error saying `message`.
fn exceeded(message: String) -> ServerError {
    ApiError::BudgetExceeded(message).into_server_error()
}

/// The message of a request that ran over its field budget.
fn exceeded_message(max: usize) -> String {
    format!(
        "the answer would have more than {max} fields; ask for fewer (smaller pages, less nesting)"
    )
}

/// The bytes a resolved value adds to the answer's JSON, beyond those of
/// the fields below it, which count themselves as they resolve: its
/// scalars (in lists too) as written, escapes aside.
fn written_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Boolean(_) => 5,
        Value::Number(_) => 20,
        Value::String(s) => s.len() + 2,
        Value::Enum(e) => e.len() + 2,
        Value::Binary(b) => b.len() * 4 + 2,
        Value::List(items) => 2 + items.iter().map(|v| written_size(v) + 1).sum::<usize>(),
        Value::Object(_) => 2,
    }
}

impl Budget {
    /// A budget of `max` fields and `max_bytes` bytes, none used.
    pub(super) fn new(max: usize, max_bytes: usize) -> Self {
        Budget {
            max,
            used: AtomicUsize::new(0),
            bytes: AnswerBytes {
                max: max_bytes,
                used: Arc::new(AtomicUsize::new(0)),
            },
        }
    }

    /// The answer's bytes, for the request's data: a resolver asks them
    /// for room before it builds a large value.
    pub(super) fn bytes(&self) -> AnswerBytes {
        self.bytes.clone()
    }

    /// Starts an answer afresh. A query executes once; a subscription once
    /// per event, and each event is an answer of its own, with the whole
    /// budget. Without this a subscription's count ran on from event to
    /// event, and after some thousands of events every further one was
    /// refused.
    pub(super) fn start_answer(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.bytes.used.store(0, Ordering::Relaxed);
    }

    /// Resolves one field within the budget.
    pub(super) async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if self.used.fetch_add(1, Ordering::Relaxed) >= self.max {
            return Err(exceeded(exceeded_message(self.max)));
        }
        let name = info.alias.unwrap_or(info.name).len() + 4;
        let value = next.run(ctx, info).await?;
        let size = value.as_ref().map_or(4, written_size);
        self.bytes.add(name + size)?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use crate::api::{schema, Limits, WriteAccess};
    use crate::edit;
    use crate::graph::testing::{graph, source};
    use crate::live::GraphService;
    use crate::model::{Entity, EntityKind};
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
                    .write(move |g| edit::create_entity(g, None, unit.clone()))
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
