//! Relations: the directed, typed edges of the graph.

use super::entity::{validate_id, validate_year};
use super::{Money, RelationKind, Source, Sources};
use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use thin_vec::ThinVec;

/// A directed edge `from → to` with what it says and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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
    /// HOLDS_POSITION: the position held ("Chief of Staff").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Box<str>>,
    /// AUTHORIZES, FUNDS: the money, as stated. Boxed because most
    /// relations carry none, and each relation's size counts millions of
    /// times in a large graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Box<Money>>,
    /// The fiscal year the money is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_year: Option<i32>,
    /// The day it happened, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// SUPPORTS: the kinds of support the source lists ("logistical aid").
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    pub categories: ThinVec<String>,
    /// Evidence; at least one.
    pub sources: Sources,
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
            role: None,
            amount: None,
            fiscal_year: None,
            date: None,
            categories: ThinVec::new(),
            sources: smallvec::smallvec![source],
        }
    }

    /// Checks what can be checked without the graph: id, evidence, and that
    /// amounts, roles and categories sit on kinds that carry them.
    pub fn validate(&self) -> Result<(), String> {
        validate_id(&self.id)?;
        if self.sources.is_empty() {
            return Err("has no source: every relation needs evidence".into());
        }
        if self.amount.is_some() && !self.kind.carries_money() {
            return Err(format!(
                "`amount` is only for AUTHORIZES and FUNDS, not {}",
                self.kind
            ));
        }
        if let Some(amount) = &self.amount {
            amount.validate()?;
        }
        if let Some(role) = &self.role {
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
        if !self.categories.is_empty() && self.kind != RelationKind::Supports {
            return Err(format!(
                "`categories` is only for SUPPORTS, not {}",
                self.kind
            ));
        }
        if let Some(year) = self.fiscal_year {
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
        r.amount = Some(Box::new(Money::usd(1)));
        assert!(r.validate().unwrap_err().contains("amount"));
        r.kind = RelationKind::Funds;
        assert!(r.validate().is_ok());
        r.amount = Some(Box::new(Money::usd(-1)));
        assert!(r.validate().unwrap_err().contains("negative"));
    }

    #[test]
    fn role_only_on_positions() {
        let mut r = Relation::new("r", RelationKind::PartOf, "a", "b", src());
        r.role = Some("Chief".into());
        assert!(r.validate().is_err());
        r.kind = RelationKind::HoldsPosition;
        assert!(r.validate().is_ok());
    }
}
