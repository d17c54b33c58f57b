//! Writes as pure operations on a `&mut Graph`: create, update and delete
//! entities and relations, and ingest a whole document. Each returns the
//! edits it made, so that the caller can persist and announce them. Free of
//! GraphQL and of the store.

use crate::dataset::Dataset;
use crate::graph::{Graph, GraphError};
use crate::model::{Document, Entity, Money, Relation, Sources};
use chrono::NaiveDate;
use deunicode::deunicode;

mod merge;
pub use merge::merge_entities;

/// One change a write made, named by the item's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Edit {
    /// A document was added.
    DocumentCreated(String),
    /// An entity was added.
    EntityCreated(String),
    /// An entity was changed.
    EntityUpdated(String),
    /// An entity was removed.
    EntityDeleted(String),
    /// A relation was added.
    RelationCreated(String),
    /// A relation was changed.
    RelationUpdated(String),
    /// A relation was removed.
    RelationDeleted(String),
}

impl Edit {
    /// The id of the item changed.
    pub fn id(&self) -> &str {
        match self {
            Edit::DocumentCreated(id)
            | Edit::EntityCreated(id)
            | Edit::EntityUpdated(id)
            | Edit::EntityDeleted(id)
            | Edit::RelationCreated(id)
            | Edit::RelationUpdated(id)
            | Edit::RelationDeleted(id) => id,
        }
    }
}

/// A change to some fields of an entity; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EntityPatch {
    /// New name.
    pub name: Option<String>,
    /// New aliases (replacing the old ones).
    pub aliases: Option<Vec<String>>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// New evidence (replacing the old).
    pub sources: Option<Sources>,
}

/// A change to some fields of a relation; `None` leaves a field as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct RelationPatch {
    /// New role.
    pub role: Option<Option<String>>,
    /// New amount.
    pub amount: Option<Option<Money>>,
    /// New fiscal year.
    pub fiscal_year: Option<Option<i32>>,
    /// New date.
    pub date: Option<Option<NaiveDate>>,
    /// New support categories.
    pub categories: Option<Vec<String>>,
    /// New evidence (replacing the old).
    pub sources: Option<Sources>,
}

/// A readable slug of `text`: accents stripped, lowercase, runs of other
/// characters turned into single hyphens, at most 80 characters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in deunicode(text).to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 80 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "item".to_owned()
    } else {
        out
    }
}

/// `base`, or `base-2`, `base-3`, … : the first id no node has.
pub fn unique_id(g: &Graph, base: &str) -> String {
    if !g.id_taken(base) {
        return base.to_owned();
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !g.id_taken(id))
        .unwrap_or_else(|| base.to_owned())
}

/// Adds an entity; its id is `id` if given, else a new slug of its name.
/// A given id that exists is refused (`DuplicateId`).
pub fn create_entity(
    g: &mut Graph,
    id: Option<String>,
    mut entity: Entity,
) -> Result<(String, Vec<Edit>), GraphError> {
    let id = id.unwrap_or_else(|| unique_id(g, &slug(&entity.name)));
    entity.id = id.as_str().into();
    g.add_entity(entity)?;
    Ok((id.clone(), vec![Edit::EntityCreated(id)]))
}

/// Changes some fields of an entity.
pub fn update_entity(g: &mut Graph, id: &str, patch: EntityPatch) -> Result<Vec<Edit>, GraphError> {
    let mut entity = g.entity(id).cloned().ok_or_else(|| GraphError::NotFound {
        what: "entity",
        id: id.to_owned(),
    })?;
    if let Some(name) = patch.name {
        entity.name = name.into();
    }
    if let Some(aliases) = patch.aliases {
        entity.aliases = aliases.into();
    }
    if let Some(description) = patch.description {
        entity.update_details(|d| d.description = description.map(Into::into));
    }
    if let Some(sources) = patch.sources {
        entity.sources = sources;
    }
    g.replace_entity(entity)?;
    Ok(vec![Edit::EntityUpdated(id.to_owned())])
}

/// Removes an entity; with `cascade`, its relations too.
pub fn delete_entity(g: &mut Graph, id: &str, cascade: bool) -> Result<Vec<Edit>, GraphError> {
    let (_, relations) = g.remove_entity(id, cascade)?;
    let mut edits: Vec<Edit> = relations
        .into_iter()
        .map(|r| Edit::RelationDeleted(r.id.into()))
        .collect();
    edits.push(Edit::EntityDeleted(id.to_owned()));
    Ok(edits)
}

/// Adds a relation; its id is `id` if given, else `from-kind-to` made unique.
pub fn create_relation(
    g: &mut Graph,
    id: Option<String>,
    mut relation: Relation,
) -> Result<(String, Vec<Edit>), GraphError> {
    let id = id.unwrap_or_else(|| {
        let base = slug(&format!(
            "{} {} {}",
            relation.from,
            relation.kind.as_str(),
            relation.to
        ));
        unique_id(g, &base)
    });
    relation.id = id.as_str().into();
    g.add_relation(relation)?;
    Ok((id.clone(), vec![Edit::RelationCreated(id)]))
}

/// Changes some fields of a relation.
pub fn update_relation(
    g: &mut Graph,
    id: &str,
    patch: RelationPatch,
) -> Result<Vec<Edit>, GraphError> {
    let mut relation = g
        .relation(id)
        .cloned()
        .ok_or_else(|| GraphError::NotFound {
            what: "relation",
            id: id.to_owned(),
        })?;
    relation.update_details(|d| {
        if let Some(role) = patch.role {
            d.role = role.map(Into::into);
        }
        if let Some(amount) = patch.amount {
            d.amount = amount;
        }
        if let Some(year) = patch.fiscal_year {
            d.fiscal_year = year;
        }
        if let Some(date) = patch.date {
            d.date = date;
        }
        if let Some(categories) = patch.categories {
            d.categories = categories.into();
        }
    });
    if let Some(sources) = patch.sources {
        relation.sources = sources;
    }
    g.replace_relation(relation)?;
    Ok(vec![Edit::RelationUpdated(id.to_owned())])
}

