//! Entities: the nodes of the graph.

use super::{EntityClass, EntityKind, Money, Source, Sources};
use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
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
///
/// Reads and writes as one flat record (`id`, `kind`, `name`, `aliases`,
/// `description`, `sources`, `rank`, `totalAmount`, `fiscalYear`, `vote`,
/// `total`, `date`, `mergedIds`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// Stable readable slug, unique among entities. Ids and names are
    /// compact strings (inline up to 24 bytes): a graph holds millions.
    pub id: CompactString,
    /// What it is.
    pub kind: EntityKind,
    /// The full name as the source gives it.
    pub name: CompactString,
    /// Acronyms and short forms ("CTEF").
    pub aliases: ThinVec<String>,
    /// Evidence; at least one.
    pub sources: Sources,
    /// What only some entities state, boxed as for relations; `None` when
    /// all of it is empty.
    details: super::Rare<EntityDetails>,
}

/// What only some entities state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityDetails {
    /// A short description in the source's own terms.
    pub description: Option<Box<str>>,
    /// PERSON: military rank or honorific ("Lieutenant General").
    pub rank: Option<Box<str>>,
    /// FUND: the total the source states for it.
    pub total_amount: Option<Money>,
    /// FUND, LEGISLATION: the fiscal year it is for.
    pub fiscal_year: Option<i32>,
    /// LEGISLATION: the passing vote.
    pub vote: Option<Vote>,
    /// LEGISLATION: the total it provides for.
    pub total: Option<Money>,
    /// EVENT: the day it took place.
    pub date: Option<NaiveDate>,
    /// The ids of the entities merged into this one, transitively, ordered
    /// by id. They stay reserved and keep resolving to this entity.
    pub merged_ids: Vec<CompactString>,
}

/// An entity as it is written and read.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EntityRecord<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    kind: EntityKind,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    aliases: Cow<'a, [String]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<Cow<'a, str>>,
    sources: Cow<'a, [Source]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rank: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_amount: Option<Cow<'a, Money>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fiscal_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vote: Option<Vote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total: Option<Cow<'a, Money>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<NaiveDate>,
    // Skipped when empty, so records written before merging existed (and
    // those of entities never merged into) read and write as they did.
    #[serde(default, skip_serializing_if = "<[CompactString]>::is_empty")]
    merged_ids: Cow<'a, [CompactString]>,
}

impl Serialize for Entity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EntityRecord {
            id: Cow::Borrowed(&self.id),
            kind: self.kind,
            name: Cow::Borrowed(&self.name),
            aliases: Cow::Borrowed(&self.aliases),
            description: self.description().map(Cow::Borrowed),
            sources: Cow::Borrowed(&self.sources),
            rank: self.rank().map(Cow::Borrowed),
            total_amount: self.total_amount().map(Cow::Borrowed),
            fiscal_year: self.fiscal_year(),
            vote: self.vote(),
            total: self.total().map(Cow::Borrowed),
            date: self.date(),
            merged_ids: Cow::Borrowed(self.merged_ids()),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Entity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = EntityRecord::deserialize(deserializer)?;
        let details = EntityDetails {
            description: r.description.map(|s| s.as_ref().into()),
            rank: r.rank.map(|s| s.as_ref().into()),
            total_amount: r.total_amount.map(Cow::into_owned),
            fiscal_year: r.fiscal_year,
            vote: r.vote,
            total: r.total.map(Cow::into_owned),
            date: r.date,
            merged_ids: r.merged_ids.into_owned(),
        };
        Ok(Entity::with_details(
            &r.id,
            r.kind,
            &r.name,
            r.aliases.into_owned().into(),
            r.sources.into_owned().into(),
            details,
        ))
    }
}

impl Entity {
    /// A bare entity with one source and no kind-specific fields.
    pub fn new(id: &str, kind: EntityKind, name: &str, source: Source) -> Self {
        Entity {
            id: id.into(),
            kind,
            name: name.into(),
            aliases: ThinVec::new(),
            sources: Sources::One(source),
            details: None,
        }
    }

    /// The bytes of the longest text it holds: its id, name, an alias, a
    /// detail, a merged id or a source's quote or document id. What a
    /// reader can get of it is no longer, which bounds an answer's size
    /// before it is computed (see the graph's `longest_text`).
    pub fn longest_text(&self) -> usize {
        let details = self.details.as_deref().map_or(0, |d| {
            super::longest(
                [
                    d.description.as_deref().map_or(0, str::len),
                    d.rank.as_deref().map_or(0, str::len),
                    d.total_amount.as_ref().map_or(0, |m| m.currency.len()),
                    d.total.as_ref().map_or(0, |m| m.currency.len()),
                ]
                .into_iter()
                .chain(d.merged_ids.iter().map(|id| id.len())),
            )
        });
        super::longest(
            [self.id.len(), self.name.len(), details]
                .into_iter()
                .chain(self.aliases.iter().map(String::len))
                .chain(self.sources.iter().map(super::Source::longest_text)),
        )
    }

