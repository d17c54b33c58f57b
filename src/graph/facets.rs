//! Relations by their facts: indexes of relations by amount, fiscal year
//! and date, and of what each document evidences, kept in step with every
//! edit (and built once at a bulk load), so that a selective filter reads
//! the few relations it names rather than the whole graph; and the filter
//! and order that relation lists take.

use super::{Graph, Walk};
use crate::model::{AmountQualifier, Entity, Relation, RelationKind};
use chrono::{Datelike, NaiveDate};
use compact_str::CompactString;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::RangeInclusive;
use thin_vec::ThinVec;
use thiserror::Error;

/// The indexes. Keys pair a fact with the relation's index, so that the
/// relations sharing one value are a range too, and removing one finds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Facets {
    by_amount: BTreeSet<(i64, EdgeIndex)>,
    by_year: BTreeSet<(i32, EdgeIndex)>,
    by_date: BTreeSet<(NaiveDate, EdgeIndex)>,
    /// Relations of the kinds that carry money, by recipient, with what
    /// totals read of them: a tenth of all relations, so that neither a
    /// total nor a filter on those kinds passes over the other nine, and a
    /// total by recipient finds each recipient's relations side by side.
    /// Other kinds are not indexed: most relations are of them, and an
    /// index would cost memory in both copies of the graph for filters
    /// that keep most of what they read.
    money: BTreeMap<(NodeIndex, RelationKind, EdgeIndex), Stored>,
    /// Relations with a source quoting the document.
    document_relations: HashMap<CompactString, Quoting<EdgeIndex>>,
    /// Entities with a source quoting the document.
    document_entities: HashMap<CompactString, Quoting<NodeIndex>>,
}

/// The items quoting one document: their indices, sorted, each once.
///
/// A sorted vector rather than a B-tree set: at 1M entities, 5M relations
/// and 300,000 documents a document is quoted by some 17 relations and 3
/// entities, for which a set's tree nodes took four to eight times the
/// indices themselves, about 130 MB in each copy of the graph. A new item
/// nearly always has the highest index, so it goes at the end; what a
/// removal moves is one document's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Quoting<T>(ThinVec<T>);

impl<T: Ord + Copy> Quoting<T> {
    fn insert(&mut self, ix: T) {
        if self.0.last().is_none_or(|last| *last < ix) {
            self.0.push(ix);
        } else if let Err(at) = self.0.binary_search(&ix) {
            self.0.insert(at, ix);
        }
    }

    /// Adds sorted indices, as a bulk load hands them over.
    fn extend(&mut self, sorted: Vec<T>) {
        if self.0.is_empty() {
            self.0 = sorted.into_iter().collect();
            self.0.dedup();
        } else {
            sorted.into_iter().for_each(|ix| self.insert(ix));
        }
    }

    fn remove(&mut self, ix: &T) {
        if let Ok(at) = self.0.binary_search(ix) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

/// What a total reads of a money relation, kept in its index entry so that
/// a total never reads the relation: at a million entities, reading each
/// relation and then its details (behind a pointer of their own) cost
/// four times the rest of the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyFacts {
    /// The relation's kind.
    pub kind: RelationKind,
    /// The entity the money comes from.
    pub from: NodeIndex,
    /// The entity it goes to.
    pub to: NodeIndex,
    /// The stated amount: figure, currency code and qualifier.
    pub amount: Option<(i64, [u8; 3], AmountQualifier)>,
    /// The fiscal year it is for.
    pub fiscal_year: Option<i32>,
}

/// What the money index holds beside its key (recipient, kind, relation):
/// the rest of [`MoneyFacts`], so that an entry is as small as it can be
/// and a total reads as few cache lines as it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    from: NodeIndex,
    amount: Option<(i64, [u8; 3], AmountQualifier)>,
    fiscal_year: Option<i32>,
}

impl Stored {
    fn of(from: NodeIndex, r: &Relation) -> Stored {
        Stored {
            from,
            amount: MoneyFacts::amount_of(r),
            fiscal_year: r.fiscal_year(),
        }
    }
}

impl MoneyFacts {
    /// A relation's stated amount as the index keeps it: figure, currency
    /// code, qualifier.
    pub fn amount_of(r: &Relation) -> Option<(i64, [u8; 3], AmountQualifier)> {
        // Relations in a graph are validated: the currency is three
        // capital letters.
        r.amount().map(|m| {
            let code = m.currency.as_bytes().try_into().unwrap_or(*b"XXX");
            (m.amount, code, m.qualifier)
        })
    }

    /// The currency code of the amount.
    pub fn currency(code: &[u8; 3]) -> &str {
        std::str::from_utf8(code).unwrap_or("XXX")
    }
}

