//! Analysis interop: a part of the graph, chosen by a [`Selection`], written
//! in the formats of network-analysis and investigation tools, and read back.
//!
//! | format | file | read by |
//! | --- | --- | --- |
//! | [`Format::GraphMl`] | `.graphml` | networkx `read_graphml`, Gephi, yEd, igraph |
//! | [`Format::Gexf`] | `.gexf` (GEXF 1.3) | Gephi, networkx `read_gexf` |
//! | [`Format::NodeLink`] | `.json` | networkx `node_link_graph(data)` (≥ 3.4; `edges="edges"`) |
//! | [`Format::Cytoscape`] | `.cyjs.json` | cytoscape.js `cy.add(json.elements)`, Cytoscape desktop |
//! | [`Format::Csv`] | `.zip` of `nodes.csv`, `edges.csv`, `documents.csv` | spreadsheets, pandas, Gephi's table import |
//! | [`Format::Ftm`] | `.ftm.jsonl` | FollowTheMoney tools (`ftm`, Aleph, OpenSanctions' `nomenklatura`) |
//! | [`Format::Json`] | `.json` | partnergraph itself (`--dataset`, `import`), the dataset file format |
//!
//! Every format round-trips: [`import`] of what [`export`] wrote gives the
//! same [`Dataset`], ids, properties, sources and documents included. The
//! graph formats carry, besides the typed attributes the tools show, each
//! item's full JSON record (attribute `record`) and the documents (as JSON
//! at graph level), which is what [`import`] reads; an edit made in a tool
//! to a typed attribute is therefore not read back. The FtM mapping is
//! described in [`ftm`] and in `docs/ftm-mapping.md`.
//!
//! `Dataset::document` is not written separately: a dataset that has one
//! comes back with it as the first of `documents`. Selections never have
//! one.
//!
//! Nothing here knows about GraphQL or HTTP.

mod attrs;
mod csvzip;
mod cytoscape;
pub mod ftm;
mod gexf;
mod graphml;
mod nodelink;
#[cfg(test)]
mod tests;
mod xml;

use crate::analysis::neighborhood;
use crate::dataset::Dataset;
use crate::graph::{Direction, Graph, Walk};
use crate::model::{Document, Entity, EntityKind, Relation, RelationKind, Source};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Export and import formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// GraphML: XML with typed `<key>` declarations (networkx, Gephi, yEd).
    GraphMl,
    /// GEXF 1.3: Gephi's XML format (also networkx).
    Gexf,
    /// networkx node-link JSON (`directed`, `multigraph`, `nodes`, `edges`).
    NodeLink,
    /// Cytoscape.js elements JSON (also Cytoscape desktop's CYJS).
    Cytoscape,
    /// A zip of `nodes.csv`, `edges.csv` and `documents.csv`.
    Csv,
    /// FollowTheMoney entities as JSON lines.
    Ftm,
    /// The project's own dataset format (pretty JSON).
    Json,
}

impl Format {
    /// Every format, in the order they are listed to users.
    pub const ALL: [Format; 7] = [
        Format::GraphMl,
        Format::Gexf,
        Format::NodeLink,
        Format::Cytoscape,
        Format::Csv,
        Format::Ftm,
        Format::Json,
    ];

    /// The name used in URLs and on the command line (`node-link`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::GraphMl => "graphml",
            Format::Gexf => "gexf",
            Format::NodeLink => "node-link",
            Format::Cytoscape => "cytoscape",
            Format::Csv => "csv",
            Format::Ftm => "ftm",
            Format::Json => "json",
        }
    }

    /// The media type of an exported file.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::GraphMl => "application/graphml+xml",
            Format::Gexf => "application/gexf+xml",
            Format::NodeLink | Format::Cytoscape | Format::Json => "application/json",
            Format::Csv => "application/zip",
            Format::Ftm => "application/x-ndjson",
        }
    }

    /// The file name extension of an exported file, without the leading dot.
    pub fn file_extension(self) -> &'static str {
        match self {
            Format::GraphMl => "graphml",
            Format::Gexf => "gexf",
            Format::NodeLink => "node-link.json",
            Format::Json => "json",
            Format::Cytoscape => "cyjs.json",
            Format::Csv => "zip",
            Format::Ftm => "ftm.jsonl",
        }
    }

    /// Whether an exported file is binary (a zip) rather than UTF-8 text.
    pub fn is_binary(self) -> bool {
        self == Format::Csv
    }

    /// The valid names, comma-separated, for messages.
    pub fn names() -> String {
        Format::ALL.map(Format::as_str).join(", ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parses a format name; case and `_` for `-` are forgiven
    /// (`NODE_LINK` is `node-link`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted || (wanted == "nodelink" && *f == Format::NodeLink))
            .ok_or_else(|| {
                format!(
                    "unknown export format `{s}`; expected one of: {}",
                    Format::names()
                )
            })
    }
}

