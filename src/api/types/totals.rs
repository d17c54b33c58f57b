//! Funding totals and timeline entries: the answers of `fundingTotals` and
//! `timeline`.

use super::entity::{Entity, EntityRef};
use super::objects::{DocumentObj, MoneyObj, RelationObj};
use super::scalars::Date;
use crate::analysis::timeline::{Dated, TimelineEntry};
use crate::analysis::totals::{FundingTotal, GroupKey};
use crate::graph::Graph;
use async_graphql::{Enum, Object};
use std::sync::Arc;

/// What `fundingTotals` groups relations by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::analysis::totals::Group")]
pub enum FundingGroup {
    /// The entity the money comes from (the relation's `from`).
    Source,
    /// The entity the money goes to (the relation's `to`).
    Recipient,
    /// The fiscal year the money is for. A year's row adds every relation
    /// of that year once; money that passes through several of them (a law
    /// authorizes it to a fund, the fund grants it on) is in each, so the
    /// row is the sum of what sources state, not of distinct money. Ask
    /// for one kind to keep to one step of such chains.
    FiscalYear,
}

/// One row of `fundingTotals`.
pub struct FundingTotalObj {
    g: Arc<Graph>,
    row: FundingTotal,
}

impl FundingTotalObj {
    /// Wraps a row of snapshot `g`.
    pub fn new(g: Arc<Graph>, row: FundingTotal) -> Self {
        FundingTotalObj { g, row }
    }
}

/// The stated amounts of one group's money relations in one currency,
/// added up here: a computed figure, not one any source states (the graph
/// keeps only what sources state). A group with amounts in two currencies
/// has two rows; amounts in different currencies are never added.
#[Object(name = "FundingTotal")]
impl FundingTotalObj {
    /// The source or recipient; null when grouped by FISCAL_YEAR.
    async fn entity(&self) -> Option<Entity> {
        match self.row.key {
            GroupKey::Entity(ix) => Some(
                EntityRef {
                    g: self.g.clone(),
                    ix,
                }
                .into_entity(),
            ),
            GroupKey::FiscalYear(_) => None,
        }
    }
    /// The fiscal year when grouped by FISCAL_YEAR (null for the row of
    /// relations that state no year); null otherwise.
    async fn fiscal_year(&self) -> Option<i32> {
        match self.row.key {
            GroupKey::FiscalYear(year) => year,
            GroupKey::Entity(_) => None,
        }
    }
    /// COMPUTED: the sum of the group's stated amounts in this currency,
    /// one level only (each relation once, never along a path). Its
    /// qualifier: all EXACT gives EXACT; EXACT with AT_LEAST gives
    /// AT_LEAST; EXACT with AT_MOST gives AT_MOST; any APPROXIMATE, or
    /// AT_LEAST with AT_MOST, gives APPROXIMATE. Relations with no amount
    /// do not change it (see `unstated`). A group whose relations state no
    /// amount at all has one row with an exact 0 (in the `currency` asked
    /// for, else USD) and `relations: 0`.
    async fn total(&self) -> MoneyObj {
        MoneyObj(self.row.total.clone())
    }
    /// Relations whose amounts are in `total`.
    async fn relations(&self) -> usize {
        self.row.relations
    }
    /// Relations of the group that state no amount, so are not in any
    /// total. Counted once per group: on its first row, the currency with
    /// the largest total (ties by currency code); 0 on its other rows.
    async fn unstated(&self) -> usize {
        self.row.unstated
    }
}

/// One entry of `timeline`.
pub struct TimelineEntryObj {
    g: Arc<Graph>,
    entry: TimelineEntry,
}

impl TimelineEntryObj {
    /// Wraps an entry of snapshot `g`.
    pub fn new(g: Arc<Graph>, entry: TimelineEntry) -> Self {
        TimelineEntryObj { g, entry }
    }
}

/// A dated thing: an event, a relation or a document's publication.
/// Exactly one of `entity`, `relation` and `document` is set: the thing
/// the date belongs to.
#[Object(name = "TimelineEntry")]
impl TimelineEntryObj {
    /// When.
    async fn date(&self) -> Date {
        Date(self.entry.date)
    }
    /// What happened, in a sentence: "Nov. 6 technical meeting took
    /// place", "Ministry A funds Force B (FY2024, $130 million)",
    /// "Document 'Title' published by Publisher".
    async fn label(&self) -> &str {
        &self.entry.label
    }
    /// The entity whose own date this is (an event).
    async fn entity(&self) -> Option<Entity> {
        match self.entry.item {
            Dated::Entity(ix) => Some(
                EntityRef {
                    g: self.g.clone(),
                    ix,
                }
                .into_entity(),
            ),
            _ => None,
        }
    }
    /// The relation whose date this is.
    async fn relation(&self) -> Option<RelationObj> {
        match self.entry.item {
            Dated::Relation(ix) => Some(RelationObj::new(self.g.clone(), ix)),
            _ => None,
        }
    }
    /// The document published that day.
    async fn document(&self) -> Option<DocumentObj> {
        match &self.entry.item {
            Dated::Document(id) => Some(DocumentObj::new(self.g.clone(), id)),
            _ => None,
        }
    }
}
