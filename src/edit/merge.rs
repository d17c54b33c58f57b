//! Merging entities found to be one: the relations of each merged entity
//! move to the one it goes into (same relation ids, the end replaced), its
//! name and aliases become aliases there, its evidence moves over, its id
//! (and the ids merged into it before) is kept on the survivor as a merged
//! id, and it is removed. One write: the caller runs it with the undo
//! journal on, so a refusal at any step takes all of it back.

use super::Edit;
use crate::graph::{Graph, GraphError, Walk};
use crate::model::{fold, Entity};
use compact_str::CompactString;
use std::collections::BTreeSet;

/// Merges the entities `from` into `into`; see the module doc. Refused,
/// before anything changes, for an empty or repeated `from`, `into` among
/// `from`, an unknown id, entities of different kinds, and a relation
/// between two of the entities (it would join the survivor to itself).
pub fn merge_entities(g: &mut Graph, into: &str, from: &[String]) -> Result<Vec<Edit>, GraphError> {
    let refused = |m: String| Err(GraphError::MergeRefused(m));
    if from.is_empty() {
        return refused("`from` is empty: name at least one entity to merge".into());
    }
    let mut seen = BTreeSet::new();
    for id in from {
        if id == into {
            return refused(format!("entity `{into}` cannot be merged into itself"));
        }
        if !seen.insert(id.as_str()) {
            return refused(format!("`from` names entity `{id}` more than once"));
        }
    }
    let not_found = |id: &str| GraphError::NotFound {
        what: "entity",
        id: id.to_owned(),
    };
    let survivor = g.entity(into).cloned().ok_or_else(|| not_found(into))?;
    let mut merged = Vec::with_capacity(from.len());
    for id in from {
        let ix = g.entity_ix(id).ok_or_else(|| not_found(id))?;
        let e = g.entity_at(ix);
        if e.kind != survivor.kind {
            return refused(format!(
                "entity `{id}` is a {} and `{into}` a {}: only entities of the same kind can be merged",
                e.kind, survivor.kind
            ));
        }
        merged.push(ix);
    }
    // Relations to move, each once, and none joining two of the entities.
    let mut moving = BTreeSet::new();
    for &ix in &merged {
        for step in g.steps(ix, &Walk::any()) {
            let r = step.relation;
            let other = if r.from.as_str() == g.entity_at(ix).id.as_str() {
                &r.to
            } else {
                &r.from
            };
            if other.as_str() == into || seen.contains(other.as_str()) {
                return Err(GraphError::MergeBlocked(format!(
                    "relation `{}` joins `{}` and `{}`, which would become one entity joined to itself; delete the relation first",
                    r.id, r.from, r.to
                )));
            }
            moving.insert(r.id.clone());
        }
    }

    // Nothing is changed above this line: every refusal costs nothing.
    let mut moved = Vec::with_capacity(moving.len());
    for rid in &moving {
        let mut r = g.remove_relation(rid)?;
        if seen.contains(r.from.as_str()) {
            r.from = into.into();
        }
        if seen.contains(r.to.as_str()) {
            r.to = into.into();
        }
        moved.push(r);
    }
    for r in moved {
        g.add_relation(r)?;
    }
    let mut survivor = survivor;
    let mut merged_ids: BTreeSet<CompactString> = survivor.merged_ids().iter().cloned().collect();
    // A moved relation is announced and stored as updated: its id and
    // facts stay, one end is replaced (the replay of a stored write knows
    // a put that changes ends as such a move).
    let mut edits: Vec<Edit> = moving
        .iter()
        .map(|id| Edit::RelationUpdated(id.to_string()))
        .collect();
    for id in from {
        // A merged entity goes before the survivor takes its id: an id is
        // held by one item at a time.
        let (gone, _) = g.remove_entity(id, false)?;
        absorb(&mut survivor, &gone);
        merged_ids.insert(gone.id.clone());
        merged_ids.extend(gone.merged_ids().iter().cloned());
        edits.push(Edit::EntityDeleted(id.clone()));
    }
    survivor.update_details(|d| d.merged_ids = merged_ids.into_iter().collect());
    g.replace_entity(survivor)?;
    edits.push(Edit::EntityUpdated(into.to_owned()));
    Ok(edits)
}