    /// An entity with everything given.
    pub fn with_details(
        id: &str,
        kind: EntityKind,
        name: &str,
        aliases: ThinVec<String>,
        sources: Sources,
        details: EntityDetails,
    ) -> Self {
        let mut entity = Entity {
            id: id.into(),
            kind,
            name: name.into(),
            aliases,
            sources,
            details: None,
        };
        entity.set_details(details);
        entity
    }

    /// A short description in the source's own terms.
    pub fn description(&self) -> Option<&str> {
        self.details.as_ref()?.description.as_deref()
    }

    /// PERSON: military rank or honorific ("Lieutenant General").
    pub fn rank(&self) -> Option<&str> {
        self.details.as_ref()?.rank.as_deref()
    }

    /// FUND: the total the source states for it.
    pub fn total_amount(&self) -> Option<&Money> {
        self.details.as_ref()?.total_amount.as_ref()
    }

    /// FUND, LEGISLATION: the fiscal year it is for.
    pub fn fiscal_year(&self) -> Option<i32> {
        self.details.as_ref()?.fiscal_year
    }

    /// LEGISLATION: the passing vote.
    pub fn vote(&self) -> Option<Vote> {
        self.details.as_ref()?.vote
    }

    /// LEGISLATION: the total it provides for.
    pub fn total(&self) -> Option<&Money> {
        self.details.as_ref()?.total.as_ref()
    }

    /// EVENT: the day it took place.
    pub fn date(&self) -> Option<NaiveDate> {
        self.details.as_ref()?.date
    }

    /// The ids merged into this entity (see [`EntityDetails::merged_ids`]).
    pub fn merged_ids(&self) -> &[CompactString] {
        self.details
            .as_ref()
            .map_or(&[], |d| d.merged_ids.as_slice())
    }

    /// Changes what only some entities state.
    pub fn update_details(&mut self, change: impl FnOnce(&mut EntityDetails)) {
        super::change_rare(&mut self.details, change);
    }

    /// Sets what only some entities state; nothing is kept for none.
    pub fn set_details(&mut self, details: EntityDetails) {
        self.details = super::rare(details);
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
        only(self.rank().is_some(), "rank", &[EntityClass::Person])?;
        only(
            self.total_amount().is_some(),
            "totalAmount",
            &[EntityClass::Fund],
        )?;
        only(
            self.fiscal_year().is_some(),
            "fiscalYear",
            &[EntityClass::Fund, EntityClass::Legislation],
        )?;
        only(self.vote().is_some(), "vote", &[EntityClass::Legislation])?;
        only(self.total().is_some(), "total", &[EntityClass::Legislation])?;
        only(self.date().is_some(), "date", &[EntityClass::Event])?;
        for money in [self.total_amount(), self.total()].into_iter().flatten() {
            money.validate()?;
        }
        if let Some(year) = self.fiscal_year() {
            validate_year(year)?;
        }
        for merged in self.merged_ids() {
            validate_id(merged)?;
            if *merged == self.id {
                return Err(format!("entity `{}` cannot be merged into itself", self.id));
            }
        }
        if self.merged_ids().windows(2).any(|w| w[0] >= w[1]) {
            return Err("merged ids must be ordered and distinct".into());
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
        e.update_details(|d| d.vote = Some(Vote { yeas: 1, nays: 2 }));
        assert!(e.validate().unwrap_err().contains("vote"));
        let mut f = Entity::new("f", EntityKind::Fund, "F", src());
        f.update_details(|d| d.total_amount = Some(Money::usd(-5)));
        assert!(f.validate().unwrap_err().contains("negative"));
        f.update_details(|d| d.total_amount = Some(Money::usd(5)));
        f.update_details(|d| d.fiscal_year = Some(26));
        assert!(f.validate().is_err());
        f.update_details(|d| d.fiscal_year = Some(2026));
        assert!(f.validate().is_ok());
        f.sources.clear();
        assert!(f.validate().unwrap_err().contains("source"));
    }

    #[test]
    fn merged_ids_are_stored_only_when_there_are_some() {
        let plain = Entity::new("x", EntityKind::Person, "X", src());
        let json = serde_json::to_string(&plain).unwrap_or_default();
        assert!(!json.contains("mergedIds"), "{json}");
        let mut merged = plain.clone();
        merged.update_details(|d| d.merged_ids = vec!["a".into(), "b".into()]);
        let json = serde_json::to_string(&merged).unwrap_or_default();
        assert!(json.contains(r#""mergedIds":["a","b"]"#), "{json}");
        let back: Option<Entity> = serde_json::from_str(&json).ok();
        assert_eq!(
            back.as_ref().map(Entity::merged_ids),
            Some(merged.merged_ids())
        );
        merged.update_details(|d| d.merged_ids = vec!["x".into()]);
        assert!(merged.validate().is_err());
    }
}