/// Adds the sorted `keys` to `set`. Into an empty set (as a bulk load
/// builds it) they go in one pass that fills every node of the tree:
/// inserted one at a time in order, they would leave each node about half
/// full, and the indexes at twice the memory (in both copies of the graph).
fn extend_sorted<T: Ord>(set: &mut BTreeSet<T>, keys: Vec<T>) {
    if set.is_empty() {
        *set = keys.into_iter().collect();
    } else {
        set.extend(keys);
    }
}

impl Facets {
    /// The indexes of every relation and entity of `g`, as a fresh build.
    #[cfg(test)]
    pub(super) fn build(g: &Graph) -> Facets {
        let mut f = Facets::default();
        for ix in g.inner.node_indices() {
            f.insert_entity(ix, &g.inner[ix]);
        }
        f.insert_relations(g);
        f
    }

    /// Indexes every relation of `g` at once, as a bulk load ends: keys are
    /// sorted first so that the sets are built in one pass each.
    pub(super) fn insert_relations(&mut self, g: &Graph) {
        let mut amounts = Vec::new();
        let mut years = Vec::new();
        let mut dates = Vec::new();
        let mut money = Vec::new();
        let mut documents: HashMap<CompactString, Vec<EdgeIndex>> = HashMap::new();
        for e in (&g.inner).edge_references() {
            let (ix, r) = (e.id(), e.weight());
            if let Some(m) = r.amount() {
                amounts.push((m.amount, ix));
            }
            if let Some(y) = r.fiscal_year() {
                years.push((y, ix));
            }
            if let Some(d) = r.date() {
                dates.push((d, ix));
            }
            if r.kind.carries_money() {
                money.push(((e.target(), r.kind, ix), Stored::of(e.source(), r)));
            }
            for doc in distinct_documents(r) {
                documents.entry(doc.into()).or_default().push(ix);
            }
        }
        amounts.sort_unstable();
        years.sort_unstable();
        dates.sort_unstable();
        money.sort_unstable_by_key(|m| m.0);
        extend_sorted(&mut self.by_amount, amounts);
        if self.money.is_empty() {
            self.money = money.into_iter().collect();
        } else {
            self.money.extend(money);
        }
        extend_sorted(&mut self.by_year, years);
        extend_sorted(&mut self.by_date, dates);
        for (doc, mut ixs) in documents {
            ixs.sort_unstable();
            self.document_relations.entry(doc).or_default().extend(ixs);
        }
    }

    /// Indexes a relation added (or put back) at `ix`, between `ends`.
    pub(super) fn insert_relation(
        &mut self,
        ix: EdgeIndex,
        ends: (NodeIndex, NodeIndex),
        r: &Relation,
    ) {
        if let Some(m) = r.amount() {
            self.by_amount.insert((m.amount, ix));
        }
        if let Some(y) = r.fiscal_year() {
            self.by_year.insert((y, ix));
        }
        if let Some(d) = r.date() {
            self.by_date.insert((d, ix));
        }
        if r.kind.carries_money() {
            self.money
                .insert((ends.1, r.kind, ix), Stored::of(ends.0, r));
        }
        for doc in distinct_documents(r) {
            self.document_relations
                .entry(doc.into())
                .or_default()
                .insert(ix);
        }
    }

    /// Forgets the relation `r` at `ix`, between `ends`, as indexed.
    pub(super) fn remove_relation(
        &mut self,
        ix: EdgeIndex,
        ends: (NodeIndex, NodeIndex),
        r: &Relation,
    ) {
        if let Some(m) = r.amount() {
            self.by_amount.remove(&(m.amount, ix));
        }
        if let Some(y) = r.fiscal_year() {
            self.by_year.remove(&(y, ix));
        }
        if let Some(d) = r.date() {
            self.by_date.remove(&(d, ix));
        }
        if r.kind.carries_money() {
            self.money.remove(&(ends.1, r.kind, ix));
        }
        for doc in distinct_documents(r) {
            if let Some(set) = self.document_relations.get_mut(doc) {
                set.remove(&ix);
                if set.is_empty() {
                    self.document_relations.remove(doc);
                }
            }
        }
    }

    /// Indexes an entity added (or put back) at `ix`.
    pub(super) fn insert_entity(&mut self, ix: NodeIndex, e: &Entity) {
        for s in e.sources.iter() {
            self.document_entities
                .entry(s.document().into())
                .or_default()
                .insert(ix);
        }
    }

    /// Forgets the entity `e` at `ix`, as indexed.
    pub(super) fn remove_entity(&mut self, ix: NodeIndex, e: &Entity) {
        for s in e.sources.iter() {
            if let Some(set) = self.document_entities.get_mut(s.document()) {
                set.remove(&ix);
                if set.is_empty() {
                    self.document_entities.remove(s.document());
                }
            }
        }
    }
}