/// Adds `gone`'s name and aliases to `survivor`'s aliases and its sources
/// to `survivor`'s, leaving out what `survivor` already has: names compare
/// folded (case, accents and spacing aside), sources as they are.
fn absorb(survivor: &mut Entity, gone: &Entity) {
    let mut known: BTreeSet<String> = std::iter::once(survivor.name.as_str())
        .chain(survivor.aliases.iter().map(String::as_str))
        .map(fold)
        .collect();
    for name in std::iter::once(gone.name.as_str()).chain(gone.aliases.iter().map(String::as_str)) {
        if known.insert(fold(name)) {
            survivor.aliases.push(name.to_owned());
        }
    }
    for source in &gone.sources {
        if !survivor.sources.contains(source) {
            survivor.sources.push(source.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::{graph, rel, source};
    use crate::model::{EntityKind as K, RelationKind as R};

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn moves_relations_names_and_ids_and_takes_back_nothing_on_refusal() {
        let mut g = graph(&[
            ("a", K::ArmedForce),
            ("b", K::ArmedForce),
            ("c", K::ArmedForce),
            ("d", K::ArmedForce),
            ("p", K::Person),
        ]);
        rel(&mut g, "bc", R::PartOf, "b", "c");
        rel(&mut g, "db", R::PartOf, "d", "b");
        rel(&mut g, "ac", R::PartOf, "a", "c");
        let before = g.relation_count();
        let edits = merge_entities(&mut g, "a", &ids(&["b"]));
        assert!(edits.is_ok(), "{edits:?}");
        assert_eq!(g.relation_count(), before);
        assert!(g.entity("b").is_none());
        assert_eq!(g.relation("bc").map(|r| r.from.as_str()), Some("a"));
        assert_eq!(g.relation("db").map(|r| r.to.as_str()), Some("a"));
        let a = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        assert_eq!(a.merged_ids(), ["b"]);
        assert!(a.aliases.contains(&"B".to_string()));
        assert_eq!(g.resolve_entity_ix("b"), g.entity_ix("a"));
        assert!(g.id_taken("b"));
        // Transitively: merging `a` carries `b` along.
        assert!(merge_entities(&mut g, "d", &ids(&["a"])).is_err()); // db joins them
        assert!(g.remove_relation("db").is_ok());
        assert!(merge_entities(&mut g, "d", &ids(&["a"])).is_ok());
        assert_eq!(
            g.entity("d").map(|e| e.merged_ids().to_vec()),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(g.resolve_entity_ix("b"), g.entity_ix("d"));
        for (into, from) in [
            ("d", vec![]),
            ("d", vec!["d"]),
            ("d", vec!["c", "c"]),
            ("d", vec!["zz"]),
            ("zz", vec!["c"]),
            ("d", vec!["p"]),
            ("d", vec!["c"]),
        ] {
            let count = (g.entity_count(), g.relation_count());
            assert!(
                merge_entities(&mut g, into, &ids(&from)).is_err(),
                "{into} {from:?}"
            );
            assert_eq!((g.entity_count(), g.relation_count()), count);
        }
    }

    #[test]
    fn aliases_and_sources_are_not_doubled() {
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce)]);
        let mut b = g.entity("b").cloned().unwrap_or_else(|| panic!("b"));
        b.name = "Alpha".into();
        b.aliases = vec!["A".to_string(), "Bee".to_string()].into();
        b.sources.push(source());
        assert_eq!(g.replace_entity(b), Ok(()));
        let mut a = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        a.name = "ALPHA".into();
        assert_eq!(g.replace_entity(a), Ok(()));
        assert!(merge_entities(&mut g, "a", &ids(&["b"])).is_ok());
        let a = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        assert_eq!(a.aliases.to_vec(), ["A".to_string(), "Bee".to_string()]);
        assert_eq!(a.sources.len(), 1);
    }
}
