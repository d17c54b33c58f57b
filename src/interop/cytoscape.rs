//! Cytoscape.js elements JSON, as `cy.json()` gives it and Cytoscape
//! desktop's CYJS import reads it:
//! `{"data": {...}, "elements": {"nodes": [{"data": {...}}], "edges": [...]}}`.
//!
//! Node data: `id`, `label` (the name) and the typed attributes of
//! [`super::attrs`]; edge data: `id`, `source`, `target`, `label` (the
//! kind) and the typed attributes. Every element also carries its full
//! JSON record as a string (`record`), and the network data the documents
//! as a JSON string (`documents`): Cytoscape desktop's tables hold only
//! flat values.

use super::attrs::{entity_attrs, relation_attrs, DOCUMENTS, RECORD};
use super::{
    documents_json, entity_record, parse_documents, record_json, relation_record, Format,
    InteropError,
};
use crate::dataset::Dataset;
use serde_json::{Map, Value};

fn element(data: Map<String, Value>) -> Value {
    let mut el = Map::new();
    el.insert("data".into(), Value::Object(data));
    Value::Object(el)
}

/// Writes a dataset as Cytoscape.js JSON.
pub(super) fn write(data: &Dataset) -> Result<Vec<u8>, InteropError> {
    let mut nodes = Vec::with_capacity(data.entities.len());
    for e in &data.entities {
        let mut d = Map::new();
        d.insert("id".into(), e.id.as_str().into());
        d.insert("label".into(), e.name.as_str().into());
        for (name, value) in entity_attrs(e) {
            d.insert(name.into(), value.json());
        }
        d.insert(RECORD.into(), record_json(e, Format::Cytoscape)?.into());
        nodes.push(element(d));
    }
    let mut edges = Vec::with_capacity(data.relations.len());
    for r in &data.relations {
        let mut d = Map::new();
        d.insert("id".into(), r.id.as_str().into());
        d.insert("source".into(), r.from.to_string().into());
        d.insert("target".into(), r.to.to_string().into());
        d.insert("label".into(), r.kind.as_str().into());
        for (name, value) in relation_attrs(r) {
            d.insert(name.into(), value.json());
        }
        d.insert(RECORD.into(), record_json(r, Format::Cytoscape)?.into());
        edges.push(element(d));
    }
    let mut network = Map::new();
    network.insert("name".into(), "partnergraph".into());
    network.insert(DOCUMENTS.into(), documents_json(data)?.into());
    let mut elements = Map::new();
    elements.insert("nodes".into(), Value::Array(nodes));
    elements.insert("edges".into(), Value::Array(edges));
    let mut top = Map::new();
    top.insert("format_version".into(), "1.0".into());
    top.insert("generated_by".into(), "partnergraph".into());
    top.insert("target_cytoscapejs_version".into(), "~3".into());
    top.insert("data".into(), Value::Object(network));
    top.insert("elements".into(), Value::Object(elements));
    let mut out = serde_json::to_vec_pretty(&Value::Object(top))
        .map_err(|e| InteropError::write(Format::Cytoscape, e))?;
    out.push(b'\n');
    Ok(out)
}

/// The elements of a group: `elements` is either `{"nodes": [...],
/// "edges": [...]}` or one list whose items say their `group`.
fn group<'a>(elements: &'a Value, name: &str) -> Vec<&'a Value> {
    match elements {
        Value::Object(groups) => groups
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_default(),
        Value::Array(items) => items
            .iter()
            .filter(|el| el.get("group").and_then(Value::as_str) == Some(name))
            .collect(),
        _ => Vec::new(),
    }
}

fn record_of<'a>(el: &'a Value, what: &str) -> Result<(&'a str, &'a str), InteropError> {
    let data = el.get("data").unwrap_or(&Value::Null);
    let id = data.get("id").and_then(Value::as_str).unwrap_or("");
    let record = data.get(RECORD).and_then(Value::as_str).ok_or_else(|| {
        InteropError::malformed(format!("{what} `{id}` has no `{RECORD}` string"))
    })?;
    Ok((id, record))
}

/// Reads Cytoscape.js JSON written by [`write`] back into a dataset.
pub(super) fn read(text: &str) -> Result<Dataset, InteropError> {
    let top: Value = serde_json::from_str(text).map_err(|e| InteropError::Malformed {
        line: Some(e.line()),
        message: e.to_string(),
    })?;
    let documents = match top.get("data").and_then(|d| d.get(DOCUMENTS)) {
        Some(Value::String(json)) => parse_documents(json)?,
        Some(list @ Value::Array(_)) => serde_json::from_value(list.clone())
            .map_err(|e| InteropError::malformed(format!("network documents: {e}")))?,
        _ => Vec::new(),
    };
    let elements = top
        .get("elements")
        .ok_or_else(|| InteropError::malformed("Cytoscape JSON has no `elements`"))?;
    let mut entities = Vec::new();
    for el in group(elements, "nodes") {
        let (id, json) = record_of(el, "node")?;
        entities.push(entity_record(id, json)?);
    }
    let mut relations = Vec::new();
    for el in group(elements, "edges") {
        let (id, json) = record_of(el, "edge")?;
        relations.push(relation_record(id, json, None)?);
    }
    Ok(Dataset {
        document: None,
        documents,
        entities,
        relations,
    })
}