/// The distinct documents a relation's sources quote, in no set order.
fn distinct_documents(r: &Relation) -> impl Iterator<Item = &str> + '_ {
    r.sources
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            !r.sources
                .iter()
                .take(*i)
                .any(|t| t.document() == s.document())
        })
        .map(|(_, s)| s.document())
}

/// A relation filter the graph cannot answer: what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct BadFilter(pub String);

/// Which relations a list keeps: every condition given must hold (AND);
/// an absent condition keeps everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelationFilter {
    /// Only relations of these kinds.
    pub kinds: Option<Vec<RelationKind>>,
    /// Only relations from the entity with this id (none when unknown).
    pub from: Option<String>,
    /// Only relations to the entity with this id (none when unknown).
    pub to: Option<String>,
    /// Only relations for this fiscal year.
    pub fiscal_year: Option<i32>,
    /// Only relations whose stated amount is at least this.
    pub amount_at_least: Option<f64>,
    /// Only relations whose stated amount is at most this.
    pub amount_at_most: Option<f64>,
    /// Only relations whose stated amount is in this currency.
    pub currency: Option<String>,
    /// Only relations dated on or after this day.
    pub date_from: Option<NaiveDate>,
    /// Only relations dated on or before this day.
    pub date_to: Option<NaiveDate>,
    /// Only relations with a source quoting this document (none when
    /// unknown).
    pub document: Option<String>,
    /// Only relations whose sources quote at least this many distinct
    /// documents.
    pub min_documents: Option<i32>,
}

/// What relations are ordered by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RelationOrderField {
    /// The relation id.
    #[default]
    Id,
    /// The stated amount's value, whatever its currency.
    Amount,
    /// The date.
    Date,
    /// The fiscal year.
    FiscalYear,
}

/// An order of relations: relations without the field come last either
/// way, and ties go by id, ascending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelationOrder {
    /// What to order by.
    pub field: RelationOrderField,
    /// Largest first.
    pub descending: bool,
}

