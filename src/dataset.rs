//! The data-file format: documents with the entities and relations they
//! evidence (one `document`, or a `documents` list, or both),
//! written by hand as TOML or exchanged as JSON, and its loader, which
//! refuses bad data with the file, the item and what is wrong.

use crate::graph::{Graph, GraphError};
use crate::model::{Document, Entity, Relation};
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

/// The article the service ships with, compiled into the binary.
pub const BUILTIN: &str = include_str!("../data/article.toml");

/// Name under which the built-in dataset is reported.
pub const BUILTIN_NAME: &str = "data/article.toml";

/// One data file: documents and the entities and relations they evidence.
/// Items may refer to documents and entities of this file or of files
/// loaded before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The source document, with its full text (a hand-written file's usual
    /// shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
    /// More documents (an export's shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    /// Entities it evidences.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Relations it evidences.
    #[serde(default)]
    pub relations: Vec<Relation>,
}

/// The syntax of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// TOML, for files written by hand.
    Toml,
    /// JSON, for files written by programs.
    Json,
}

impl Syntax {
    /// The format a path's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Syntax> {
        match path.extension()?.to_str()? {
            "toml" => Some(Syntax::Toml),
            "json" => Some(Syntax::Json),
            _ => None,
        }
    }
}

/// Why a data file was refused.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The extension names no known format.
    #[error("{file}: unknown data file format (expected .toml or .json)")]
    UnknownFormat {
        /// The file.
        file: String,
    },
    /// The file is not well-formed, or does not have the dataset's shape.
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An item broke a rule of the graph.
    #[error("{file}: {item}: {error}")]
    Item {
        /// The file.
        file: String,
        /// Which item, e.g. "relation `ctef-funds-x`".
        item: String,
        /// What is wrong with it.
        error: GraphError,
    },
}

impl Dataset {
    /// Parses a data file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str, format: Syntax) -> Result<Dataset, LoadError> {
        let syntax = |message: String| LoadError::Syntax {
            file: file.to_owned(),
            message,
        };
        match format {
            Syntax::Toml => {
                toml::from_str(text).map_err(|e| syntax(e.to_string().trim().to_owned()))
            }
            Syntax::Json => serde_json::from_str(text).map_err(|e| syntax(e.to_string())),
        }
    }

    /// Reads and parses a data file, choosing the format by extension.
    pub fn read(path: &Path) -> Result<Dataset, LoadError> {
        let file = path.display().to_string();
        let format = Syntax::from_path(path)
            .ok_or_else(|| LoadError::UnknownFormat { file: file.clone() })?;
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            file: file.clone(),
            source,
        })?;
        Dataset::parse(&file, &text, format)
    }

    /// The built-in article dataset.
    pub fn builtin() -> Result<Dataset, LoadError> {
        Dataset::parse(BUILTIN_NAME, BUILTIN, Syntax::Toml)
    }

    /// Every document of the file, `document` first.
    pub fn all_documents(&self) -> impl Iterator<Item = &Document> {
        self.document.iter().chain(&self.documents)
    }

    /// The whole graph as one dataset: every document, entity and relation,
    /// each ordered by id; loading it into an empty graph rebuilds `g`.
    pub fn of_graph(g: &Graph) -> Dataset {
        Dataset {
            document: None,
            documents: g.documents().cloned().collect(),
            entities: g.entities().map(|n| g.entity_at(n).clone()).collect(),
            relations: g.relations().map(|e| g.relation_at(e).clone()).collect(),
        }
    }

    /// Adds this dataset to `graph`, all or nothing: on the first refused
    /// item the graph is left exactly as it was.
    pub fn apply(self, file: &str, graph: &mut Graph) -> Result<(), LoadError> {
        let mut next = graph.clone();
        self.apply_in_place(&mut next)
            .map_err(|(item, error)| LoadError::Item {
                file: file.to_owned(),
                item,
                error,
            })?;
        *graph = next;
        Ok(())
    }

    /// Adds every item in order, stopping at the first refused one, which
    /// it names. Leaves the items before it in `graph`: callers apply it to
    /// a copy.
    pub fn apply_in_place(self, graph: &mut Graph) -> Result<(), (String, GraphError)> {
        // The name is made only for the item refused: an import adds
        // millions.
        for d in self.document.into_iter().chain(self.documents) {
            let id = d.id.clone();
            graph
                .add_document(d)
                .map_err(|e| (format!("document `{id}`"), e))?;
        }
        for e in self.entities {
            let id = e.id.clone();
            graph
                .add_entity(e)
                .map_err(|err| (format!("entity `{id}`"), err))?;
        }
        for r in self.relations {
            let id = r.id.clone();
            graph
                .add_relation(r)
                .map_err(|err| (format!("relation `{id}`"), err))?;
        }
        Ok(())
    }

    /// The dataset as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Builds a graph from data files, in order.
