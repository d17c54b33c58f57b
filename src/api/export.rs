//! The `export` field: the graph, or a part of it, in an analysis tool's
//! format.

use crate::interop::Selection;
use crate::model::{EntityKind, RelationKind};

/// The part of the graph export arguments describe, checked against the
/// neighbourhood depth limit; shared by the GraphQL field and the HTTP route.
pub fn export_selection(
    id: Option<String>,
    depth: Option<usize>,
    entity_kinds: Option<Vec<EntityKind>>,
    relation_kinds: Option<Vec<RelationKind>>,
    max_depth: usize,
) -> Result<Selection, String> {
    // An empty list of kinds is no filter, as an empty query parameter is.
    let entity_kinds = entity_kinds.filter(|k| !k.is_empty());
    let relation_kinds = relation_kinds.filter(|k| !k.is_empty());
    if id.is_none() && depth.is_some() {
        return Err("`depth` needs an `id` to centre the neighbourhood on".into());
    }
    let depth = depth.unwrap_or(1);
    if depth > max_depth {
        return Err(format!("`depth` must be at most {max_depth}, got {depth}"));
    }
    Ok(Selection {
        centre: id.map(|id| (id, depth)),
        entity_kinds,
        relation_kinds,
    })
}
