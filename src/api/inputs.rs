//! Input types of the mutations and of the relation filters, and their
//! conversion to the model.

use super::error::ApiError;
use super::types::{AmountQualifier, Date, EntityKind, RelationKind};
use crate::edit;
use crate::model::{
    Document, Entity, EntityDetails, Money, Relation, RelationDetails, Source, Sources, Vote,
};
use async_graphql::{Enum, InputObject, MaybeUndefined, ID};

/// Evidence for a fact.
#[derive(InputObject, Clone)]
pub struct SourceInput {
    /// Id of the document; the quote must occur in its text.
    pub document: ID,
    /// Verbatim words of the document (whitespace-normalised).
    pub quote: String,
}

/// An amount of money.
#[derive(InputObject, Clone)]
pub struct MoneyInput {
    /// Whole units of `currency`, not negative.
    pub amount: f64,
    /// ISO 4217 code.
    #[graphql(default_with = "Some(String::from(\"USD\"))")]
    pub currency: Option<String>,
    /// How exact the source is about it.
    #[graphql(default_with = "Some(AmountQualifier::Exact)")]
    pub qualifier: Option<AmountQualifier>,
}

/// A recorded vote.
#[derive(InputObject, Clone)]
pub struct VoteInput {
    /// Votes in favour.
    pub yeas: u32,
    /// Votes against.
    pub nays: u32,
}

/// A new entity.
#[derive(InputObject, Clone)]
pub struct EntityInput {
    /// Its id; a readable slug of the name when omitted.
    pub id: Option<ID>,
    /// What it is.
    pub kind: EntityKind,
    /// The full name as the source gives it.
    pub name: String,
    /// Acronyms and short forms.
    pub aliases: Option<Vec<String>>,
    /// A short description in the source's terms.
    pub description: Option<String>,
    /// Evidence; at least one.
    pub sources: Vec<SourceInput>,
    /// PERSON: rank or honorific.
    pub rank: Option<String>,
    /// FUND: the total the source states.
    pub total_amount: Option<MoneyInput>,
    /// FUND, LEGISLATION: the fiscal year.
    pub fiscal_year: Option<i32>,
    /// LEGISLATION: the passing vote.
    pub vote: Option<VoteInput>,
    /// LEGISLATION: the total it provides for.
    pub total: Option<MoneyInput>,
    /// EVENT: the day it took place.
    pub date: Option<Date>,
}

/// Changes to an entity; omitted fields stay as they are.
#[derive(InputObject, Clone)]
#[graphql(name = "EntityPatch")]
pub struct EntityPatchInput {
    /// New name.
    pub name: Option<String>,
    /// New aliases, replacing the old.
    pub aliases: Option<Vec<String>>,
    /// New description; null clears it.
    pub description: MaybeUndefined<String>,
    /// New evidence, replacing the old; at least one.
    pub sources: Option<Vec<SourceInput>>,
}

/// A new relation.
#[derive(InputObject, Clone)]
pub struct RelationInput {
    /// Its id; `from-kind-to` when omitted.
    pub id: Option<ID>,
    /// What it says.
    pub kind: RelationKind,
    /// Id of the entity it starts at.
    pub from: ID,
    /// Id of the entity it ends at.
    pub to: ID,
    /// HOLDS_POSITION: the position.
    pub role: Option<String>,
    /// AUTHORIZES, FUNDS: the money.
    pub amount: Option<MoneyInput>,
    /// The fiscal year the money is for.
    pub fiscal_year: Option<i32>,
    /// The day it happened.
    pub date: Option<Date>,
    /// SUPPORTS: the kinds of support the source lists.
    pub categories: Option<Vec<String>>,
    /// Evidence; at least one.
    pub sources: Vec<SourceInput>,
}

/// Changes to a relation; omitted fields stay as they are, null clears.
#[derive(InputObject, Clone)]
#[graphql(name = "RelationPatch")]
pub struct RelationPatchInput {
    /// New role.
    pub role: MaybeUndefined<String>,
    /// New amount.
    pub amount: MaybeUndefined<MoneyInput>,
    /// New fiscal year.
    pub fiscal_year: MaybeUndefined<i32>,
    /// New date.
    pub date: MaybeUndefined<Date>,
    /// New support categories.
    pub categories: Option<Vec<String>>,
    /// New evidence, replacing the old; at least one.
    pub sources: Option<Vec<SourceInput>>,
}

