//! networkx node-link JSON: read with
//! `nx.node_link_graph(json.load(f))` (networkx ≥ 3.4, whose default is
//! `edges="edges"`; on 3.4–3.5 pass `edges="edges"` to silence the warning).
//!
//! `{"directed": true, "multigraph": true, "graph": {"name", "documents"},
//! "nodes": [...], "edges": [...]}`: each node is the entity's own JSON
//! record (its `id` is the node id), each edge the relation's record with
//! `from`/`to`/`id` as networkx's `source`/`target`/`key`. Writing the graph
//! back with `nx.node_link_data(G)` gives a file this module reads.

use super::{Format, InteropError};
use crate::dataset::Dataset;
use crate::model::{Document, Entity, Relation};
use serde_json::{Map, Value};

fn to_value<T: serde::Serialize>(item: &T) -> Result<Value, InteropError> {
    serde_json::to_value(item).map_err(|e| InteropError::write(Format::NodeLink, e))
}

/// Writes a dataset as node-link JSON.
pub(super) fn write(data: &Dataset) -> Result<Vec<u8>, InteropError> {
    let documents: Vec<&Document> = data.all_documents().collect();
    let mut graph = Map::new();
    graph.insert("name".into(), "partnergraph".into());
    graph.insert("documents".into(), to_value(&documents)?);
    let nodes = data
        .entities
        .iter()
        .map(to_value)
        .collect::<Result<Vec<_>, _>>()?;
    let mut edges = Vec::with_capacity(data.relations.len());
    for r in &data.relations {
        let mut edge = Map::new();
        edge.insert("source".into(), r.from.to_string().into());
        edge.insert("target".into(), r.to.to_string().into());
        edge.insert("key".into(), r.id.as_str().into());
        if let Value::Object(fields) = to_value(r)? {
            for (k, v) in fields {
                if !matches!(k.as_str(), "id" | "from" | "to") {
                    edge.insert(k, v);
                }
            }
        }
        edges.push(Value::Object(edge));
    }
    let mut top = Map::new();
    top.insert("directed".into(), true.into());
    top.insert("multigraph".into(), true.into());
    top.insert("graph".into(), Value::Object(graph));
    top.insert("nodes".into(), Value::Array(nodes));
    top.insert("edges".into(), Value::Array(edges));
    let mut out = serde_json::to_vec_pretty(&Value::Object(top))
        .map_err(|e| InteropError::write(Format::NodeLink, e))?;
    out.push(b'\n');
    Ok(out)
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str, what: &str) -> Result<&'a str, InteropError> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| InteropError::malformed(format!("{what} has no string `{name}`")))
}

/// Reads node-link JSON written by [`write`] (or by networkx from it).
pub(super) fn read(text: &str) -> Result<Dataset, InteropError> {
    let top: Value = serde_json::from_str(text).map_err(|e| InteropError::Malformed {
        line: Some(e.line()),
        message: e.to_string(),
    })?;
    let top = top
        .as_object()
        .ok_or_else(|| InteropError::malformed("node-link data is not a JSON object"))?;
    let documents: Vec<Document> = match top.get("graph").and_then(|g| g.get("documents")) {
        Some(docs) => serde_json::from_value(docs.clone())
            .map_err(|e| InteropError::malformed(format!("graph documents: {e}")))?,
        None => Vec::new(),
    };
    let list = |name: &str| -> Result<Vec<Value>, InteropError> {
        // Both lists are required (empty ones are fine): any other JSON
        // object is not node-link data, not an empty graph.
        match top.get(name) {
            Some(Value::Array(items)) => Ok(items.clone()),
            None => Err(InteropError::malformed(format!(
                "not node-link JSON: it has no `{name}` list"
            ))),
            Some(_) => Err(InteropError::malformed(format!("`{name}` is not a list"))),
        }
    };
    let mut entities = Vec::new();
    for (i, node) in list("nodes")?.into_iter().enumerate() {
        let entity: Entity = serde_json::from_value(node)
            .map_err(|e| InteropError::malformed(format!("node {}: {e}", i + 1)))?;
        entities.push(entity);
    }
    let edge_list = if top.contains_key("edges") {
        list("edges")?
    } else {
        list("links")?
    };
    let mut relations = Vec::new();
    for (i, edge) in edge_list.into_iter().enumerate() {
        let what = format!("edge {}", i + 1);
        let Value::Object(mut obj) = edge else {
            return Err(InteropError::malformed(format!("{what} is not an object")));
        };
        let source = field(&obj, "source", &what)?.to_owned();
        let target = field(&obj, "target", &what)?.to_owned();
        let key = field(&obj, "key", &what)?.to_owned();
        for k in ["source", "target", "key"] {
            obj.remove(k);
        }
        obj.insert("id".into(), key.into());
        obj.insert("from".into(), source.into());
        obj.insert("to".into(), target.into());
        let relation: Relation = serde_json::from_value(Value::Object(obj))
            .map_err(|e| InteropError::malformed(format!("{what}: {e}")))?;
        relations.push(relation);
    }
    Ok(Dataset {
        document: None,
        documents,
        entities,
        relations,
    })
}
