//! The CSV pair, as a zip: `nodes.csv` and `edges.csv` for spreadsheets,
//! pandas and Gephi's table import, plus `documents.csv` so that nothing is
//! lost. Lists (aliases, categories, sources) are JSON arrays in one cell;
//! absent values are empty cells (so an empty description reads back as
//! none).
//!
//! - `nodes.csv`: id, kind, name, aliases, description, rank,
//!   total_amount, currency, qualifier, fiscal_year, vote_yeas, vote_nays,
//!   date, sources, merged_ids (the ids merged into the entity, which
//!   keep naming it)
//! - `edges.csv`: id, source, target, kind, role, amount, currency,
//!   qualifier, fiscal_year, date, categories, sources
//! - `documents.csv`: id, title, publisher, published_on, dateline, text

use super::{Format, InteropError};
use crate::dataset::Dataset;
use crate::model::{
    AmountQualifier, Document, Entity, EntityClass, EntityDetails, Money, Relation,
    RelationDetails, Source, Vote,
};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;

const NODES: &str = "nodes.csv";
const EDGES: &str = "edges.csv";
const DOCUMENTS: &str = "documents.csv";

const NODE_COLUMNS: [&str; 15] = [
    "id",
    "kind",
    "name",
    "aliases",
    "description",
    "rank",
    "total_amount",
    "currency",
    "qualifier",
    "fiscal_year",
    "vote_yeas",
    "vote_nays",
    "date",
    "sources",
    "merged_ids",
];

const EDGE_COLUMNS: [&str; 12] = [
    "id",
    "source",
    "target",
    "kind",
    "role",
    "amount",
    "currency",
    "qualifier",
    "fiscal_year",
    "date",
    "categories",
    "sources",
];

const DOCUMENT_COLUMNS: [&str; 6] = [
    "id",
    "title",
    "publisher",
    "published_on",
    "dateline",
    "text",
];

fn werr(e: impl std::fmt::Display) -> InteropError {
    InteropError::write(Format::Csv, e)
}

fn json_list<T: serde::Serialize>(items: &[T]) -> Result<String, InteropError> {
    if items.is_empty() {
        Ok(String::new())
    } else {
        serde_json::to_string(items).map_err(werr)
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn money_cells(m: Option<&Money>) -> [String; 3] {
    match m {
        Some(m) => [
            m.amount.to_string(),
            m.currency.to_string(),
            m.qualifier.as_str().to_owned(),
        ],
        None => Default::default(),
    }
}

fn table<const N: usize>(
    columns: [&str; N],
    rows: impl IntoIterator<Item = Result<[String; N], InteropError>>,
) -> Result<Vec<u8>, InteropError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns).map_err(werr)?;
    for row in rows {
        w.write_record(row?).map_err(werr)?;
    }
    w.into_inner().map_err(werr)
}

fn node_row(e: &Entity) -> Result<[String; 15], InteropError> {
    let [amount, currency, qualifier] = money_cells(e.total_amount().or(e.total()));
    Ok([
        e.id.to_string(),
        e.kind.as_str().to_owned(),
        e.name.to_string(),
        json_list(&e.aliases)?,
        e.description().unwrap_or_default().to_owned(),
        e.rank().unwrap_or_default().to_owned(),
        amount,
        currency,
        qualifier,
        opt(e.fiscal_year()),
        opt(e.vote().map(|v| v.yeas)),
        opt(e.vote().map(|v| v.nays)),
        opt(e.date()),
        json_list(&e.sources)?,
        json_list(e.merged_ids())?,
    ])
}

fn edge_row(r: &Relation) -> Result<[String; 12], InteropError> {
    let [amount, currency, qualifier] = money_cells(r.amount());
    Ok([
        r.id.to_string(),
        r.from.to_string(),
        r.to.to_string(),
        r.kind.as_str().to_owned(),
        r.role().unwrap_or_default().to_owned(),
        amount,
        currency,
        qualifier,
        opt(r.fiscal_year()),
        opt(r.date()),
        json_list(r.categories())?,
        json_list(&r.sources)?,
    ])
}

fn document_row(d: &Document) -> Result<[String; 6], InteropError> {
    Ok([
        d.id.to_string(),
        d.title.to_string(),
        d.publisher.to_string(),
        opt(d.published_on),
        d.dateline.as_deref().unwrap_or_default().to_owned(),
        d.text.get().into_owned(),
    ])
}

