//! Funding totals: the stated amounts of money relations added up per
//! source, per recipient or per fiscal year.
//!
//! A total adds amounts of one level only (each relation once, never along
//! a path, so nothing is counted twice) and never across currencies. It is
//! computed here: the graph itself keeps only what sources state.

use crate::graph::{Graph, MoneyFacts};
use crate::model::{AmountQualifier, Money, RelationKind};
use compact_str::CompactString;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use thiserror::Error;

/// What a row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The entity the money comes from (`from`).
    Source,
    /// The entity it goes to (`to`).
    Recipient,
    /// The fiscal year it is for.
    FiscalYear,
}

/// Which relations to add up, and how to group them.
#[derive(Debug, Clone)]
pub struct TotalsQuery {
    /// What a row stands for.
    pub group: Group,
    /// The relation kinds counted; each must carry money.
    pub kinds: Vec<RelationKind>,
    /// Only relations for this fiscal year (relations stating none are
    /// left out).
    pub fiscal_year: Option<i32>,
    /// Only amounts in this currency; relations with no amount still count
    /// as unstated, since nothing says they are in another currency.
    pub currency: Option<CompactString>,
    /// Only the first this many rows, in answer order; all without it.
    /// Cheaper than taking them from all rows sorted: only the rows that
    /// can be among the first are ordered fully.
    pub first: Option<usize>,
}

/// What one row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// A source or recipient.
    Entity(NodeIndex),
    /// A fiscal year; `None` for relations that state none.
    FiscalYear(Option<i32>),
}

/// One row: the sum of a group's stated amounts in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingTotal {
    /// The group.
    pub key: GroupKey,
    /// The computed sum, with the qualifier the contract's rules give it.
    /// A group whose relations state no amount at all has one row with an
    /// exact 0 (in the asked currency, else USD) and `relations: 0`.
    pub total: Money,
    /// Relations whose amounts are in `total`.
    pub relations: usize,
    /// Relations of the group with no amount: counted once per group, on
    /// its first row (the currency with the largest total; ties by code).
    pub unstated: usize,
}

/// The rows of a question, and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// The rows in answer order: all of them, or the first `first`.
    pub rows: Vec<FundingTotal>,
    /// How many rows the question has without `first`.
    pub count: usize,
}

/// A total that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TotalsError {
    /// The sum is larger than an amount can hold.
    #[error(
        "a total in {currency} ({sum}) is larger than an amount can hold; narrow the question \
         with `fiscalYear` or group it otherwise"
    )]
    Overflow {
        /// The currency of the row.
        currency: CompactString,
        /// The sum, exact.
        sum: i128,
    },
    /// A relation kind that carries no money was asked for.
    #[error("`kinds` may only name relation kinds that carry money (AUTHORIZES, FUNDS), not {0}")]
    NotMoney(RelationKind),
    /// No relation kind was asked for.
    #[error("`kinds` must name at least one relation kind")]
    NoKinds,
}

/// The qualifier of a sum, by the contract's rules: all `EXACT` → `EXACT`;
/// `EXACT` with `AT_LEAST` → `AT_LEAST`; `EXACT` with `AT_MOST` →
/// `AT_MOST`; any `APPROXIMATE`, or `AT_LEAST` with `AT_MOST` →
/// `APPROXIMATE`. Associative and commutative, with `EXACT` as identity, so
/// it folds in any order.
pub fn combine(a: AmountQualifier, b: AmountQualifier) -> AmountQualifier {
    use AmountQualifier::*;
    match (a, b) {
        (Exact, q) | (q, Exact) => q,
        (Approximate, _) | (_, Approximate) => Approximate,
        (AtLeast, AtLeast) => AtLeast,
        (AtMost, AtMost) => AtMost,
        (AtLeast, AtMost) | (AtMost, AtLeast) => Approximate,
    }
}

/// The sum of one group's amounts in one currency, so far.
#[derive(Debug)]
struct CurrencySum {
    /// The code's three letters: a group's sums are kept small, as there
    /// are as many groups as recipients.
    currency: [u8; 3],
    sum: i128,
    qualifier: AmountQualifier,
    relations: usize,
}

#[derive(Debug)]
struct GroupSums {
    key: GroupKey,
    /// Nearly every group has one currency.
    by_currency: SmallVec<[CurrencySum; 1]>,
    unstated: usize,
}