impl RelationFilter {
    /// Refuses a filter that could only be a mistake: an empty amount or
    /// date range, a negative document count, a currency that is not an
    /// ISO 4217 code, an amount bound that is not a number.
    pub fn validate(&self) -> Result<(), BadFilter> {
        let bad = |m: String| Err(BadFilter(m));
        for (name, v) in [
            ("amountAtLeast", self.amount_at_least),
            ("amountAtMost", self.amount_at_most),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return bad(format!("`{name}` must be a finite number"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.amount_at_least, self.amount_at_most) {
            if lo > hi {
                return bad(format!(
                    "`amountAtLeast` ({lo}) is above `amountAtMost` ({hi}): no amount is in that range"
                ));
            }
        }
        if let (Some(from), Some(to)) = (self.date_from, self.date_to) {
            if from > to {
                return bad(format!(
                    "`dateFrom` ({from}) is after `dateTo` ({to}): no date is in that range"
                ));
            }
        }
        if let Some(n) = self.min_documents.filter(|n| *n < 0) {
            return bad(format!("`minDocuments` must not be negative, got {n}"));
        }
        if let Some(c) = &self.currency {
            if !crate::model::Money::is_currency_code(c) {
                return bad(format!(
                    "`currency` must be an ISO 4217 code of three capital letters (\"USD\"), got {c:?}"
                ));
            }
        }
        Ok(())
    }

    /// The amounts the bounds admit, as whole units; `None` when no amount
    /// condition is given, an empty range when none can match.
    fn amount_range(&self) -> Option<RangeInclusive<i64>> {
        if self.amount_at_least.is_none() && self.amount_at_most.is_none() {
            return None;
        }
        // Casts saturate; the exact comparison is made again on each
        // candidate in `holds`.
        let lo = self.amount_at_least.map_or(i64::MIN, |v| v.ceil() as i64);
        let hi = self.amount_at_most.map_or(i64::MAX, |v| v.floor() as i64);
        Some(lo..=hi)
    }

    fn date_range(&self) -> Option<RangeInclusive<NaiveDate>> {
        if self.date_from.is_none() && self.date_to.is_none() {
            return None;
        }
        Some(self.date_from.unwrap_or(NaiveDate::MIN)..=self.date_to.unwrap_or(NaiveDate::MAX))
    }

    /// Whether the relation at `ix` meets every condition.
    fn holds(&self, g: &Graph, ix: EdgeIndex) -> bool {
        let r = &g.inner[ix];
        if self.kinds.as_ref().is_some_and(|ks| !ks.contains(&r.kind)) {
            return false;
        }
        if self.from.as_deref().is_some_and(|id| *r.from != *id)
            || self.to.as_deref().is_some_and(|id| *r.to != *id)
        {
            return false;
        }
        if self.fiscal_year.is_some() && r.fiscal_year() != self.fiscal_year {
            return false;
        }
        let amount = r.amount();
        let amount_asked = self.amount_at_least.is_some()
            || self.amount_at_most.is_some()
            || self.currency.is_some();
        if amount_asked {
            let Some(m) = amount else { return false };
            let v = m.amount as f64;
            if self.amount_at_least.is_some_and(|lo| v < lo)
                || self.amount_at_most.is_some_and(|hi| v > hi)
                || self.currency.as_deref().is_some_and(|c| m.currency != c)
            {
                return false;
            }
        }
        if let Some(range) = self.date_range() {
            if !r.date().is_some_and(|d| range.contains(&d)) {
                return false;
            }
        }
        if let Some(doc) = &self.document {
            if !r.sources.iter().any(|s| s.document() == doc) {
                return false;
            }
        }
        if let Some(n) = self.min_documents {
            let n = usize::try_from(n).unwrap_or(0);
            if n > 1 && distinct_documents(r).take(n).count() < n {
                return false;
            }
        }
        true
    }
}

/// Where the candidates of a filter come from: one index, or failing any,
/// every relation in scope.
type Candidates<'g> = Box<dyn Iterator<Item = EdgeIndex> + 'g>;

impl Graph {
    /// The relations that meet `filter`, in `order`. The filter must have
    /// passed [`RelationFilter::validate`]. Candidates come from the most
    /// selective index the filter names (its ends, document, amount range,
    /// fiscal year, date range, or kinds that all carry money), and the other conditions are checked on
    /// each; only a filter that names none of them reads every relation.
    pub fn filter_relations<'g>(
        &'g self,
        filter: &'g RelationFilter,
        order: RelationOrder,
    ) -> Vec<EdgeIndex> {
        let mut sources: Vec<Box<dyn Fn() -> Candidates<'g> + 'g>> = Vec::new();
        for (id, dir) in [
            (&filter.from, petgraph::Direction::Outgoing),
            (&filter.to, petgraph::Direction::Incoming),
        ] {
            if let Some(id) = id {
                let Some(ix) = self.entity_ix(id) else {
                    return Vec::new();
                };
                sources.push(Box::new(move || {
                    Box::new(self.inner.edges_directed(ix, dir).map(|e| e.id()))
                }));
            }
        }
        if let Some(doc) = &filter.document {
            let Some(set) = self.facets.document_relations.get(doc.as_str()) else {
                return Vec::new();
            };
            sources.push(Box::new(move || Box::new(set.iter().copied())));
        }
        if let Some(range) = filter.amount_range() {
            if range.is_empty() {
                return Vec::new();
            }
            sources.push(Box::new(move || {
                let (lo, hi) = (*range.start(), *range.end());
                let keys = (lo, EdgeIndex::new(0))..=(hi, EdgeIndex::end());
                Box::new(self.facets.by_amount.range(keys).map(|k| k.1))
            }));
        }
        if let Some(kinds) = filter
            .kinds
            .as_ref()
            .filter(|ks| ks.iter().all(|k| k.carries_money()))
        {
            sources.push(Box::new(move || {
                Box::new(
                    self.money_facts()
                        .filter(|(_, f)| kinds.contains(&f.kind))
                        .map(|(ix, _)| ix),
                )
            }));
        }
        if let Some(y) = filter.fiscal_year {
            sources.push(Box::new(move || {
                let keys = (y, EdgeIndex::new(0))..=(y, EdgeIndex::end());
                Box::new(self.facets.by_year.range(keys).map(|k| k.1))
            }));
        }
        if let Some(range) = filter.date_range() {
            if range.is_empty() {
                return Vec::new();
            }
            sources.push(Box::new(move || {
                let (lo, hi) = (*range.start(), *range.end());
                let keys = (lo, EdgeIndex::new(0))..=(hi, EdgeIndex::end());
                Box::new(self.facets.by_date.range(keys).map(|k| k.1))
            }));
        }
        // The fewest candidates: each index is counted only as far as the
        // best so far, so the choice costs about what the answer does.
        let mut best: Option<(usize, usize)> = None;
        for (i, source) in sources.iter().enumerate() {
            let limit = best.map_or(usize::MAX, |(_, n)| n);
            let n = source().take(limit).count();
            if n < limit {
                best = Some((i, n));
            }
        }
        let mut hits: Vec<EdgeIndex> = match best.and_then(|(i, _)| sources.get(i)) {
            Some(source) => source().filter(|ix| filter.holds(self, *ix)).collect(),
            None => {
                // Read in id order, which an id order keeps as it is.
                let hits = self.relations().filter(|ix| filter.holds(self, *ix));
                let hits: Vec<EdgeIndex> = hits.collect();
                return self.ordered(hits, order, true);
            }
        };
        hits.sort_unstable();
        hits.dedup();
        self.ordered(hits, order, false)
    }

    /// The relations of entity `ix` that `walk` follows and that meet
    /// `filter`, in `order`; as [`Graph::filter_relations`] otherwise.
    pub fn filter_relations_of(
        &self,
        ix: NodeIndex,
        walk: &Walk,
        filter: &RelationFilter,
        order: RelationOrder,
    ) -> Vec<EdgeIndex> {
        let hits: Vec<EdgeIndex> = self
            .steps(ix, walk)
            .into_iter()
            .map(|s| s.edge)
            .filter(|e| filter.holds(self, *e))
            .collect();
        // Steps come in relation id order.
        self.ordered(hits, order, true)
    }

    /// `hits` in `order`; `by_id` when they are in ascending id order.
    fn ordered(
        &self,
        mut hits: Vec<EdgeIndex>,
        order: RelationOrder,
        by_id: bool,
    ) -> Vec<EdgeIndex> {
        let id = |ix: &EdgeIndex| self.inner[*ix].id.as_str();
        let by = |key: &dyn Fn(&Relation) -> Option<i64>, hits: &mut Vec<EdgeIndex>| {
            hits.sort_by(|a, b| {
                let (ka, kb) = (key(&self.inner[*a]), key(&self.inner[*b]));
                let first = match (ka, kb) {
                    (Some(x), Some(y)) if order.descending => y.cmp(&x),
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                first.then_with(|| id(a).cmp(id(b)))
            });
        };
        match order.field {
            RelationOrderField::Id => {
                if !by_id {
                    hits.sort_by(|a, b| id(a).cmp(id(b)));
                }
                if order.descending {
                    hits.reverse();
                }
            }
            RelationOrderField::Amount => by(&|r| r.amount().map(|m| m.amount), &mut hits),
            RelationOrderField::FiscalYear => by(&|r| r.fiscal_year().map(i64::from), &mut hits),
            RelationOrderField::Date => by(
                &|r| r.date().map(|d| i64::from(d.num_days_from_ce())),
                &mut hits,
            ),
        }
        hits
    }

    /// Relations for fiscal year `year`, in index order (not id order).
    pub fn relations_in_fiscal_year(&self, year: i32) -> impl Iterator<Item = EdgeIndex> + '_ {
        let keys = (year, EdgeIndex::new(0))..=(year, EdgeIndex::end());
        self.facets.by_year.range(keys).map(|k| k.1)
    }

    /// Every relation of a kind that carries money, with what totals read
    /// of it: a recipient's relations side by side, in index order.
    pub fn money_facts(&self) -> impl Iterator<Item = (EdgeIndex, MoneyFacts)> + '_ {
        self.facets.money.iter().map(|(&(to, kind, ix), s)| {
            let facts = MoneyFacts {
                kind,
                from: s.from,
                to,
                amount: s.amount,
                fiscal_year: s.fiscal_year,
            };
            (ix, facts)
        })
    }