/// Which part of the graph to export. The default is the whole graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only the neighbourhood of an entity: its id and how many hops.
    pub centre: Option<(String, usize)>,
    /// Only entities of these kinds.
    pub entity_kinds: Option<Vec<EntityKind>>,
    /// Only relations of these kinds (the neighbourhood also walks only these).
    pub relation_kinds: Option<Vec<RelationKind>>,
}

impl Selection {
    /// The part of the graph export arguments describe (an entity and the
    /// hops around it, kinds of entities and relations), checked against
    /// the neighbourhood depth limit; the GraphQL field, the HTTP route
    /// and the CLI take the same arguments.
    pub fn from_arguments(
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
}

/// What [`import`] read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Import {
    /// The items read, as a dataset ready to be loaded.
    pub dataset: Dataset,
    /// FtM only: for each schema, how many of its entities were skipped
    /// because they have no counterpart in this graph's model (or refer to
    /// skipped ones). Empty for the other formats.
    pub skipped: BTreeMap<String, usize>,
}

/// Why an export or import failed.
#[derive(Debug, Error)]
pub enum InteropError {
    /// The selection's centre names no entity of the graph.
    #[error("no entity with id `{0}`")]
    UnknownEntity(String),
    /// The input is not a file of the format, or breaks its rules.
    #[error("{}", malformed(.line, .message))]
    Malformed {
        /// The 1-based line of the input, where known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The dataset cannot be written in the format.
    #[error("cannot write {format}: {message}")]
    Write {
        /// The format's name.
        format: &'static str,
        /// What went wrong.
        message: String,
    },
}

fn malformed(line: &Option<usize>, message: &str) -> String {
    match line {
        Some(n) => format!("line {n}: {message}"),
        None => message.to_owned(),
    }
}

impl InteropError {
    /// A [`InteropError::Malformed`] without a line.
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        InteropError::Malformed {
            line: None,
            message: message.into(),
        }
    }

    /// A [`InteropError::Malformed`] at a 1-based line.
    pub(crate) fn at_line(line: usize, message: impl Into<String>) -> Self {
        InteropError::Malformed {
            line: Some(line),
            message: message.into(),
        }
    }

    /// A [`InteropError::Write`].
    pub(crate) fn write(format: Format, message: impl fmt::Display) -> Self {
        InteropError::Write {
            format: format.as_str(),
            message: message.to_string(),
        }
    }
}

/// The part of `g` a selection names, as a dataset: the entities of the
/// centre's neighbourhood (or all) of the selected kinds, the relations of
/// the selected kinds whose ends are both selected, and the documents that
/// the selected items quote; each ordered by id, `document` left `None`.
pub fn select(g: &Graph, sel: &Selection) -> Result<Dataset, InteropError> {
    let (nodes, edges) = match &sel.centre {
        Some((id, depth)) => {
            // An id merged into another entity names that one.
            let centre = g
                .resolve_entity_ix(id)
                .ok_or_else(|| InteropError::UnknownEntity(id.clone()))?;
            let walk = Walk {
                direction: Direction::Both,
                kinds: sel.relation_kinds.clone(),
            };
            let sub = neighborhood(g, centre, *depth, &walk);
            (sub.entities, sub.relations)
        }
        None => (g.entities().collect(), g.relations().collect()),
    };
    let kind_ok = |k: EntityKind| sel.entity_kinds.as_ref().is_none_or(|ks| ks.contains(&k));
    let rel_ok = |k: RelationKind| sel.relation_kinds.as_ref().is_none_or(|ks| ks.contains(&k));
    let mut entities: Vec<_> = nodes
        .into_iter()
        .map(|n| g.entity_at(n))
        .filter(|e| kind_ok(e.kind))
        .cloned()
        .collect();
    entities.sort_by(|a, b| a.id.cmp(&b.id));
    let chosen: BTreeSet<&str> = entities.iter().map(|e| e.id.as_str()).collect();
    let mut relations: Vec<_> = edges
        .into_iter()
        .map(|e| g.relation_at(e))
        .filter(|r| rel_ok(r.kind) && chosen.contains(&*r.from) && chosen.contains(&*r.to))
        .cloned()
        .collect();
    relations.sort_by(|a, b| a.id.cmp(&b.id));
    let quoted: BTreeSet<&str> = entities
        .iter()
        .flat_map(|e| &e.sources)
        .chain(relations.iter().flat_map(|r| &r.sources))
        .map(|s| s.document())
        .collect();
    let documents = quoted
        .into_iter()
        .filter_map(|id| g.document(id))
        .cloned()
        .collect();
    Ok(Dataset {
        document: None,
        documents,
        entities,
        relations,
    })
}

/// The least number of bytes any text format writes for `data`: every
/// one carries each id, name and quote, so their lengths together bound its
/// output from below (markup, kinds and details come on top). Known before
/// anything is written, so that an export too large for an answer is
/// refused without being built.
pub fn least_size(data: &Dataset) -> usize {
    let quotes = |sources: &crate::model::Sources| -> usize {
        sources.iter().map(|s| s.quote().len()).sum()
    };
    let entities: usize = data
        .entities
        .iter()
        .map(|e| e.id.len() + e.name.len() + quotes(&e.sources))
        .sum();
    let relations: usize = data
        .relations
        .iter()
        .map(|r| r.id.len() + quotes(&r.sources))
        .sum();
    entities + relations
}