/// One relation that counts, as a total reads it: its group and its
/// amount (figure, currency code, qualifier), if stated.
#[derive(Clone, Copy)]
struct Counted {
    key: GroupKey,
    amount: Option<(i64, [u8; 3], AmountQualifier)>,
}

/// The groups so far. A relation of the group before it needs no look-up,
/// and when relations come with each group's side by side (the money
/// index by recipient) there is no look-up at all: at a million entities,
/// finding each relation's group in a table, hashed or dense, cost a cache
/// miss per relation, and sorting them first cost as much.
struct Groups {
    groups: Vec<GroupSums>,
    /// Where each group is, when its relations may come apart.
    at: Option<HashMap<GroupKey, usize, foldhash::fast::RandomState>>,
    /// When groups come side by side and only a page of rows is asked:
    /// each group is weighed once it is complete and kept only if it can
    /// be on the page, so a million groups never become a million-long
    /// vector (building it was most of what a page of totals cost).
    page: Option<Page>,
}

impl Groups {
    /// Groups for relations that come grouped (`side_by_side`) or not,
    /// for all rows or the `first` few.
    fn new(side_by_side: bool, first: Option<usize>) -> Groups {
        Groups {
            groups: Vec::new(),
            at: (!side_by_side).then(HashMap::default),
            page: first.filter(|_| side_by_side).map(Page::new),
        }
    }

    fn add(&mut self, c: Counted) -> Result<(), TotalsError> {
        let last = self.groups.len().checked_sub(1);
        let i = match last {
            Some(i) if self.groups[i].key == c.key => i,
            _ => {
                let fresh = GroupSums {
                    key: c.key,
                    by_currency: SmallVec::new(),
                    unstated: 0,
                };
                let next = self.groups.len();
                // The group before is complete: its place is taken unless
                // it may be on the page.
                if let (Some(page), Some(last)) = (&mut self.page, last) {
                    if !page.keeps(&self.groups[last]) {
                        self.groups[last] = fresh;
                        return self.add_to(last, c);
                    }
                }
                let i = match &mut self.at {
                    Some(at) => *at.entry(c.key).or_insert(next),
                    None => next,
                };
                if i == next {
                    self.groups.push(fresh);
                }
                i
            }
        };
        self.add_to(i, c)
    }

    /// The groups that may have rows in the answer, and how many rows
    /// all groups have.
    fn finish(mut self) -> (Vec<GroupSums>, usize) {
        match &mut self.page {
            Some(page) => {
                if let Some(last) = self.groups.last() {
                    if !page.keeps(last) {
                        self.groups.pop();
                    }
                }
                (self.groups, page.rows)
            }
            None => {
                let rows = self.groups.iter().map(GroupSums::rows).sum();
                (self.groups, rows)
            }
        }
    }

    fn add_to(&mut self, i: usize, c: Counted) -> Result<(), TotalsError> {
        let group = &mut self.groups[i];
        let Some((figure, code, qualifier)) = c.amount else {
            group.unstated += 1;
            return Ok(());
        };
        match group.by_currency.iter_mut().find(|s| s.currency == code) {
            Some(s) => {
                // An i128 holds the sum of 2^64 amounts of i64::MAX, so
                // this fails only on a graph no machine holds; still an
                // error, not a panic.
                s.sum =
                    s.sum
                        .checked_add(i128::from(figure))
                        .ok_or_else(|| TotalsError::Overflow {
                            currency: MoneyFacts::currency(&code).into(),
                            sum: s.sum,
                        })?;
                s.qualifier = combine(s.qualifier, qualifier);
                s.relations += 1;
            }
            None => group.by_currency.push(CurrencySum {
                currency: code,
                sum: i128::from(figure),
                qualifier,
                relations: 1,
            }),
        }
        Ok(())
    }
}

impl GroupSums {
    /// A group has a row per currency, or one row of zero.
    fn rows(&self) -> usize {
        self.by_currency.len().max(1)
    }

    /// The largest of the group's sums: none of its rows is larger.
    fn largest(&self) -> i128 {
        self.by_currency.iter().map(|s| s.sum).max().unwrap_or(0)
    }
}

