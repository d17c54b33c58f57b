//! The typed attributes the graph formats (GraphML, GEXF, Cytoscape) show
//! for entities and relations, besides each item's full JSON `record`.

use crate::model::{Entity, Money, Relation};

/// The type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttrType {
    /// Text.
    Str,
    /// A 32-bit integer (years, vote counts).
    Int,
    /// A 64-bit integer (money amounts).
    Long,
}

impl AttrType {
    /// The GraphML `attr.type`.
    pub(super) fn graphml(self) -> &'static str {
        match self {
            AttrType::Str => "string",
            AttrType::Int => "int",
            AttrType::Long => "long",
        }
    }

    /// The GEXF attribute `type`.
    pub(super) fn gexf(self) -> &'static str {
        match self {
            AttrType::Str => "string",
            AttrType::Int => "integer",
            AttrType::Long => "long",
        }
    }
}

/// The attribute holding an item's full JSON record, from which imports
/// rebuild it.
pub(super) const RECORD: &str = "record";

/// The attribute holding the documents (graph level).
pub(super) const DOCUMENTS: &str = "documents";

/// Node attributes, in output order.
pub(super) const NODE_ATTRS: &[(&str, AttrType)] = &[
    ("kind", AttrType::Str),
    ("name", AttrType::Str),
    ("aliases", AttrType::Str),
    ("description", AttrType::Str),
    ("rank", AttrType::Str),
    ("total_amount", AttrType::Long),
    ("currency", AttrType::Str),
    ("qualifier", AttrType::Str),
    ("fiscal_year", AttrType::Int),
    ("vote_yeas", AttrType::Int),
    ("vote_nays", AttrType::Int),
    ("date", AttrType::Str),
    ("merged_ids", AttrType::Str),
    (RECORD, AttrType::Str),
];

/// Edge attributes, in output order.
pub(super) const EDGE_ATTRS: &[(&str, AttrType)] = &[
    ("kind", AttrType::Str),
    ("role", AttrType::Str),
    ("amount", AttrType::Long),
    ("currency", AttrType::Str),
    ("qualifier", AttrType::Str),
    ("fiscal_year", AttrType::Int),
    ("date", AttrType::Str),
    ("categories", AttrType::Str),
    (RECORD, AttrType::Str),
];

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum AttrValue {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
}

impl AttrValue {
    /// The value as XML text.
    pub(super) fn text(&self) -> String {
        match self {
            AttrValue::Str(s) => s.clone(),
            AttrValue::Int(n) => n.to_string(),
        }
    }

    /// The value as JSON.
    pub(super) fn json(&self) -> serde_json::Value {
        match self {
            AttrValue::Str(s) => serde_json::Value::from(s.as_str()),
            AttrValue::Int(n) => serde_json::Value::from(*n),
        }
    }
}

fn text(name: &'static str, value: &str) -> (&'static str, AttrValue) {
    (name, AttrValue::Str(value.to_owned()))
}

fn money(out: &mut Vec<(&'static str, AttrValue)>, amount_name: &'static str, m: &Money) {
    out.push((amount_name, AttrValue::Int(m.amount)));
    out.push(text("currency", &m.currency));
    out.push(text("qualifier", m.qualifier.as_str()));
}

/// The typed attributes of an entity that has them (absent fields are left
/// out), without the record.
pub(super) fn entity_attrs(e: &Entity) -> Vec<(&'static str, AttrValue)> {
    let mut out = vec![text("kind", e.kind.as_str()), text("name", &e.name)];
    if !e.aliases.is_empty() {
        out.push(text("aliases", &e.aliases.join("; ")));
    }
    if let Some(d) = e.description() {
        out.push(text("description", d));
    }
    if let Some(r) = e.rank() {
        out.push(text("rank", r));
    }
    if let Some(m) = e.total_amount().or(e.total()) {
        money(&mut out, "total_amount", m);
    }
    if let Some(y) = e.fiscal_year() {
        out.push(("fiscal_year", AttrValue::Int(i64::from(y))));
    }
    if let Some(v) = e.vote() {
        out.push(("vote_yeas", AttrValue::Int(i64::from(v.yeas))));
        out.push(("vote_nays", AttrValue::Int(i64::from(v.nays))));
    }
    if let Some(d) = e.date() {
        out.push(text("date", &d.to_string()));
    }
    if !e.merged_ids().is_empty() {
        out.push(text("merged_ids", &e.merged_ids().join("; ")));
    }
    out
}

/// The typed attributes of a relation that has them, without the record.
pub(super) fn relation_attrs(r: &Relation) -> Vec<(&'static str, AttrValue)> {
    let mut out = vec![text("kind", r.kind.as_str())];
    if let Some(role) = r.role() {
        out.push(text("role", role));
    }
    if let Some(m) = r.amount() {
        money(&mut out, "amount", m);
    }
    if let Some(y) = r.fiscal_year() {
        out.push(("fiscal_year", AttrValue::Int(i64::from(y))));
    }
    if let Some(d) = r.date() {
        out.push(text("date", &d.to_string()));
    }
    if !r.categories().is_empty() {
        out.push(text("categories", &r.categories().join("; ")));
    }
    out
}