/// Writes a dataset in a format. The output depends only on the dataset:
/// two exports of the same data are byte-identical.
pub fn export(data: &Dataset, format: Format) -> Result<Vec<u8>, InteropError> {
    match format {
        Format::GraphMl => graphml::write(data),
        Format::Gexf => gexf::write(data),
        Format::NodeLink => nodelink::write(data),
        Format::Cytoscape => cytoscape::write(data),
        Format::Csv => csvzip::write(data),
        Format::Ftm => ftm::write(data),
        Format::Json => {
            let mut text = all_documents(data).to_json();
            text.push('\n');
            Ok(text.into_bytes())
        }
    }
}

/// Reads a file of a format back into a dataset: the inverse of [`export`].
/// FtM also reads data from other sources (see [`ftm`]).
pub fn import(bytes: &[u8], format: Format) -> Result<Import, InteropError> {
    let dataset = match format {
        Format::GraphMl => graphml::read(text(bytes)?)?,
        Format::Gexf => gexf::read(text(bytes)?)?,
        Format::NodeLink => nodelink::read(text(bytes)?)?,
        Format::Cytoscape => cytoscape::read(text(bytes)?)?,
        Format::Csv => csvzip::read(bytes)?,
        Format::Ftm => return ftm::read(text(bytes)?),
        Format::Json => {
            serde_json::from_str(text(bytes)?).map_err(|e| InteropError::Malformed {
                line: Some(e.line()),
                message: e.to_string(),
            })?
        }
    };
    Ok(Import {
        dataset,
        skipped: BTreeMap::new(),
    })
}

/// The input as UTF-8 text (a leading byte-order mark is dropped).
fn text(bytes: &[u8]) -> Result<&str, InteropError> {
    let s = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        InteropError::at_line(line, format!("not UTF-8: {e}"))
    })?;
    Ok(s.strip_prefix('\u{feff}').unwrap_or(s))
}

/// The dataset with `document` moved to the front of `documents`, the shape
/// every format writes.
fn all_documents(data: &Dataset) -> Dataset {
    Dataset {
        document: None,
        documents: data.all_documents().cloned().collect(),
        entities: data.entities.clone(),
        relations: data.relations.clone(),
    }
}

/// The documents as one compact JSON array (the graph-level attribute of
/// the graph formats).
fn documents_json(data: &Dataset) -> Result<String, InteropError> {
    let docs: Vec<&Document> = data.all_documents().collect();
    serde_json::to_string(&docs).map_err(|e| InteropError::Write {
        format: "json",
        message: e.to_string(),
    })
}

/// Parses the documents' JSON array.
fn parse_documents(json: &str) -> Result<Vec<Document>, InteropError> {
    serde_json::from_str(json)
        .map_err(|e| InteropError::malformed(format!("graph-level documents: {e}")))
}

/// Parses one item's JSON record; `what` names it in errors.
fn parse_record<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, InteropError> {
    serde_json::from_str(json).map_err(|e| InteropError::malformed(format!("{what}: record: {e}")))
}

/// The entity a node's record holds, checked to be the node's own.
fn entity_record(node_id: &str, json: &str) -> Result<Entity, InteropError> {
    let entity: Entity = parse_record(json, &format!("node `{node_id}`"))?;
    if entity.id != node_id {
        return Err(InteropError::malformed(format!(
            "node `{node_id}` holds the record of entity `{}`",
            entity.id
        )));
    }
    Ok(entity)
}

/// The relation an edge's record holds, checked to be the edge's own:
/// same id and, where the format states them, same ends.
fn relation_record(
    edge_id: &str,
    json: &str,
    ends: Option<(&str, &str)>,
) -> Result<Relation, InteropError> {
    let relation: Relation = parse_record(json, &format!("edge `{edge_id}`"))?;
    if !edge_id.is_empty() && relation.id != edge_id {
        return Err(InteropError::malformed(format!(
            "edge `{edge_id}` holds the record of relation `{}`",
            relation.id
        )));
    }
    if let Some((source, target)) = ends {
        if *relation.from != *source || *relation.to != *target {
            return Err(InteropError::malformed(format!(
                "edge `{edge_id}` goes {source} → {target} but its record {} → {}",
                relation.from, relation.to
            )));
        }
    }
    Ok(relation)
}

/// Serialises one item's JSON record, compactly.
fn record_json<T: serde::Serialize>(item: &T, format: Format) -> Result<String, InteropError> {
    serde_json::to_string(item).map_err(|e| InteropError::write(format, e))
}

/// The distinct documents a list of sources names, in first-use order.
fn source_documents(sources: &[Source]) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    sources
        .iter()
        .map(|s| s.document())
        .filter(|d| seen.insert(*d))
        .collect()
}