/// The groups weighed so far for a page of `n` rows.
struct Page {
    n: usize,
    /// The largest sums of the `n` groups whose largest sums are largest
    /// so far, the smallest of them on top.
    best: BinaryHeap<Reverse<i128>>,
    /// The rows of every group weighed, kept or not.
    rows: usize,
}

impl Page {
    fn new(n: usize) -> Page {
        Page {
            n,
            best: BinaryHeap::with_capacity(n.saturating_add(1).min(1 << 16)),
            rows: 0,
        }
    }

    /// Whether the complete group `g` may have a row among the first `n`.
    /// A group is let go only when `n` groups seen already have a row
    /// larger than any of its rows: the `n` largest rows are then
    /// elsewhere, whatever comes after. Those that tie stay, as ids decide.
    fn keeps(&mut self, g: &GroupSums) -> bool {
        self.rows += g.rows();
        if self.n == 0 {
            return false;
        }
        let largest = g.largest();
        if self.best.len() < self.n {
            self.best.push(Reverse(largest));
            return true;
        }
        match self.best.peek() {
            Some(&Reverse(least)) if largest > least => {
                self.best.pop();
                self.best.push(Reverse(largest));
                true
            }
            Some(&Reverse(least)) => largest == least,
            None => true,
        }
    }
}

/// The totals of `q` over the graph. Relations come from an index: those
/// of the asked fiscal year when one is asked, else the facts the index
/// of money relations keeps, so that relations that cannot count are
/// never read, and those that can are not read either.
pub fn funding_totals(g: &Graph, q: &TotalsQuery) -> Result<Totals, TotalsError> {
    check(q)?;
    if let Some(y) = q.fiscal_year {
        return funding_totals_among(g, q, g.relations_in_fiscal_year(y));
    }
    let mut groups = Groups::new(q.group == Group::Recipient, q.first);
    for (_, f) in g.money_facts() {
        if let Some(c) = count(q, f.kind, (f.from, f.to), f.amount, f.fiscal_year) {
            groups.add(c)?;
        }
    }
    let (groups, count) = groups.finish();
    rows(g, groups, count, q)
}

/// The totals of `q` over `candidates` only: for a caller that can name
/// the relations that may count, so that the rest are never looked at.
/// Each candidate must be a relation of `g`, given once; candidates that
/// do not match `q` are skipped, so a superset is fine.
pub fn funding_totals_among(
    g: &Graph,
    q: &TotalsQuery,
    candidates: impl IntoIterator<Item = EdgeIndex>,
) -> Result<Totals, TotalsError> {
    check(q)?;
    let mut groups = Groups::new(false, q.first);
    for e in candidates {
        let r = g.relation_at(e);
        let amount = MoneyFacts::amount_of(r);
        if let Some(c) = count(q, r.kind, g.ends(e), amount, r.fiscal_year()) {
            groups.add(c)?;
        }
    }
    let (groups, count) = groups.finish();
    rows(g, groups, count, q)
}

/// Refuses a question that names no kind, or one that carries no money.
fn check(q: &TotalsQuery) -> Result<(), TotalsError> {
    if q.kinds.is_empty() {
        return Err(TotalsError::NoKinds);
    }
    match q.kinds.iter().find(|k| !k.carries_money()) {
        Some(k) => Err(TotalsError::NotMoney(*k)),
        None => Ok(()),
    }
}

/// One relation of `kind` between `ends`, with its amount and fiscal
/// year, as it counts toward `q`; `None` when `q` leaves it out.
fn count(
    q: &TotalsQuery,
    kind: RelationKind,
    (from, to): (NodeIndex, NodeIndex),
    amount: Option<(i64, [u8; 3], AmountQualifier)>,
    fiscal_year: Option<i32>,
) -> Option<Counted> {
    if !q.kinds.contains(&kind) || (q.fiscal_year.is_some() && fiscal_year != q.fiscal_year) {
        return None;
    }
    if let (Some(want), Some((_, code, _))) = (&q.currency, amount) {
        if MoneyFacts::currency(&code) != want.as_str() {
            return None;
        }
    }
    let key = match q.group {
        Group::Source => GroupKey::Entity(from),
        Group::Recipient => GroupKey::Entity(to),
        Group::FiscalYear => GroupKey::FiscalYear(fiscal_year),
    };
    Some(Counted { key, amount })
}

