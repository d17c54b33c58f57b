//! Entities: the nodes of the graph.

use super::{EntityClass, EntityKind, Money, Source, Sources};
use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use thin_vec::ThinVec;

/// A recorded vote on a piece of legislation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// Votes in favour.
    pub yeas: u32,
    /// Votes against.
    pub nays: u32,
}

/// A node of the graph: a person, body, fund, law, event or place, with the
/// evidence that the source documents give for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Entity {
    /// Stable readable slug, unique among entities. Ids and names are
    /// compact strings (inline up to 24 bytes): a graph holds millions.
    pub id: CompactString,
    /// What it is.
    pub kind: EntityKind,
    /// The full name as the source gives it.
    pub name: CompactString,
    /// Acronyms and short forms ("CTEF").
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    pub aliases: ThinVec<String>,
    /// A short description in the source's own terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Box<str>>,
    /// Evidence; at least one.
    pub sources: Sources,
    /// PERSON: military rank or honorific ("Lieutenant General").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<Box<str>>,
    /// FUND: the total the source states for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Box<Money>>,
    /// FUND, LEGISLATION: the fiscal year it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_year: Option<i32>,
    /// LEGISLATION: the passing vote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote: Option<Vote>,
    /// LEGISLATION: the total it provides for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Box<Money>>,
    /// EVENT: the day it took place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

impl Entity {
    /// A bare entity with one source and no kind-specific fields.
    pub fn new(id: &str, kind: EntityKind, name: &str, source: Source) -> Self {
        Entity {
            id: id.into(),
            kind,
            name: name.into(),
            aliases: ThinVec::new(),
            description: None,
            sources: smallvec::smallvec![source],
            rank: None,
            total_amount: None,
            fiscal_year: None,
            vote: None,
            total: None,
            date: None,
        }
    }

    /// Checks what can be checked without the rest of the graph: the id is a
    /// slug, the name is not blank, there is evidence, amounts are sound and
    /// kind-specific fields sit on the kinds they belong to.
    pub fn validate(&self) -> Result<(), String> {
        validate_id(&self.id)?;
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if self.aliases.iter().any(|a| a.trim().is_empty()) {
            return Err("an alias is empty".into());
        }
        if self.sources.is_empty() {
            return Err("has no source: every entity needs evidence".into());
        }
        let class = self.kind.class();
        let only = |present: bool, field: &str, allowed: &[EntityClass]| {
            if present && !allowed.contains(&class) {
                Err(format!(
                    "`{field}` is not a field of a {} entity",
                    self.kind
                ))
            } else {
                Ok(())
            }
        };
        only(self.rank.is_some(), "rank", &[EntityClass::Person])?;
        only(
            self.total_amount.is_some(),
            "totalAmount",
            &[EntityClass::Fund],
        )?;
        only(
            self.fiscal_year.is_some(),
            "fiscalYear",
            &[EntityClass::Fund, EntityClass::Legislation],
        )?;
        only(self.vote.is_some(), "vote", &[EntityClass::Legislation])?;
        only(self.total.is_some(), "total", &[EntityClass::Legislation])?;
        only(self.date.is_some(), "date", &[EntityClass::Event])?;
        for money in [&self.total_amount, &self.total].into_iter().flatten() {
            money.validate()?;
        }
        if let Some(year) = self.fiscal_year {
            validate_year(year)?;
        }
        Ok(())
    }
}

/// Ids are readable slugs: lowercase ASCII letters, digits and single
/// hyphens, starting with a letter or digit, at most 128 characters.
pub fn validate_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id `{id}` is not a slug (lowercase letters, digits and single hyphens, at most 128)"
        ))
    }
}

/// Fiscal years are four-digit years.
pub fn validate_year(year: i32) -> Result<(), String> {
    if (1000..=9999).contains(&year) {
        Ok(())
    } else {
        Err(format!("fiscal year {year} is not a four-digit year"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Source {
        Source::new("d", "q")
    }

    #[test]
    fn slugs() {
        assert!(validate_id("ministry-of-peshmerga").is_ok());
        assert!(validate_id("fy2026-ndaa").is_ok());
        for bad in ["", "Upper", "a--b", "-a", "a-", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kind_specific_fields() {
        let mut e = Entity::new("x", EntityKind::Person, "X", src());
        assert!(e.validate().is_ok());
        e.vote = Some(Vote { yeas: 1, nays: 2 });
        assert!(e.validate().unwrap_err().contains("vote"));
        let mut f = Entity::new("f", EntityKind::Fund, "F", src());
        f.total_amount = Some(Box::new(Money::usd(-5)));
        assert!(f.validate().unwrap_err().contains("negative"));
        f.total_amount = Some(Box::new(Money::usd(5)));
        f.fiscal_year = Some(26);
        assert!(f.validate().is_err());
        f.fiscal_year = Some(2026);
        assert!(f.validate().is_ok());
        f.sources.clear();
        assert!(f.validate().unwrap_err().contains("source"));
    }
}
