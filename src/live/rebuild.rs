//! The start-up sink: the graph rebuilt from the store's items.

use super::*;

/// Builds the graph from stored items as the store hands them over, and
/// keeps the first refusal.
#[derive(Default)]
pub(super) struct Rebuild {
    pub(super) bulk: Bulk,
    pub(super) error: Option<OpenError>,
}

impl Sink for Rebuild {
    fn expect(&mut self, _documents: usize, entities: usize, relations: usize) {
        self.bulk = Bulk::with_capacity(entities, relations);
    }

    fn item(&mut self, item: Item) -> ControlFlow<()> {
        let (what, result) = match item {
            Item::Document(d) => ("document", self.bulk.document(d)),
            Item::Entity(e) => ("entity", self.bulk.entity(e)),
            Item::Relation(r) => ("relation", self.bulk.relation(r)),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err((id, error)) => {
                self.error = Some(OpenError::Invalid {
                    item: format!("{what} `{id}`"),
                    error,
                });
                ControlFlow::Break(())
            }
        }
    }
}