/// The rows of the groups, in [`sort_rows`] order: all, or the first
/// `q.first`; `count` rows in all.
fn rows(
    g: &Graph,
    mut groups: Vec<GroupSums>,
    count: usize,
    q: &TotalsQuery,
) -> Result<Totals, TotalsError> {
    if let Some(n) = q.first {
        keep_largest_groups(&mut groups, n);
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut group in groups {
        group
            .by_currency
            .sort_by(|a, b| b.sum.cmp(&a.sum).then_with(|| a.currency.cmp(&b.currency)));
        if group.by_currency.is_empty() {
            // Only relations with no amount: a row of zero keeps them seen.
            let currency = q
                .currency
                .clone()
                .unwrap_or_else(|| CompactString::const_new(Money::DEFAULT_CURRENCY));
            out.push(FundingTotal {
                key: group.key,
                total: Money {
                    amount: 0,
                    currency,
                    qualifier: AmountQualifier::Exact,
                },
                relations: 0,
                unstated: group.unstated,
            });
            continue;
        }
        let mut unstated = group.unstated;
        for s in group.by_currency {
            let currency = CompactString::from(MoneyFacts::currency(&s.currency));
            let amount = i64::try_from(s.sum).map_err(|_| TotalsError::Overflow {
                currency: currency.clone(),
                sum: s.sum,
            })?;
            out.push(FundingTotal {
                key: group.key,
                total: Money {
                    amount,
                    currency,
                    qualifier: s.qualifier,
                },
                relations: s.relations,
                unstated: std::mem::take(&mut unstated),
            });
        }
    }
    if let Some(n) = q.first.filter(|n| *n < out.len()) {
        keep_largest(&mut out, n);
    }
    sort_rows(g, &mut out);
    out.truncate(q.first.unwrap_or(usize::MAX));
    Ok(Totals { rows: out, count })
}

/// Drops every group none of whose rows can be among the first `n`: each
/// group's largest row is at most its largest sum, and at least `n` rows
/// reach the `n`th largest of those, so a group below it has no row in
/// the first `n`. Groups are made rows only after this, which at a
/// million entities is most of what answering a page of them costs.
fn keep_largest_groups(groups: &mut Vec<GroupSums>, n: usize) {
    let largest = GroupSums::largest;
    let Some(last) = n.checked_sub(1) else {
        groups.clear();
        return;
    };
    if last >= groups.len() {
        return;
    }
    let mut sums: Vec<i128> = groups.iter().map(largest).collect();
    let (_, nth, _) = sums.select_nth_unstable_by(last, |a, b| b.cmp(a));
    let bound = *nth;
    groups.retain(|g| largest(g) >= bound);
}

/// Drops every row that cannot be among the first `n` in [`sort_rows`]
/// order, looking only at totals: the rows past the `n`th largest total
/// go, those tied with it stay (their order needs the ids).
fn keep_largest(rows: &mut Vec<FundingTotal>, n: usize) {
    let Some(last) = n.checked_sub(1) else {
        rows.clear();
        return;
    };
    if last >= rows.len() {
        return;
    }
    let (_, nth, _) = rows.select_nth_unstable_by(last, |a, b| b.total.amount.cmp(&a.total.amount));
    let bound = nth.total.amount;
    rows.retain(|r| r.total.amount >= bound);
}

/// Orders rows as the API answers them: by total (the figure, whatever
/// the currency), largest first, then by entity id or fiscal year (no year
/// last), then by currency code.
fn sort_rows(g: &Graph, rows: &mut [FundingTotal]) {
    // Keys read once per row: totals tie often (single round amounts), and
    // comparing ids through the graph at every comparison costs a cache
    // miss each time.
    rows.sort_by_cached_key(|r| {
        let group = match r.key {
            GroupKey::Entity(n) => (0u8, g.entity_at(n).id.clone(), false, 0),
            GroupKey::FiscalYear(Some(y)) => (1, CompactString::default(), false, y),
            GroupKey::FiscalYear(None) => (1, CompactString::default(), true, 0),
        };
        (
            std::cmp::Reverse(r.total.amount),
            group,
            r.total.currency.clone(),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{AmountQualifier as Q, EntityKind as K, Relation, RelationKind as R};

    fn money(amount: i64, currency: &str, qualifier: Q) -> Money {
        Money {
            amount,
            currency: currency.into(),
            qualifier,
        }
    }

    fn add_rel(
        g: &mut Graph,
        id: &str,
        kind: R,
        ends: (&str, &str),
        amount: Option<Money>,
        year: Option<i32>,
    ) {
        let mut r = Relation::new(id, kind, ends.0, ends.1, source());
        r.update_details(|d| {
            d.amount = amount;
            d.fiscal_year = year;
        });
        rel_with(g, r);
    }

    fn q(group: Group) -> TotalsQuery {
        TotalsQuery {
            group,
            kinds: vec![R::Funds],
            fiscal_year: None,
            currency: None,
            first: None,
        }
    }

    /// As the API answers: sorted, keys named.
    fn run(g: &Graph, q: &TotalsQuery) -> Vec<(String, i64, String, Q, usize, usize)> {
        let rows = match funding_totals(g, q) {
            Ok(t) => t.rows,
            Err(e) => panic!("{e}"),
        };
        rows.into_iter()
            .map(|r| {
                let key = match r.key {
                    GroupKey::Entity(n) => g.entity_at(n).id.to_string(),
                    GroupKey::FiscalYear(y) => y.map_or("-".into(), |y| y.to_string()),
                };
                (
                    key,
                    r.total.amount,
                    r.total.currency.to_string(),
                    r.total.qualifier,
                    r.relations,
                    r.unstated,
                )
            })
            .collect()
    }

    fn row(
        key: &str,
        amount: i64,
        cur: &str,
        q: Q,
        relations: usize,
        unstated: usize,
    ) -> (String, i64, String, Q, usize, usize) {
        (key.into(), amount, cur.into(), q, relations, unstated)
    }

    #[test]
    fn qualifier_rules() {
        use Q::*;
        let all = [Exact, AtLeast, AtMost, Approximate];
        let table = [
            (Exact, Exact, Exact),
            (Exact, AtLeast, AtLeast),
            (Exact, AtMost, AtMost),
            (Exact, Approximate, Approximate),
            (AtLeast, AtLeast, AtLeast),
            (AtMost, AtMost, AtMost),
            (AtLeast, AtMost, Approximate),
            (AtLeast, Approximate, Approximate),
            (AtMost, Approximate, Approximate),
            (Approximate, Approximate, Approximate),
        ];
        for (a, b, want) in table {
            assert_eq!(combine(a, b), want, "{a:?} with {b:?}");
            assert_eq!(combine(b, a), want, "{b:?} with {a:?}");
        }
        // Any order of folding gives one answer.
        for a in all {
            for b in all {
                for c in all {
                    assert_eq!(combine(combine(a, b), c), combine(a, combine(b, c)));
                }
            }
        }
    }

    /// One recipient per qualifier rule, each funded twice by `fund`.
    #[test]
    fn each_rule_through_the_sum() {
        let mut g = graph(&[
            ("fund", K::Fund),
            ("exact", K::ArmedForce),
            ("least", K::ArmedForce),
            ("most", K::ArmedForce),
            ("approx", K::ArmedForce),
            ("mixed", K::ArmedForce),
        ]);
        let pairs = [
            ("exact", Q::Exact, Q::Exact),
            ("least", Q::Exact, Q::AtLeast),
            ("most", Q::AtMost, Q::Exact),
            ("approx", Q::Exact, Q::Approximate),
            ("mixed", Q::AtLeast, Q::AtMost),
        ];
        for (i, (to, a, b)) in pairs.iter().enumerate() {
            let base = 10 * (i as i64 + 1);
            add_rel(
                &mut g,
                &format!("{to}-a"),
                R::Funds,
                ("fund", to),
                Some(money(base, "USD", *a)),
                None,
            );
            add_rel(
                &mut g,
                &format!("{to}-b"),
                R::Funds,
                ("fund", to),
                Some(money(base + 1, "USD", *b)),
                None,
            );
        }
        assert_eq!(
            run(&g, &q(Group::Recipient)),
            [
                row("mixed", 101, "USD", Q::Approximate, 2, 0),
                row("approx", 81, "USD", Q::Approximate, 2, 0),
                row("most", 61, "USD", Q::AtMost, 2, 0),
                row("least", 41, "USD", Q::AtLeast, 2, 0),
                row("exact", 21, "USD", Q::Exact, 2, 0),
            ]
        );
        assert_eq!(
            run(&g, &q(Group::Source)),
            [row("fund", 305, "USD", Q::Approximate, 10, 0)]
        );
    }

    /// fund → a: $100 (2026), EUR 50 (2026), none (2025); fund → b: $30
    /// (2025); law → fund: $500 AUTHORIZES (2026); fund → c: none.
    fn mixed() -> Graph {
        let mut g = graph(&[
            ("law", K::Legislation),
            ("fund", K::Fund),
            ("a", K::ArmedForce),
            ("b", K::ArmedForce),
            ("c", K::ArmedForce),
        ]);
        let usd = |n| Some(money(n, "USD", Q::Exact));
        add_rel(&mut g, "f1", R::Funds, ("fund", "a"), usd(100), Some(2026));
        add_rel(
            &mut g,
            "f2",
            R::Funds,
            ("fund", "a"),
            Some(money(50, "EUR", Q::AtLeast)),
            Some(2026),
        );
        add_rel(&mut g, "f3", R::Funds, ("fund", "a"), None, Some(2025));
        add_rel(&mut g, "f4", R::Funds, ("fund", "b"), usd(30), Some(2025));
        add_rel(&mut g, "f5", R::Funds, ("fund", "c"), None, None);
        add_rel(
            &mut g,
            "a1",
            R::Authorizes,
            ("law", "fund"),
            usd(500),
            Some(2026),
        );
        rel(&mut g, "p1", R::PartOf, "b", "a");
        g
    }

    #[test]
    fn currencies_are_never_summed() {
        let g = mixed();
        assert_eq!(
            run(&g, &q(Group::Recipient)),
            [
                // a's unstated relation counts on its first row.
                row("a", 100, "USD", Q::Exact, 1, 1),
                row("a", 50, "EUR", Q::AtLeast, 1, 0),
                row("b", 30, "USD", Q::Exact, 1, 0),
                // Nothing stated: a row of zero holding the unstated one.
                row("c", 0, "USD", Q::Exact, 0, 1),
            ]
        );
        let eur = TotalsQuery {
            currency: Some("EUR".into()),
            ..q(Group::Recipient)
        };
        assert_eq!(
            run(&g, &eur),
            [
                row("a", 50, "EUR", Q::AtLeast, 1, 1),
                row("c", 0, "EUR", Q::Exact, 0, 1),
            ]
        );
    }

    #[test]
    fn kinds_and_fiscal_year_filters() {
        let g = mixed();
        let both = TotalsQuery {
            kinds: vec![R::Funds, R::Authorizes],
            ..q(Group::Source)
        };
        assert_eq!(
            run(&g, &both),
            [
                row("law", 500, "USD", Q::Exact, 1, 0),
                row("fund", 130, "USD", Q::Exact, 2, 2),
                row("fund", 50, "EUR", Q::AtLeast, 1, 0),
            ]
        );
        let y2025 = TotalsQuery {
            fiscal_year: Some(2025),
            ..q(Group::Recipient)
        };
        assert_eq!(
            run(&g, &y2025),
            [
                row("b", 30, "USD", Q::Exact, 1, 0),
                row("a", 0, "USD", Q::Exact, 0, 1),
            ]
        );
        assert_eq!(
            run(&g, &q(Group::FiscalYear)),
            [
                row("2026", 100, "USD", Q::Exact, 1, 0),
                row("2026", 50, "EUR", Q::AtLeast, 1, 0),
                row("2025", 30, "USD", Q::Exact, 1, 1),
                row("-", 0, "USD", Q::Exact, 0, 1),
            ]
        );
    }

    #[test]
    fn refuses_kinds_without_money_and_reports_overflow() {
        let g = mixed();
        let part_of = TotalsQuery {
            kinds: vec![R::Funds, R::PartOf],
            ..q(Group::Source)
        };
        assert_eq!(
            funding_totals(&g, &part_of),
            Err(TotalsError::NotMoney(R::PartOf))
        );
        let none = TotalsQuery {
            kinds: vec![],
            ..q(Group::Source)
        };
        assert_eq!(funding_totals(&g, &none), Err(TotalsError::NoKinds));

        let mut big = graph(&[("fund", K::Fund), ("a", K::ArmedForce)]);
        for id in ["x", "y"] {
            add_rel(
                &mut big,
                id,
                R::Funds,
                ("fund", "a"),
                Some(money(i64::MAX, "USD", Q::Exact)),
                None,
            );
        }
        assert!(matches!(
            funding_totals(&big, &q(Group::Recipient)),
            Err(TotalsError::Overflow { sum, .. }) if sum == 2 * i128::from(i64::MAX)
        ));
    }

    #[test]
    fn candidates_give_the_same_rows() {
        let g = mixed();
        let query = q(Group::Recipient);
        let all = funding_totals(&g, &query).unwrap_or_default();
        // Candidates in id order, with relations that do not match.
        let some = funding_totals_among(&g, &query, g.relations()).unwrap_or_default();
        assert_eq!(all, some);
        assert!(!all.rows.is_empty());
    }

    #[test]
    fn a_page_that_ends_inside_equal_totals_has_the_first_ids() {
        // Stored in the reverse of id order: the groups that must be on
        // the page come last, after the page is full of equal totals.
        let mut g = graph(&[
            ("fund", K::Fund),
            ("e", K::ArmedForce),
            ("d", K::ArmedForce),
            ("c", K::ArmedForce),
            ("b", K::ArmedForce),
            ("a", K::ArmedForce),
        ]);
        for to in ["e", "d", "c", "b", "a"] {
            let id = format!("f-{to}");
            let usd = Some(money(10, "USD", Q::Exact));
            add_rel(&mut g, &id, R::Funds, ("fund", to), usd, None);
        }
        for (n, ids) in [(0, ""), (1, "a"), (2, "ab"), (4, "abcd"), (9, "abcde")] {
            let query = TotalsQuery {
                first: Some(n),
                ..q(Group::Recipient)
            };
            let keys: String = run(&g, &query).into_iter().map(|r| r.0).collect();
            assert_eq!(keys, ids, "first {n}");
        }
    }

    /// On a generated graph, where single round amounts tie often: the
    /// index gives what a pass over every relation gives, and the first
    /// rows are the first of all rows, ties at the cut included.
    #[test]
    fn first_rows_are_the_first_of_all_rows() {
        let mut data = crate::synthetic::generate(&crate::synthetic::Spec::with_degree(3000, 5, 7));
        // Entities stored in the reverse of id order, so that ties among
        // groups are not settled by the order they come in.
        data.entities.reverse();
        let mut g = Graph::new();
        if let Err(e) = data.apply("generated", &mut g) {
            panic!("{e}");
        }
        for group in [Group::Source, Group::Recipient, Group::FiscalYear] {
            for kinds in [vec![R::Funds], vec![R::Authorizes, R::Funds, R::Funds]] {
                for fiscal_year in [None, Some(2020)] {
                    let query = TotalsQuery {
                        kinds: kinds.clone(),
                        fiscal_year,
                        ..q(group)
                    };
                    let all = funding_totals(&g, &query).unwrap_or_default();
                    let scan = funding_totals_among(&g, &query, g.relations());
                    assert_eq!(Ok(&all), scan.as_ref(), "{query:?}");
                    assert_eq!(all.count, all.rows.len());
                    let amounts: Vec<i64> = all.rows.iter().map(|r| r.total.amount).collect();
                    let ties = amounts.windows(2).filter(|w| w[0] == w[1]).count();
                    assert!(
                        group != Group::Recipient || fiscal_year.is_some() || ties > 10,
                        "{ties} ties of {} in {query:?}",
                        all.count
                    );
                    // Pages that end inside a run of equal totals, too.
                    let cuts = (1..amounts.len()).filter(|&i| amounts[i - 1] == amounts[i]);
                    let sizes = [0, 1, 2, 7, 50, 333, all.count, all.count + 3];
                    for n in sizes.into_iter().chain(cuts.take(8)) {
                        let some = funding_totals(
                            &g,
                            &TotalsQuery {
                                first: Some(n),
                                ..query.clone()
                            },
                        )
                        .unwrap_or_default();
                        assert_eq!(some.count, all.count);
                        assert_eq!(some.rows[..], all.rows[..n.min(all.count)], "first {n}");
                    }
                }
            }
        }
    }
}