/// Removes a relation.
pub fn delete_relation(g: &mut Graph, id: &str) -> Result<Vec<Edit>, GraphError> {
    g.remove_relation(id)?;
    Ok(vec![Edit::RelationDeleted(id.to_owned())])
}

/// A document with its entities and relations, ids optional.
#[derive(Debug, Clone)]
pub struct Ingest {
    /// The document's id, if given.
    pub document_id: Option<String>,
    /// The document (its `id` is replaced).
    pub document: Document,
    /// Entities with their given ids, if any.
    pub entities: Vec<(Option<String>, Entity)>,
    /// Relations with their given ids, if any.
    pub relations: Vec<(Option<String>, Relation)>,
}

/// What an ingest created, by id, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// The document's id.
    pub document: String,
    /// The entities' ids.
    pub entities: Vec<String>,
    /// The relations' ids.
    pub relations: Vec<String>,
}

/// Adds a document with its entities and relations. The caller applies it
/// to a copy of the graph, so that on the first refusal nothing stays.
pub fn ingest(g: &mut Graph, input: Ingest) -> Result<(Ingested, Vec<Edit>), GraphError> {
    let mut document = input.document;
    document.id = input
        .document_id
        .unwrap_or_else(|| unique_id(g, &slug(&document.title)))
        .into();
    let mut done = Ingested {
        document: document.id.to_string(),
        ..Default::default()
    };
    let mut edits = vec![Edit::DocumentCreated(document.id.to_string())];
    g.add_document(document)?;
    for (id, entity) in input.entities {
        let (id, mut e) = create_entity(g, id, entity)?;
        done.entities.push(id);
        edits.append(&mut e);
    }
    for (id, relation) in input.relations {
        let (id, mut e) = create_relation(g, id, relation)?;
        done.relations.push(id);
        edits.append(&mut e);
    }
    Ok((done, edits))
}

/// An ingest of a whole data file, ids as the file gives them. The caller
/// applies it to a copy of the graph. A refusal names the item refused
/// ("relation `x`").
pub fn ingest_dataset(
    g: &mut Graph,
    data: Dataset,
) -> Result<(Ingested, Vec<Edit>), (String, GraphError)> {
    let mut done = Ingested::default();
    let mut edits = Vec::new();
    for d in data.all_documents() {
        if done.document.is_empty() {
            done.document = d.id.to_string();
        }
        edits.push(Edit::DocumentCreated(d.id.to_string()));
    }
    for e in &data.entities {
        done.entities.push(e.id.to_string());
        edits.push(Edit::EntityCreated(e.id.to_string()));
    }
    for r in &data.relations {
        done.relations.push(r.id.to_string());
        edits.push(Edit::RelationCreated(r.id.to_string()));
    }
    data.apply_in_place(g)?;
    Ok((done, edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::{graph, source};
    use crate::model::{EntityKind as K, RelationKind as R};

    #[test]
    fn slugs_are_readable_and_unique() {
        assert_eq!(
            slug("Iraq’s Security Institutions"),
            "iraq-s-security-institutions"
        );
        assert_eq!(
            slug("  Ministère de la Défense!! "),
            "ministere-de-la-defense"
        );
        assert_eq!(slug("—"), "item");
        let g = graph(&[
            ("asayish", K::SecurityService),
            ("asayish-2", K::SecurityService),
        ]);
        assert_eq!(unique_id(&g, "asayish"), "asayish-3");
        assert_eq!(unique_id(&g, "peshmerga"), "peshmerga");
    }

    #[test]
    fn create_update_delete_round() {
        let mut g = graph(&[("a", K::ArmedForce)]);
        let e = Entity::new("", K::ArmedForce, "Beta Force", source());
        let (id, edits) = create_entity(&mut g, None, e.clone()).unwrap_or_default();
        assert_eq!(id, "beta-force");
        assert_eq!(edits, [Edit::EntityCreated("beta-force".into())]);
        assert!(matches!(
            create_entity(&mut g, Some("a".into()), e),
            Err(GraphError::DuplicateId { .. })
        ));
        let r = Relation::new("", R::PartOf, "a", "beta-force", source());
        let (rid, _) = create_relation(&mut g, None, r).unwrap_or_default();
        assert_eq!(rid, "a-part-of-beta-force");
        let patch = EntityPatch {
            name: Some("Beta".into()),
            description: Some(Some("d".into())),
            ..Default::default()
        };
        assert!(update_entity(&mut g, "beta-force", patch).is_ok());
        assert_eq!(
            g.entity("beta-force").map(|e| e.name.as_str()),
            Some("Beta")
        );
        let bad = EntityPatch {
            sources: Some(Sources::new()),
            ..Default::default()
        };
        assert!(matches!(
            update_entity(&mut g, "beta-force", bad),
            Err(GraphError::Invalid(_))
        ));
        assert!(matches!(
            delete_entity(&mut g, "a", false),
            Err(GraphError::HasRelations { .. })
        ));
        let edits = delete_entity(&mut g, "a", true).unwrap_or_default();
        assert_eq!(
            edits,
            [Edit::RelationDeleted(rid), Edit::EntityDeleted("a".into())]
        );
    }
}