/// A new source document.
#[derive(InputObject, Clone)]
pub struct DocumentInput {
    /// Its id; a slug of the title when omitted. Give one to quote the
    /// document in the same ingest.
    pub id: Option<ID>,
    /// Headline or title.
    pub title: String,
    /// Who published it.
    pub publisher: String,
    /// Publication date.
    pub published_on: Option<Date>,
    /// Where it was filed from.
    pub dateline: Option<String>,
    /// The full text.
    pub text: String,
}

/// A document with its entities and relations, applied all or nothing.
#[derive(InputObject, Clone)]
pub struct IngestInput {
    /// The document.
    pub document: DocumentInput,
    /// Entities it evidences.
    pub entities: Vec<EntityInput>,
    /// Relations it evidences; their ends may be entities of this input.
    pub relations: Vec<RelationInput>,
}

fn sources(list: Vec<SourceInput>) -> Sources {
    list.into_iter()
        .map(|s| Source::new(s.document.0, s.quote))
        .collect()
}

/// Largest amount a GraphQL Float carries exactly.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

impl MoneyInput {
    fn into_model(self, field: &str) -> Result<Money, ApiError> {
        let a = self.amount;
        if !a.is_finite() || a.fract() != 0.0 || a.abs() > MAX_EXACT {
            return Err(ApiError::BadInput(format!(
                "`{field}.amount` must be a whole number of currency units, got {a}"
            )));
        }
        let money = Money {
            amount: a as i64,
            currency: self
                .currency
                .map_or_else(|| Money::DEFAULT_CURRENCY.into(), Into::into),
            qualifier: self.qualifier.unwrap_or(AmountQualifier::Exact).into(),
        };
        money
            .validate()
            .map_err(|e| ApiError::BadInput(format!("`{field}`: {e}")))?;
        Ok(money)
    }
}

fn money(m: Option<MoneyInput>, field: &str) -> Result<Option<Money>, ApiError> {
    m.map(|m| m.into_model(field)).transpose()
}

fn maybe<T, U>(
    m: MaybeUndefined<T>,
    f: impl FnOnce(T) -> Result<U, ApiError>,
) -> Result<Option<Option<U>>, ApiError> {
    Ok(match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v)?)),
    })
}

impl EntityInput {
    /// The given id and the entity (its id still empty).
    pub fn into_model(self) -> Result<(Option<String>, Entity), ApiError> {
        let entity = Entity::with_details(
            "",
            self.kind.into(),
            &self.name,
            self.aliases.unwrap_or_default().into(),
            sources(self.sources),
            EntityDetails {
                description: self.description.map(Into::into),
                rank: self.rank.map(Into::into),
                total_amount: money(self.total_amount, "totalAmount")?,
                fiscal_year: self.fiscal_year,
                vote: self.vote.map(|v| Vote {
                    yeas: v.yeas,
                    nays: v.nays,
                }),
                total: money(self.total, "total")?,
                date: self.date.map(|d| d.0),
                ..Default::default()
            },
        );
        Ok((self.id.map(|id| id.0), entity))
    }
}

impl From<EntityPatchInput> for edit::EntityPatch {
    fn from(p: EntityPatchInput) -> Self {
        edit::EntityPatch {
            name: p.name,
            aliases: p.aliases,
            description: match p.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            sources: p.sources.map(sources),
        }
    }
}

impl RelationInput {
    /// The given id and the relation (its id still empty).
    pub fn into_model(self) -> Result<(Option<String>, Relation), ApiError> {
        let details = RelationDetails {
            role: self.role.map(Into::into),
            amount: money(self.amount, "amount")?,
            fiscal_year: self.fiscal_year,
            date: self.date.map(|d| d.0),
            categories: self.categories.unwrap_or_default().into(),
        };
        let relation = Relation::with_details(
            "",
            self.kind.into(),
            (self.from.0.into(), self.to.0.into()),
            details,
            sources(self.sources),
        );
        Ok((self.id.map(|id| id.0), relation))
    }
}

impl RelationPatchInput {
    /// The domain patch.
    pub fn into_model(self) -> Result<edit::RelationPatch, ApiError> {
        Ok(edit::RelationPatch {
            role: maybe(self.role, Ok)?,
            amount: maybe(self.amount, |m| m.into_model("amount"))?,
            fiscal_year: maybe(self.fiscal_year, Ok)?,
            date: maybe(self.date, |d| Ok(d.0))?,
            categories: self.categories,
            sources: self.sources.map(sources),
        })
    }
}

