//! Relations: the directed, typed edges of the graph.

use super::entity::{validate_id, validate_year};
use super::{Money, RelationKind, Source, Sources};
use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use thin_vec::ThinVec;

/// A directed edge `from → to` with what it says and its evidence.
///
/// Reads and writes as one flat record (`id`, `kind`, `from`, `to`,
/// `role`, `amount`, `fiscalYear`, `date`, `categories`, `sources`).
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// Stable readable slug, unique among relations.
    pub id: CompactString,
    /// What the relation says.
    pub kind: RelationKind,
    /// Id of the entity it starts at; shared with the other relations of
    /// that entity in a loaded graph.
    pub from: EndId,
    /// Id of the entity it ends at; shared like `from`.
    pub to: EndId,
    /// What only some relations state, boxed: most relations state none of
    /// it, and each relation's size counts millions of times in a large
    /// graph. `None` when all of it is empty.
    details: super::Rare<RelationDetails>,
    /// Evidence; at least one.
    pub sources: Sources,
}

/// What only some relations state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelationDetails {
    /// HOLDS_POSITION: the position held ("Chief of Staff").
    pub role: Option<Box<str>>,
    /// AUTHORIZES, FUNDS: the money, as stated.
    pub amount: Option<Money>,
    /// The fiscal year the money is for.
    pub fiscal_year: Option<i32>,
    /// The day it happened, when stated.
    pub date: Option<NaiveDate>,
    /// SUPPORTS: the kinds of support the source lists ("logistical aid").
    pub categories: ThinVec<String>,
}

/// A relation as it is written and read.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RelationRecord<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    kind: RelationKind,
    #[serde(borrow)]
    from: Cow<'a, str>,
    #[serde(borrow)]
    to: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount: Option<Cow<'a, Money>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fiscal_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    categories: Cow<'a, [String]>,
    sources: Cow<'a, [Source]>,
}

impl Serialize for Relation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RelationRecord {
            id: Cow::Borrowed(&self.id),
            kind: self.kind,
            from: Cow::Borrowed(&self.from),
            to: Cow::Borrowed(&self.to),
            role: self.role().map(Cow::Borrowed),
            amount: self.amount().map(Cow::Borrowed),
            fiscal_year: self.fiscal_year(),
            date: self.date(),
            categories: Cow::Borrowed(self.categories()),
            sources: Cow::Borrowed(&self.sources),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Relation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = RelationRecord::deserialize(deserializer)?;
        let details = RelationDetails {
            role: r.role.map(|s| s.as_ref().into()),
            amount: r.amount.map(Cow::into_owned),
            fiscal_year: r.fiscal_year,
            date: r.date,
            categories: r.categories.into_owned().into(),
        };
        Ok(Relation::with_details(
            &r.id,
            r.kind,
            (r.from.as_ref().into(), r.to.as_ref().into()),
            details,
            r.sources.into_owned().into(),
        ))
    }
}

/// The id of a relation's end. A loaded graph keeps one copy of each
/// entity's id for all its relations, behind a pointer of one word: two
/// ends per relation, millions of relations.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndId(Arc<CompactString>);

impl EndId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both are the one shared copy.
    pub fn ptr_eq(&self, other: &EndId) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for EndId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for EndId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::hash::Hash for EndId {
    // As the id's text, so that maps keyed by ends are looked up by `&str`.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&str> for EndId {
    fn from(id: &str) -> Self {
        EndId(Arc::new(id.into()))
    }
}

impl From<String> for EndId {
    fn from(id: String) -> Self {
        EndId(Arc::new(id.into()))
    }
}

impl fmt::Display for EndId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for EndId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Relation {
    /// A bare relation with one source.
    pub fn new(id: &str, kind: RelationKind, from: &str, to: &str, source: Source) -> Self {
        Relation {
            id: id.into(),
            kind,
            from: from.into(),
            to: to.into(),
            details: None,
            sources: Sources::One(source),
        }
    }

    /// A relation with everything given.
    pub fn with_details(
        id: &str,
        kind: RelationKind,
        ends: (EndId, EndId),
        details: RelationDetails,
        sources: Sources,
    ) -> Self {
        let mut relation = Relation {
            id: id.into(),
            kind,
            from: ends.0,
            to: ends.1,
            details: None,
            sources,
        };
        relation.set_details(details);
        relation
    }

