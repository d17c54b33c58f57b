//! GEXF 1.3: Gephi's format, also read by networkx
//! (`nx.read_gexf(path)`, which recognises the 1.3 namespace).
//!
//! A static directed graph; node `label` is the entity's name and edge
//! `label` the relation kind. Typed attributes (`<attributes class="node">`
//! and `class="edge"`) follow [`super::attrs`], including each item's full
//! JSON `record`; the documents, as a JSON array, are the `<meta>`
//! `<description>`.

use super::attrs::{entity_attrs, relation_attrs, AttrValue, EDGE_ATTRS, NODE_ATTRS, RECORD};
use super::xml::{json_for_xml, parse, printable, Element, XmlOut};
use super::{
    documents_json, entity_record, parse_documents, record_json, relation_record, Format,
    InteropError,
};
use crate::dataset::Dataset;
use std::collections::BTreeMap;

const NS: &str = "http://gexf.net/1.3";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const SCHEMA: &str = "http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd";

fn attr_id(prefix: char, name: &str) -> String {
    format!("{prefix}-{name}")
}

fn attvalues(
    x: &mut XmlOut,
    prefix: char,
    values: &[(&str, AttrValue)],
) -> Result<(), InteropError> {
    x.open("attvalues", &[])?;
    for (name, value) in values {
        let text = match value {
            AttrValue::Str(s) if *name == RECORD => json_for_xml(s.clone()),
            other => printable(&other.text()),
        };
        x.empty(
            "attvalue",
            &[("for", &attr_id(prefix, name)), ("value", &text)],
        )?;
    }
    x.close("attvalues")
}

/// Writes a dataset as GEXF 1.3.
pub(super) fn write(data: &Dataset) -> Result<Vec<u8>, InteropError> {
    let mut x = XmlOut::new()?;
    x.open(
        "gexf",
        &[
            ("xmlns", NS),
            ("xmlns:xsi", XSI),
            ("xsi:schemaLocation", SCHEMA),
            ("version", "1.3"),
        ],
    )?;
    x.open("meta", &[])?;
    x.text("creator", &[], "partnergraph")?;
    x.text("description", &[], &json_for_xml(documents_json(data)?))?;
    x.close("meta")?;
    x.open(
        "graph",
        &[("mode", "static"), ("defaultedgetype", "directed")],
    )?;
    for (prefix, class, attrs) in [('n', "node", NODE_ATTRS), ('e', "edge", EDGE_ATTRS)] {
        x.open("attributes", &[("class", class), ("mode", "static")])?;
        for (name, ty) in attrs {
            x.empty(
                "attribute",
                &[
                    ("id", &attr_id(prefix, name)),
                    ("title", name),
                    ("type", ty.gexf()),
                ],
            )?;
        }
        x.close("attributes")?;
    }
    x.open("nodes", &[])?;
    for e in &data.entities {
        x.open("node", &[("id", &e.id), ("label", &printable(&e.name))])?;
        let mut values = entity_attrs(e);
        values.push((RECORD, AttrValue::Str(record_json(e, Format::Gexf)?)));
        attvalues(&mut x, 'n', &values)?;
        x.close("node")?;
    }
    x.close("nodes")?;
    x.open("edges", &[])?;
    for r in &data.relations {
        x.open(
            "edge",
            &[
                ("id", &r.id),
                ("source", &r.from),
                ("target", &r.to),
                ("label", r.kind.as_str()),
            ],
        )?;
        let mut values = relation_attrs(r);
        values.push((RECORD, AttrValue::Str(record_json(r, Format::Gexf)?)));
        attvalues(&mut x, 'e', &values)?;
        x.close("edge")?;
    }
    x.close("edges")?;
    x.close("graph")?;
    x.close("gexf")?;
    Ok(x.finish())
}

/// The record attvalue of a node or edge, given the attribute ids of its
/// class by title.
fn record<'a>(el: &'a Element, ids: &BTreeMap<String, String>) -> Option<&'a str> {
    let id = ids.get(RECORD)?;
    el.first("attvalues")?
        .all("attvalue")
        .find(|v| v.attr("for") == Some(id.as_str()))
        .and_then(|v| v.attr("value"))
}

/// Reads GEXF written by [`write`] back into a dataset.
pub(super) fn read(text: &str) -> Result<Dataset, InteropError> {
    let root = parse(text)?;
    if root.name != "gexf" {
        return Err(InteropError::malformed(format!(
            "not a GEXF document (root element <{}>)",
            root.name
        )));
    }
    let documents = match root.first("meta").and_then(|m| m.first("description")) {
        Some(d) if !d.text.trim().is_empty() => parse_documents(&d.text)?,
        _ => Vec::new(),
    };
    let graph = root
        .first("graph")
        .ok_or_else(|| InteropError::malformed("GEXF document has no <graph>"))?;
    // class → (title → id)
    let mut ids: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for attrs in graph.all("attributes") {
        let class = attrs.attr("class").unwrap_or("node").to_owned();
        for a in attrs.all("attribute") {
            if let (Some(id), Some(title)) = (a.attr("id"), a.attr("title")) {
                ids.entry(class.clone())
                    .or_default()
                    .insert(title.to_owned(), id.to_owned());
            }
        }
    }
    let none = BTreeMap::new();
    let node_ids = ids.get("node").unwrap_or(&none);
    let edge_ids = ids.get("edge").unwrap_or(&none);
    let mut entities = Vec::new();
    for node in graph.all("nodes").flat_map(|n| n.all("node")) {
        let id = node.required("id")?;
        let json = record(node, node_ids).ok_or_else(|| {
            InteropError::malformed(format!("node `{id}` has no `{RECORD}` attribute"))
        })?;
        entities.push(entity_record(id, json)?);
    }
    let mut relations = Vec::new();
    for edge in graph.all("edges").flat_map(|e| e.all("edge")) {
        let id = edge.attr("id").unwrap_or("");
        let json = record(edge, edge_ids).ok_or_else(|| {
            InteropError::malformed(format!("edge `{id}` has no `{RECORD}` attribute"))
        })?;
        let ends = (edge.required("source")?, edge.required("target")?);
        relations.push(relation_record(id, json, Some(ends))?);
    }
    Ok(Dataset {
        document: None,
        documents,
        entities,
        relations,
    })
}