pub fn load_files(paths: &[impl AsRef<Path>]) -> Result<Graph, LoadError> {
    let mut graph = Graph::new();
    for path in paths {
        let path = path.as_ref();
        Dataset::read(path)?.apply(&path.display().to_string(), &mut graph)?;
    }
    Ok(graph)
}

/// The graph of the built-in article.
pub fn load_builtin() -> Result<Graph, LoadError> {
    let mut graph = Graph::new();
    Dataset::builtin()?.apply(BUILTIN_NAME, &mut graph)?;
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[document]
id = "doc"
title = "T"
publisher = "P"
text = "Alpha funds Beta."

[[entities]]
id = "alpha"
kind = "FUND"
name = "Alpha"
sources = [{ document = "doc", quote = "Alpha" }]

[[entities]]
id = "beta"
kind = "ARMED_FORCE"
name = "Beta"
sources = [{ document = "doc", quote = "Beta" }]

[[relations]]
id = "alpha-funds-beta"
kind = "FUNDS"
from = "alpha"
to = "beta"
amount = { amount = 5 }
sources = [{ document = "doc", quote = "Alpha funds Beta" }]
"#;

    fn load(text: &str) -> Result<Graph, LoadError> {
        let mut g = Graph::new();
        Dataset::parse("t.toml", text, Syntax::Toml)?.apply("t.toml", &mut g)?;
        Ok(g)
    }

    fn err(text: &str) -> String {
        match load(text) {
            Ok(_) => panic!("accepted bad data"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn loads_good_file() {
        let g = load(GOOD).unwrap_or_default();
        assert_eq!((g.entity_count(), g.relation_count()), (2, 1));
    }

    #[test]
    fn builtin_loads() {
        let g = load_builtin();
        assert!(g.is_ok(), "{:?}", g.err());
    }

    #[test]
    fn names_file_item_and_problem() {
        let e = err(&GOOD.replace("ARMED_FORCE", "ARMY"));
        assert!(e.starts_with("t.toml:") && e.contains("ARMY"), "{e}");
        let e = err(&GOOD.replace("to = \"beta\"", "to = \"gamma\""));
        assert!(
            e.contains("relation `alpha-funds-beta`") && e.contains("gamma"),
            "{e}"
        );
        let e = err(&GOOD.replace("id = \"beta\"", "id = \"alpha\""));
        assert!(e.contains("entity id `alpha` already exists"), "{e}");
        let e = err(&GOOD.replace("quote = \"Beta\"", "quote = \"Gamma\""));
        assert!(
            e.contains("entity `beta`") && e.contains("quote not found"),
            "{e}"
        );
        let e = err(&GOOD.replace("amount = 5", "amount = -5"));
        assert!(e.contains("negative"), "{e}");
        let e = err(&GOOD
            .replace("kind = \"FUNDS\"", "kind = \"HOLDS_POSITION\"")
            .replace("amount = { amount = 5 }", ""));
        assert!(e.contains("may not go from FUND to ARMED_FORCE"), "{e}");
        let e = err(&GOOD.replace("name = \"Beta\"", "name = \"Beta\"\ncolour = 1"));
        assert!(e.contains("colour"), "{e}");
        let e = err("[document\nid=");
        assert!(e.starts_with("t.toml:") && e.contains("line"), "{e}");
    }

    #[test]
    fn refused_file_leaves_graph_unchanged() {
        let mut g = load(GOOD).unwrap_or_default();
        let second = GOOD
            .replace("id = \"doc\"", "id = \"doc2\"")
            .replace("document = \"doc\"", "document = \"doc2\"")
            .replace("id = \"alpha\"", "id = \"alpha2\"");
        // beta is a duplicate: nothing of the second file may stay.
        let r =
            Dataset::parse("2.toml", &second, Syntax::Toml).and_then(|d| d.apply("2.toml", &mut g));
        assert!(r.is_err());
        assert_eq!(g.entity_count(), 2);
        assert!(g.document("doc2").is_none());
    }
}