/// Writes a dataset as a zip of CSV files.
pub(super) fn write(data: &Dataset) -> Result<Vec<u8>, InteropError> {
    let files = [
        (
            NODES,
            table(NODE_COLUMNS, data.entities.iter().map(node_row))?,
        ),
        (
            EDGES,
            table(EDGE_COLUMNS, data.relations.iter().map(edge_row))?,
        ),
        (
            DOCUMENTS,
            table(DOCUMENT_COLUMNS, data.all_documents().map(document_row))?,
        ),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // A fixed time and mode keep the archive byte-identical across runs.
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in files {
        zip.start_file(name, options).map_err(werr)?;
        zip.write_all(&bytes).map_err(werr)?;
    }
    Ok(zip.finish().map_err(werr)?.into_inner())
}

/// One CSV row by column name, with its file and line for messages.
struct Row {
    file: &'static str,
    line: usize,
    cells: BTreeMap<String, String>,
}

impl Row {
    fn err(&self, message: impl std::fmt::Display) -> InteropError {
        InteropError::at_line(self.line, format!("{}: {message}", self.file))
    }

    fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn required(&self, column: &str) -> Result<String, InteropError> {
        self.get(column)
            .map(str::to_owned)
            .ok_or_else(|| self.err(format!("`{column}` is empty")))
    }

    fn text(&self, column: &str) -> Option<String> {
        self.get(column).map(str::to_owned)
    }

    fn parsed<T: std::str::FromStr>(&self, column: &str) -> Result<Option<T>, InteropError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(column)
            .map(|s| {
                s.parse::<T>()
                    .map_err(|e| self.err(format!("`{column}`: {e}")))
            })
            .transpose()
    }

    fn date(&self, column: &str) -> Result<Option<NaiveDate>, InteropError> {
        self.parsed::<NaiveDate>(column)
    }

    fn list<T: serde::de::DeserializeOwned>(&self, column: &str) -> Result<Vec<T>, InteropError> {
        match self.get(column) {
            Some(json) => {
                serde_json::from_str(json).map_err(|e| self.err(format!("`{column}`: {e}")))
            }
            None => Ok(Vec::new()),
        }
    }

    fn kind<T: std::str::FromStr<Err = String>>(&self, column: &str) -> Result<T, InteropError> {
        self.required(column)?.parse().map_err(|e| self.err(e))
    }

    fn money(&self, amount: &str) -> Result<Option<Money>, InteropError> {
        let Some(value) = self.parsed::<i64>(amount)? else {
            return Ok(None);
        };
        let qualifier = match self.get("qualifier") {
            Some(q) => serde_json::from_value::<AmountQualifier>(q.into())
                .map_err(|e| self.err(format!("`qualifier`: {e}")))?,
            None => AmountQualifier::Exact,
        };
        Ok(Some(Money {
            amount: value,
            currency: self
                .text("currency")
                .map_or_else(|| Money::DEFAULT_CURRENCY.into(), Into::into),
            qualifier,
        }))
    }
}

fn rows(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    file: &'static str,
) -> Result<Vec<Row>, InteropError> {
    let mut text = String::new();
    match archive.by_name(file) {
        Ok(mut f) => {
            f.read_to_string(&mut text)
                .map_err(|e| InteropError::malformed(format!("{file}: {e}")))?;
        }
        Err(zip::result::ZipError::FileNotFound) => return Ok(Vec::new()),
        Err(e) => return Err(InteropError::malformed(format!("{file}: {e}"))),
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| InteropError::malformed(format!("{file}: {e}")))?
        .clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| usize::try_from(p.line()).unwrap_or(0));
            InteropError::Malformed {
                line,
                message: format!("{file}: {e}"),
            }
        })?;
        let line = record
            .position()
            .map(|p| usize::try_from(p.line()).unwrap_or(0))
            .unwrap_or(0);
        let cells = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_owned(), v.to_owned()))
            .collect();
        out.push(Row { file, line, cells });
    }
    Ok(out)
}

fn entity(row: &Row) -> Result<Entity, InteropError> {
    let kind: crate::model::EntityKind = row.kind("kind")?;
    let money = row.money("total_amount")?;
    let (total_amount, total) = if kind.class() == EntityClass::Fund {
        (money, None)
    } else {
        (None, money)
    };
    let vote = match (
        row.parsed::<u32>("vote_yeas")?,
        row.parsed::<u32>("vote_nays")?,
    ) {
        (Some(yeas), Some(nays)) => Some(Vote { yeas, nays }),
        (None, None) => None,
        _ => return Err(row.err("a vote needs both `vote_yeas` and `vote_nays`")),
    };
    Ok(Entity::with_details(
        &row.required("id")?,
        kind,
        &row.required("name")?,
        row.list("aliases")?.into(),
        row.list::<Source>("sources")?.into(),
        EntityDetails {
            description: row.text("description").map(Into::into),
            rank: row.text("rank").map(Into::into),
            total_amount,
            fiscal_year: row.parsed("fiscal_year")?,
            vote,
            total,
            date: row.date("date")?,
            // Absent from files written before merges existed.
            merged_ids: row.list("merged_ids")?,
        },
    ))
}

fn relation(row: &Row) -> Result<Relation, InteropError> {
    let details = RelationDetails {
        role: row.text("role").map(Into::into),
        amount: row.money("amount")?,
        fiscal_year: row.parsed("fiscal_year")?,
        date: row.date("date")?,
        categories: row.list("categories")?.into(),
    };
    Ok(Relation::with_details(
        &row.required("id")?,
        row.kind("kind")?,
        (
            row.required("source")?.into(),
            row.required("target")?.into(),
        ),
        details,
        row.list::<Source>("sources")?.into(),
    ))
}

fn document(row: &Row) -> Result<Document, InteropError> {
    Ok(Document {
        id: row.required("id")?.into(),
        title: row.required("title")?.into(),
        publisher: row.required("publisher")?.into(),
        published_on: row.date("published_on")?,
        dateline: row.text("dateline").map(Into::into),
        text: row.required("text")?.into(),
    })
}

/// Reads a zip written by [`write`] back into a dataset.
pub(super) fn read(bytes: &[u8]) -> Result<Dataset, InteropError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| InteropError::malformed(format!("not a zip archive: {e}")))?;
    if archive.index_for_name(NODES).is_none() {
        return Err(InteropError::malformed(format!(
            "the archive has no {NODES}"
        )));
    }
    Ok(Dataset {
        document: None,
        documents: rows(&mut archive, DOCUMENTS)?
            .iter()
            .map(document)
            .collect::<Result<_, _>>()?,
        entities: rows(&mut archive, NODES)?
            .iter()
            .map(entity)
            .collect::<Result<_, _>>()?,
        relations: rows(&mut archive, EDGES)?
            .iter()
            .map(relation)
            .collect::<Result<_, _>>()?,
    })
}
