//! Name and alias search, case- and accent-insensitive.

use crate::graph::{fold, Graph};
use crate::model::EntityKind;
use petgraph::stable_graph::NodeIndex;

/// How well an entity matched: lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Exact,
    Prefix,
    Substring,
}

/// Entities (of `kind`, if given) whose name or an alias contains `query`,
/// ranked exact > prefix > substring, then by name, then by id. A blank
/// query matches every entity, ordered by id.
pub fn search(g: &Graph, query: &str, kind: Option<EntityKind>) -> Vec<NodeIndex> {
    let q = fold(query);
    let kind_ok = |n: &NodeIndex| kind.is_none_or(|k| g.entity_at(*n).kind == k);
    if q.is_empty() {
        return g.entities().filter(kind_ok).collect();
    }
    let mut hits: Vec<(Match, &str, &str, NodeIndex)> = g
        .entities()
        .filter(kind_ok)
        .filter_map(|n| {
            let best = g
                .search_keys(n)
                .iter()
                .filter_map(|key| {
                    if *key == q {
                        Some(Match::Exact)
                    } else if key.starts_with(&q) {
                        Some(Match::Prefix)
                    } else if key.contains(&q) {
                        Some(Match::Substring)
                    } else {
                        None
                    }
                })
                .min()?;
            let e = g.entity_at(n);
            Some((best, e.name.as_str(), e.id.as_str(), n))
        })
        .collect();
    hits.sort();
    hits.into_iter().map(|(_, _, _, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{Entity, EntityKind as K};

    #[test]
    fn ranks_exact_then_prefix_then_substring() {
        let mut g = graph(&[("zeta", K::ArmedForce)]);
        let mut fund = Entity::new("ctef", K::Fund, "Counter Fund", source());
        fund.aliases = vec!["CTEF".into()];
        let _ = g.add_entity(fund);
        let _ = g.add_entity(Entity::new(
            "ctef-office",
            K::Ministry,
            "CTEF Office",
            source(),
        ));
        let _ = g.add_entity(Entity::new(
            "x",
            K::Ministry,
            "Office of the CTÉF",
            source(),
        ));
        let names = |q: &str, k: Option<K>| -> Vec<String> {
            search(&g, q, k)
                .iter()
                .map(|n| g.entity_at(*n).id.clone())
                .collect()
        };
        assert_eq!(names("ctef", None), ["ctef", "ctef-office", "x"]);
        assert_eq!(names("CTÈF", Some(K::Ministry)), ["ctef-office", "x"]);
        assert_eq!(names("nothing", None), Vec::<String>::new());
        assert_eq!(names(" ", None).len(), 4);
    }
}
