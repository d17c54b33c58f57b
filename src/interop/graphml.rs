//! GraphML: a directed multigraph with typed `<key>` declarations, read by
//! networkx (`nx.read_graphml(path)`), Gephi, yEd and igraph.
//!
//! Node ids are entity ids and edge ids relation ids. Nodes and edges carry
//! the typed attributes of [`super::attrs`] and their full JSON record
//! (`record`); the graph carries the documents as a JSON array
//! (`documents`).

use super::attrs::{entity_attrs, relation_attrs, DOCUMENTS, EDGE_ATTRS, NODE_ATTRS, RECORD};
use super::xml::{json_for_xml, parse, printable, Element, XmlOut};
use super::{
    documents_json, entity_record, parse_documents, record_json, relation_record, Format,
    InteropError,
};
use crate::dataset::Dataset;
use std::collections::BTreeMap;

const NS: &str = "http://graphml.graphdrawing.org/xmlns";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const SCHEMA: &str =
    "http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd";

fn key_id(prefix: char, name: &str) -> String {
    format!("{prefix}-{name}")
}

/// Writes a dataset as GraphML.
pub(super) fn write(data: &Dataset) -> Result<Vec<u8>, InteropError> {
    let mut x = XmlOut::new()?;
    x.open(
        "graphml",
        &[
            ("xmlns", NS),
            ("xmlns:xsi", XSI),
            ("xsi:schemaLocation", SCHEMA),
        ],
    )?;
    let doc_key = key_id('g', DOCUMENTS);
    x.empty(
        "key",
        &[
            ("id", &doc_key),
            ("for", "graph"),
            ("attr.name", DOCUMENTS),
            ("attr.type", "string"),
        ],
    )?;
    for (prefix, target, attrs) in [('n', "node", NODE_ATTRS), ('e', "edge", EDGE_ATTRS)] {
        for (name, ty) in attrs {
            x.empty(
                "key",
                &[
                    ("id", &key_id(prefix, name)),
                    ("for", target),
                    ("attr.name", name),
                    ("attr.type", ty.graphml()),
                ],
            )?;
        }
    }
    x.open(
        "graph",
        &[("id", "partnergraph"), ("edgedefault", "directed")],
    )?;
    x.text(
        "data",
        &[("key", &doc_key)],
        &json_for_xml(documents_json(data)?),
    )?;
    for e in &data.entities {
        x.open("node", &[("id", &e.id)])?;
        for (name, value) in entity_attrs(e) {
            x.text(
                "data",
                &[("key", &key_id('n', name))],
                &printable(&value.text()),
            )?;
        }
        let record = json_for_xml(record_json(e, Format::GraphMl)?);
        x.text("data", &[("key", &key_id('n', RECORD))], &record)?;
        x.close("node")?;
    }
    for r in &data.relations {
        x.open(
            "edge",
            &[("id", &r.id), ("source", &r.from), ("target", &r.to)],
        )?;
        for (name, value) in relation_attrs(r) {
            x.text(
                "data",
                &[("key", &key_id('e', name))],
                &printable(&value.text()),
            )?;
        }
        let record = json_for_xml(record_json(r, Format::GraphMl)?);
        x.text("data", &[("key", &key_id('e', RECORD))], &record)?;
        x.close("edge")?;
    }
    x.close("graph")?;
    x.close("graphml")?;
    Ok(x.finish())
}

/// The `<data>` of `el` whose key declares `name` for `target`.
fn data<'a>(
    el: &'a Element,
    keys: &BTreeMap<(String, String), String>,
    target: &str,
    name: &str,
) -> Option<&'a str> {
    let id = keys.get(&(target.to_owned(), name.to_owned()))?;
    el.all("data")
        .find(|d| d.attr("key") == Some(id.as_str()))
        .map(|d| d.text.as_str())
}

/// Reads GraphML written by [`write`] back into a dataset.
pub(super) fn read(text: &str) -> Result<Dataset, InteropError> {
    let root = parse(text)?;
    if root.name != "graphml" {
        return Err(InteropError::malformed(format!(
            "not a GraphML document (root element <{}>)",
            root.name
        )));
    }
    // (for, attr.name) → key id.
    let mut keys = BTreeMap::new();
    for key in root.all("key") {
        let target = key.attr("for").unwrap_or("all");
        if let (Some(id), Some(name)) = (key.attr("id"), key.attr("attr.name")) {
            keys.insert((target.to_owned(), name.to_owned()), id.to_owned());
        }
    }
    let graph = root
        .first("graph")
        .ok_or_else(|| InteropError::malformed("GraphML document has no <graph>"))?;
    let documents = match data(graph, &keys, "graph", DOCUMENTS) {
        Some(json) => parse_documents(json)?,
        None => Vec::new(),
    };
    let mut entities = Vec::new();
    for node in graph.all("node") {
        let id = node.required("id")?;
        let record = data(node, &keys, "node", RECORD).ok_or_else(|| {
            InteropError::malformed(format!("node `{id}` has no `{RECORD}` attribute"))
        })?;
        entities.push(entity_record(id, record)?);
    }
    let mut relations = Vec::new();
    for edge in graph.all("edge") {
        let id = edge.attr("id").unwrap_or("");
        let record = data(edge, &keys, "edge", RECORD).ok_or_else(|| {
            InteropError::malformed(format!("edge `{id}` has no `{RECORD}` attribute"))
        })?;
        let ends = (edge.required("source")?, edge.required("target")?);
        relations.push(relation_record(id, record, Some(ends))?);
    }
    Ok(Dataset {
        document: None,
        documents,
        entities,
        relations,
    })
}