    /// Relations with a stated amount, smallest first (ties in index
    /// order), whatever the currency.
    pub fn relations_by_amount(&self) -> impl DoubleEndedIterator<Item = EdgeIndex> + '_ {
        self.facets.by_amount.iter().map(|k| k.1)
    }

    /// Relations with a source quoting document `id`, ordered by id.
    pub fn document_relations(&self, id: &str) -> Vec<EdgeIndex> {
        let mut ixs: Vec<EdgeIndex> = self
            .facets
            .document_relations
            .get(id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        ixs.sort_by(|a, b| self.inner[*a].id.cmp(&self.inner[*b].id));
        ixs
    }

    /// Entities with a source quoting document `id`, ordered by id.
    pub fn document_entities(&self, id: &str) -> Vec<NodeIndex> {
        let mut ixs: Vec<NodeIndex> = self
            .facets
            .document_entities
            .get(id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        ixs.sort_by(|a, b| self.inner[*a].id.cmp(&self.inner[*b].id));
        ixs
    }

    /// The documents quoted by entity `ix`'s sources or by its relations'
    /// sources, each once, ordered by id.
    pub fn entity_documents(&self, ix: NodeIndex) -> Vec<&str> {
        let own = self.inner[ix].sources.iter().map(|s| s.document());
        let steps = self.steps(ix, &Walk::any());
        let mut docs: Vec<&str> = own
            .chain(
                steps
                    .iter()
                    .flat_map(|s| s.relation.sources.iter().map(|s| s.document())),
            )
            .collect();
        docs.sort_unstable();
        docs.dedup();
        docs
    }

    /// Whether the indexes equal a fresh build from the graph's items.
    #[cfg(test)]
    pub(crate) fn facets_consistent(&self) -> bool {
        self.facets == Facets::build(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::graph::Bulk;
    use crate::model::{EntityKind as K, Money, RelationDetails, Source, Sources};

    /// A small deterministic generator (xorshift), enough to vary edits.
    struct Draw(u64);
    impl Draw {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
        fn chance(&mut self) -> bool {
            self.below(2) == 0
        }
    }

    const FUNDS: [&str; 3] = ["f1", "f2", "f3"];
    const FORCES: [&str; 3] = ["a1", "a2", "a3"];
    const DOCS: [&str; 3] = ["doc", "doc2", "doc3"];

    fn base() -> Graph {
        let mut g = graph(&[]);
        for d in &DOCS[1..] {
            assert_eq!(g.add_document(document(d)), Ok(()));
        }
        for f in FUNDS {
            let _ = g.add_entity(Entity::new(f, K::Fund, f, source()));
        }
        for a in FORCES {
            let _ = g.add_entity(Entity::new(a, K::ArmedForce, a, source()));
        }
        g
    }

    fn day(d: &mut Draw) -> NaiveDate {
        NaiveDate::from_ymd_opt(2014 + d.below(4) as i32, 1 + d.below(12) as u32, 1)
            .unwrap_or_default()
    }

    /// A FUNDS relation with drawn facts and sources.
    fn drawn(d: &mut Draw, id: &str, from: &str, to: &str) -> Relation {
        let mut sources = Sources::new();
        for _ in 0..=d.below(3) {
            sources.push(Source::new(DOCS[d.below(3) as usize], TEXT));
        }
        // A quarter support, which carries no money.
        let kind = if d.below(4) == 0 {
            RelationKind::Supports
        } else {
            RelationKind::Funds
        };
        let money = kind.carries_money();
        let details = RelationDetails {
            amount: (money && d.chance()).then(|| {
                let mut m = Money::usd(1000 * d.below(20) as i64);
                if d.below(4) == 0 {
                    m.currency = "EUR".into();
                }
                m
            }),
            fiscal_year: (money && d.chance()).then(|| 2014 + d.below(4) as i32),
            date: d.chance().then(|| day(d)),
            ..RelationDetails::default()
        };
        Relation::with_details(id, kind, (from.into(), to.into()), details, sources)
    }

    fn drawn_filter(d: &mut Draw) -> RelationFilter {
        let mut f = RelationFilter::default();
        let pick = |d: &mut Draw, of: &[&str]| of[d.below(of.len() as u64) as usize].to_owned();
        if d.below(4) == 0 {
            // Money kinds alone start from their index; with another kind
            // they cannot.
            use RelationKind::{Authorizes, Funds, Supports};
            let kinds: [&[RelationKind]; 5] = [
                &[Funds],
                &[Supports],
                &[Authorizes, Funds],
                &[Funds, Funds],
                &[Funds, Supports],
            ];
            f.kinds = Some(kinds[d.below(5) as usize].to_vec());
        }
        if d.below(4) == 0 {
            f.from = Some(pick(d, &["f1", "f2", "f3", "nobody"]));
        }
        if d.below(4) == 0 {
            f.to = Some(pick(d, &["a1", "a2", "a3", "nobody"]));
        }
        if d.below(3) == 0 {
            f.fiscal_year = Some(2014 + d.below(4) as i32);
        }
        if d.below(3) == 0 {
            let lo = (d.below(12) * 1000) as f64 - 500.0;
            f.amount_at_least = Some(lo);
            if d.chance() {
                f.amount_at_most = Some(lo + (d.below(10) * 1000) as f64);
            }
        } else if d.below(4) == 0 {
            f.amount_at_most = Some((d.below(20) * 1000) as f64);
        }
        if d.below(5) == 0 {
            f.currency = Some(pick(d, &["USD", "EUR"]));
        }
        if d.below(3) == 0 {
            let from = day(d);
            f.date_from = Some(from);
            if d.chance() {
                f.date_to = Some(from + chrono::Days::new(d.below(600)));
            }
        }
        if d.below(3) == 0 {
            f.document = Some(pick(d, &["doc", "doc2", "doc3", "nodoc"]));
        }
        if d.below(4) == 0 {
            f.min_documents = Some(d.below(4) as i32);
        }
        f
    }

    /// The filter and order written out plainly over every relation.
    fn plain(g: &Graph, f: &RelationFilter, order: RelationOrder) -> Vec<String> {
        let mut hits: Vec<&Relation> = g
            .relations()
            .map(|ix| g.relation_at(ix))
            .filter(|r| {
                let amount = r.amount();
                let docs: std::collections::HashSet<&str> =
                    r.sources.iter().map(|s| s.document()).collect();
                f.kinds.as_ref().is_none_or(|k| k.contains(&r.kind))
                    && f.from.as_ref().is_none_or(|id| *r.from == **id)
                    && f.to.as_ref().is_none_or(|id| *r.to == **id)
                    && f.fiscal_year.is_none_or(|y| r.fiscal_year() == Some(y))
                    && f.amount_at_least
                        .is_none_or(|lo| amount.is_some_and(|m| m.amount as f64 >= lo))
                    && f.amount_at_most
                        .is_none_or(|hi| amount.is_some_and(|m| m.amount as f64 <= hi))
                    && f.currency
                        .as_ref()
                        .is_none_or(|c| amount.is_some_and(|m| m.currency == c))
                    && f.date_from
                        .is_none_or(|lo| r.date().is_some_and(|d| d >= lo))
                    && f.date_to.is_none_or(|hi| r.date().is_some_and(|d| d <= hi))
                    && f.document
                        .as_ref()
                        .is_none_or(|d| docs.contains(d.as_str()))
                    && f.min_documents.is_none_or(|n| docs.len() as i32 >= n)
            })
            .collect();
        let key = |r: &Relation| match order.field {
            RelationOrderField::Id => None,
            RelationOrderField::Amount => r.amount().map(|m| m.amount),
            RelationOrderField::FiscalYear => r.fiscal_year().map(i64::from),
            RelationOrderField::Date => r.date().map(|d| i64::from(d.num_days_from_ce())),
        };
        hits.sort_by(|a, b| {
            if order.field == RelationOrderField::Id {
                let by_id = a.id.cmp(&b.id);
                return if order.descending {
                    by_id.reverse()
                } else {
                    by_id
                };
            }
            match (key(a), key(b)) {
                (Some(x), Some(y)) if order.descending => y.cmp(&x),
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| a.id.cmp(&b.id))
        });
        hits.into_iter().map(|r| r.id.to_string()).collect()
    }

    fn ids(g: &Graph, ixs: &[EdgeIndex]) -> Vec<String> {
        ixs.iter()
            .map(|ix| g.relation_at(*ix).id.to_string())
            .collect()
    }

    fn check_filters(g: &Graph, d: &mut Draw) {
        for _ in 0..20 {
            let f = drawn_filter(d);
            if f.validate().is_err() {
                continue;
            }
            let field = [
                RelationOrderField::Id,
                RelationOrderField::Amount,
                RelationOrderField::Date,
                RelationOrderField::FiscalYear,
            ][d.below(4) as usize];
            let order = RelationOrder {
                field,
                descending: d.chance(),
            };
            assert_eq!(
                ids(g, &g.filter_relations(&f, order)),
                plain(g, &f, order),
                "{f:?} {order:?}"
            );
        }
    }

    #[test]
    fn indexes_equal_a_fresh_build_through_edits_and_undos() {
        let mut d = Draw(0x9e37_79b9_7f4a_7c15);
        let mut g = base();
        g.begin_undo();
        let mut next = 0;
        for step in 0..600 {
            let mark = g.undo_mark();
            for _ in 0..=d.below(4) {
                let rids: Vec<String> = g
                    .relations()
                    .map(|ix| g.relation_at(ix).id.to_string())
                    .collect();
                match d.below(6) {
                    0 | 1 => {
                        next += 1;
                        let from = FUNDS[d.below(3) as usize];
                        let to = FORCES[d.below(3) as usize];
                        let r = drawn(&mut d, &format!("r{next}"), from, to);
                        // Refused only when its force was removed.
                        assert_eq!(g.add_relation(r).is_ok(), g.entity(to).is_some());
                    }
                    2 if !rids.is_empty() => {
                        let id = &rids[d.below(rids.len() as u64) as usize];
                        let old = g.relation(id).cloned().unwrap_or_else(|| panic!("{id}"));
                        // New facts, the same kind: a kind cannot change.
                        let mut r = drawn(&mut d, id, &old.from, &old.to);
                        if r.kind != old.kind {
                            r.kind = old.kind;
                            if !r.kind.carries_money() {
                                r.update_details(|d| {
                                    d.amount = None;
                                    d.fiscal_year = None;
                                });
                            }
                        }
                        assert_eq!(g.replace_relation(r), Ok(()));
                    }
                    3 if !rids.is_empty() => {
                        let id = &rids[d.below(rids.len() as u64) as usize];
                        assert!(g.remove_relation(id).is_ok());
                    }
                    4 => {
                        // An entity quoting other documents, then gone with
                        // its relations, or back.
                        let id = FORCES[d.below(3) as usize];
                        if let Some(mut e) = g.entity(id).cloned() {
                            e.sources = Sources::new();
                            e.sources.push(Source::new(DOCS[d.below(3) as usize], TEXT));
                            assert_eq!(g.replace_entity(e), Ok(()));
                        }
                    }
                    _ => {
                        let id = FORCES[d.below(3) as usize];
                        if g.entity(id).is_some() {
                            assert!(g.remove_entity(id, true).is_ok());
                        } else {
                            let e = Entity::new(id, K::ArmedForce, id, Source::new("doc2", TEXT));
                            assert!(g.add_entity(e).is_ok());
                        }
                    }
                }
            }
            if d.below(3) == 0 {
                assert_eq!(g.undo_to(mark), Ok(()));
            }
            assert!(g.facets_consistent(), "after step {step}");
            if step % 50 == 0 {
                check_filters(&g, &mut d);
                // A copy (the live service's second one) keeps them too.
                assert!(g.clone().facets_consistent());
            }
        }
        g.end_undo();
        check_filters(&g, &mut d);
    }

    #[test]
    fn a_bulk_load_indexes_what_edits_would() {
        let mut d = Draw(7);
        let mut g = base();
        for i in 0..200 {
            let r = drawn(
                &mut d,
                &format!("r{i:03}"),
                FUNDS[i % 3],
                FORCES[(i / 3) % 3],
            );
            assert!(g.add_relation(r).is_ok());
        }
        let mut b = Bulk::with_capacity(6, 200);
        let built = (|| {
            for doc in g.documents() {
                b.document(doc.clone())?;
            }
            for ix in g.entities() {
                b.entity(g.entity_at(ix).clone())?;
            }
            for ix in g.relations() {
                b.relation(g.relation_at(ix).clone())?;
            }
            b.finish().map_err(|e| (String::new(), e))
        })();
        let loaded = built.unwrap_or_else(|(id, e)| panic!("{id}: {e}"));
        assert!(loaded.facets_consistent());
        assert!(
            !loaded.facets.by_amount.is_empty()
                && !loaded.facets.money.is_empty()
                && !loaded.facets.document_relations.is_empty()
        );
        check_filters(&loaded, &mut d);
    }

    #[test]
    fn documents_lead_to_what_they_evidence() {
        let mut g = base();
        let mut r = drawn(&mut Draw(3), "r1", "f1", "a1");
        r.sources = Sources::new();
        r.sources.push(Source::new("doc3", TEXT));
        assert!(g.add_relation(r).is_ok());
        let names = |ixs: Vec<NodeIndex>| -> Vec<String> {
            ixs.into_iter()
                .map(|ix| g.entity_at(ix).id.to_string())
                .collect()
        };
        assert_eq!(
            names(g.document_entities("doc")),
            ["a1", "a2", "a3", "f1", "f2", "f3"]
        );
        assert!(g.document_entities("doc3").is_empty());
        assert_eq!(ids(&g, &g.document_relations("doc3")), ["r1"]);
        assert!(g.document_relations("nodoc").is_empty());
        let a1 = g.entity_ix("a1").unwrap_or_default();
        assert_eq!(g.entity_documents(a1), ["doc", "doc3"]);
        let a2 = g.entity_ix("a2").unwrap_or_default();
        assert_eq!(g.entity_documents(a2), ["doc"]);
    }

    #[test]
    fn refuses_filters_that_can_only_be_mistakes() {
        let bad = |f: RelationFilter| f.validate().is_err();
        assert!(bad(RelationFilter {
            amount_at_least: Some(10.0),
            amount_at_most: Some(5.0),
            ..RelationFilter::default()
        }));
        assert!(bad(RelationFilter {
            date_from: NaiveDate::from_ymd_opt(2015, 2, 1),
            date_to: NaiveDate::from_ymd_opt(2015, 1, 1),
            ..RelationFilter::default()
        }));
        assert!(bad(RelationFilter {
            min_documents: Some(-1),
            ..RelationFilter::default()
        }));
        for c in ["", "usd", "DOLLARS", "US"] {
            assert!(bad(RelationFilter {
                currency: Some(c.into()),
                ..RelationFilter::default()
            }));
        }
        assert!(bad(RelationFilter {
            amount_at_most: Some(f64::NAN),
            ..RelationFilter::default()
        }));
        assert!(!bad(RelationFilter {
            amount_at_least: Some(5.0),
            amount_at_most: Some(5.0),
            currency: Some("EUR".into()),
            min_documents: Some(0),
            ..RelationFilter::default()
        }));
    }
}