impl IngestInput {
    /// The domain ingest.
    pub fn into_model(self) -> Result<edit::Ingest, ApiError> {
        let d = self.document;
        let document = Document {
            id: compact_str::CompactString::default(),
            title: d.title.into(),
            publisher: d.publisher.into(),
            published_on: d.published_on.map(|d| d.0),
            dateline: d.dateline.map(Into::into),
            text: d.text.into(),
        };
        Ok(edit::Ingest {
            document_id: d.id.map(|id| id.0),
            document,
            entities: self
                .entities
                .into_iter()
                .map(EntityInput::into_model)
                .collect::<Result<_, _>>()?,
            relations: self
                .relations
                .into_iter()
                .map(RelationInput::into_model)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Which relations a list keeps. Every condition given must hold (AND); a
/// condition left out keeps everything. Amount conditions compare the
/// value of the amount the source states, whatever its qualifier: a
/// relation with no stated amount never meets `amountAtLeast`,
/// `amountAtMost` or `currency`. An id (`from`, `to`, `document`) that
/// names nothing matches nothing and is not an error, as a `where` on an
/// unknown key answers an empty list in Hasura and a `MATCH` on a missing
/// node answers no rows in Cypher. A contradictory or malformed condition
/// (an amount or date range that is empty, a negative `minDocuments`, a
/// currency that is not an ISO code) is refused with `BAD_USER_INPUT`.
#[derive(InputObject, Clone, Default)]
pub struct RelationFilter {
    /// Only relations of these kinds.
    pub kinds: Option<Vec<RelationKind>>,
    /// Only relations that start at this entity.
    pub from: Option<ID>,
    /// Only relations that end at this entity.
    pub to: Option<ID>,
    /// Only relations for this fiscal year.
    pub fiscal_year: Option<i32>,
    /// Only relations whose stated amount is at least this (inclusive).
    pub amount_at_least: Option<f64>,
    /// Only relations whose stated amount is at most this (inclusive).
    pub amount_at_most: Option<f64>,
    /// Only relations whose stated amount is in this ISO 4217 currency
    /// (three capital letters, "USD").
    pub currency: Option<String>,
    /// Only relations dated on or after this day; undated relations never
    /// meet a date condition.
    pub date_from: Option<Date>,
    /// Only relations dated on or before this day.
    pub date_to: Option<Date>,
    /// Only relations with a source quoting this document.
    pub document: Option<ID>,
    /// Only relations whose sources quote at least this many distinct
    /// documents (corroboration); 0 and 1 keep every relation.
    pub min_documents: Option<i32>,
}

impl RelationFilter {
    /// The model's filter, checked.
    pub fn into_model(self) -> Result<crate::graph::RelationFilter, ApiError> {
        let f = crate::graph::RelationFilter {
            kinds: self
                .kinds
                .map(|ks| ks.into_iter().map(Into::into).collect()),
            from: self.from.map(|id| id.0),
            to: self.to.map(|id| id.0),
            fiscal_year: self.fiscal_year,
            amount_at_least: self.amount_at_least,
            amount_at_most: self.amount_at_most,
            currency: self.currency,
            date_from: self.date_from.map(|d| d.0),
            date_to: self.date_to.map(|d| d.0),
            document: self.document.map(|id| id.0),
            min_documents: self.min_documents,
        };
        f.validate()?;
        Ok(f)
    }
}

/// What relations are ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "crate::graph::RelationOrderField")]
pub enum RelationOrderField {
    /// The relation id.
    #[default]
    Id,
    /// The stated amount's value, whatever its currency (filter by
    /// `currency` to compare like with like).
    Amount,
    /// The date.
    Date,
    /// The fiscal year.
    FiscalYear,
}

/// Which way an order runs.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest (earliest) first.
    #[default]
    Asc,
    /// Largest (latest) first.
    Desc,
}

/// An order of relations. Relations without the field (no amount, date or
/// fiscal year stated) come last in both directions; ties go by id,
/// ascending.
#[derive(InputObject, Clone, Copy, Default)]
pub struct RelationOrder {
    /// What to order by.
    #[graphql(default)]
    pub field: RelationOrderField,
    /// Which way.
    #[graphql(default_with = "Some(OrderDirection::Asc)")]
    pub direction: Option<OrderDirection>,
}

impl From<RelationOrder> for crate::graph::RelationOrder {
    fn from(o: RelationOrder) -> Self {
        crate::graph::RelationOrder {
            field: o.field.into(),
            descending: o.direction == Some(OrderDirection::Desc),
        }
    }
}