    /// The bytes of the longest text it holds: its id, an end's id, its
    /// role, a category, its amount's currency or a source's quote or
    /// document id (see [`super::Entity::longest_text`]).
    pub fn longest_text(&self) -> usize {
        super::longest(
            [
                self.id.len(),
                self.from.len(),
                self.to.len(),
                self.role().map_or(0, str::len),
                self.amount().map_or(0, |m| m.currency.len()),
            ]
            .into_iter()
            .chain(self.categories().iter().map(String::len))
            .chain(self.sources.iter().map(super::Source::longest_text)),
        )
    }

    /// HOLDS_POSITION: the position held ("Chief of Staff").
    pub fn role(&self) -> Option<&str> {
        self.details.as_ref()?.role.as_deref()
    }

    /// AUTHORIZES, FUNDS: the money, as stated.
    pub fn amount(&self) -> Option<&Money> {
        self.details.as_ref()?.amount.as_ref()
    }

    /// The fiscal year the money is for.
    pub fn fiscal_year(&self) -> Option<i32> {
        self.details.as_ref()?.fiscal_year
    }

    /// The day it happened, when stated.
    pub fn date(&self) -> Option<NaiveDate> {
        self.details.as_ref()?.date
    }

    /// SUPPORTS: the kinds of support the source lists ("logistical aid").
    pub fn categories(&self) -> &[String] {
        self.details.as_ref().map_or(&[], |d| &d.categories)
    }

    /// Changes what only some relations state.
    pub fn update_details(&mut self, change: impl FnOnce(&mut RelationDetails)) {
        super::change_rare(&mut self.details, |d| {
            change(d);
            d.categories.shrink_to_fit();
        });
    }

    /// Sets what only some relations state; nothing is kept for none.
    pub fn set_details(&mut self, mut details: RelationDetails) {
        details.categories.shrink_to_fit();
        self.details = super::rare(details);
    }

    /// Checks what can be checked without the graph: id, evidence, and that
    /// amounts, roles and categories sit on kinds that carry them.
    pub fn validate(&self) -> Result<(), String> {
        validate_id(&self.id)?;
        if self.sources.is_empty() {
            return Err("has no source: every relation needs evidence".into());
        }
        if self.amount().is_some() && !self.kind.carries_money() {
            return Err(format!(
                "`amount` is only for AUTHORIZES and FUNDS, not {}",
                self.kind
            ));
        }
        if let Some(amount) = self.amount() {
            amount.validate()?;
        }
        if let Some(role) = self.role() {
            if self.kind != RelationKind::HoldsPosition {
                return Err(format!(
                    "`role` is only for HOLDS_POSITION, not {}",
                    self.kind
                ));
            }
            if role.trim().is_empty() {
                return Err("role is empty".into());
            }
        }
        if !self.categories().is_empty() && self.kind != RelationKind::Supports {
            return Err(format!(
                "`categories` is only for SUPPORTS, not {}",
                self.kind
            ));
        }
        if let Some(year) = self.fiscal_year() {
            validate_year(year)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Source {
        Source::new("d", "q")
    }

    #[test]
    fn money_only_on_money_kinds() {
        let mut r = Relation::new("r", RelationKind::Supports, "a", "b", src());
        assert!(r.validate().is_ok());
        r.update_details(|d| d.amount = Some(Money::usd(1)));
        assert!(r.validate().unwrap_err().contains("amount"));
        r.kind = RelationKind::Funds;
        assert!(r.validate().is_ok());
        r.update_details(|d| d.amount = Some(Money::usd(-1)));
        assert!(r.validate().unwrap_err().contains("negative"));
    }

    #[test]
    fn role_only_on_positions() {
        let mut r = Relation::new("r", RelationKind::PartOf, "a", "b", src());
        r.update_details(|d| d.role = Some("Chief".into()));
        assert!(r.validate().is_err());
        r.kind = RelationKind::HoldsPosition;
        assert!(r.validate().is_ok());
    }

    #[test]
    fn reads_and_writes_one_flat_record() {
        let mut r = Relation::new("r", RelationKind::Funds, "a", "b", src());
        r.update_details(|d| d.amount = Some(Money::usd(5)));
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["amount"]["amount"], 5);
        assert!(json.get("role").is_none() && json.get("details").is_none());
        let back: Result<Relation, _> = serde_json::from_value(json.clone());
        assert!(back.is_ok_and(|b| b == r));
        let mut unknown = json;
        unknown["extra"] = 1.into();
        assert!(serde_json::from_value::<Relation>(unknown).is_err());
        // Emptied details take no room.
        r.update_details(|d| d.amount = None);
        assert_eq!(r, Relation::new("r", RelationKind::Funds, "a", "b", src()));
    }
}
