//! Funding totals: the stated amounts of money relations added up per
//! source, per recipient or per fiscal year.
//!
//! A total adds amounts of one level only (each relation once, never along
//! a path, so nothing is counted twice) and never across currencies. It is
//! computed here: the graph itself keeps only what sources state.

use crate::graph::Graph;
use crate::model::{AmountQualifier, Money, RelationKind};
use compact_str::CompactString;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use smallvec::SmallVec;
use thiserror::Error;

/// Groups by key. Keys are indices of this graph, not client input, so the
/// fast hash is safe.
type Groups = std::collections::HashMap<GroupKey, GroupSums, foldhash::fast::RandomState>;

/// What the relations are grouped by.
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
    currency: CompactString,
    sum: i128,
    qualifier: AmountQualifier,
    relations: usize,
}

#[derive(Debug, Default)]
struct GroupSums {
    /// Nearly every group has one currency.
    by_currency: SmallVec<[CurrencySum; 1]>,
    unstated: usize,
}

/// The totals of `q` over every relation of `g`: one pass in storage
/// order, which is the cheapest way through them all.
pub fn funding_totals(g: &Graph, q: &TotalsQuery) -> Result<Vec<FundingTotal>, TotalsError> {
    check(q)?;
    let mut groups = Groups::default();
    for e in g.petgraph().edge_references() {
        add(&mut groups, q, e.source(), e.target(), e.weight())?;
    }
    rows(g, groups, q)
}

/// The totals of `q` over `candidates` only: for a caller that can name
/// the relations that may count (those of the asked kinds or year, from an
/// index), so that the rest are never looked at. Each candidate must be a
/// relation of `g`, given once; candidates that do not match `q` are
/// skipped, so a superset is fine.
pub fn funding_totals_among(
    g: &Graph,
    q: &TotalsQuery,
    candidates: impl IntoIterator<Item = EdgeIndex>,
) -> Result<Vec<FundingTotal>, TotalsError> {
    check(q)?;
    let mut groups = Groups::default();
    for e in candidates {
        let (from, to) = g.ends(e);
        add(&mut groups, q, from, to, g.relation_at(e))?;
    }
    rows(g, groups, q)
}

fn check(q: &TotalsQuery) -> Result<(), TotalsError> {
    if q.kinds.is_empty() {
        return Err(TotalsError::NoKinds);
    }
    match q.kinds.iter().find(|k| !k.carries_money()) {
        Some(k) => Err(TotalsError::NotMoney(*k)),
        None => Ok(()),
    }
}

fn add(
    groups: &mut Groups,
    q: &TotalsQuery,
    from: NodeIndex,
    to: NodeIndex,
    r: &crate::model::Relation,
) -> Result<(), TotalsError> {
    if !q.kinds.contains(&r.kind) {
        return Ok(());
    }
    if q.fiscal_year.is_some() && r.fiscal_year() != q.fiscal_year {
        return Ok(());
    }
    let amount = r.amount();
    if let (Some(want), Some(m)) = (&q.currency, amount) {
        if m.currency != *want {
            return Ok(());
        }
    }
    let key = match q.group {
        Group::Source => GroupKey::Entity(from),
        Group::Recipient => GroupKey::Entity(to),
        Group::FiscalYear => GroupKey::FiscalYear(r.fiscal_year()),
    };
    let group = groups.entry(key).or_default();
    let Some(m) = amount else {
        group.unstated += 1;
        return Ok(());
    };
    match group
        .by_currency
        .iter_mut()
        .find(|s| s.currency == m.currency)
    {
        Some(s) => {
            // An i128 holds the sum of 2^64 amounts of i64::MAX, so this
            // fails only on a graph no machine holds; still an error, not
            // a panic.
            s.sum =
                s.sum
                    .checked_add(i128::from(m.amount))
                    .ok_or_else(|| TotalsError::Overflow {
                        currency: m.currency.clone(),
                        sum: s.sum,
                    })?;
            s.qualifier = combine(s.qualifier, m.qualifier);
            s.relations += 1;
        }
        None => group.by_currency.push(CurrencySum {
            currency: m.currency.clone(),
            sum: i128::from(m.amount),
            qualifier: m.qualifier,
            relations: 1,
        }),
    }
    Ok(())
}

/// The rows of the groups, in [`sort_rows`] order.
fn rows(g: &Graph, groups: Groups, q: &TotalsQuery) -> Result<Vec<FundingTotal>, TotalsError> {
    let mut out = Vec::with_capacity(groups.len());
    for (key, mut group) in groups {
        group
            .by_currency
            .sort_by(|a, b| b.sum.cmp(&a.sum).then_with(|| a.currency.cmp(&b.currency)));
        if group.by_currency.is_empty() {
            // Only relations with no amount: a row of zero keeps them seen.
            let currency = q
                .currency
                .clone()
                .unwrap_or_else(|| CompactString::const_new(Money::DEFAULT_CURRENCY));
            group.by_currency.push(CurrencySum {
                currency,
                sum: 0,
                qualifier: AmountQualifier::Exact,
                relations: 0,
            });
        }
        let mut unstated = group.unstated;
        for s in group.by_currency {
            let amount = i64::try_from(s.sum).map_err(|_| TotalsError::Overflow {
                currency: s.currency.clone(),
                sum: s.sum,
            })?;
            out.push(FundingTotal {
                key,
                total: Money {
                    amount,
                    currency: s.currency,
                    qualifier: s.qualifier,
                },
                relations: s.relations,
                unstated: std::mem::take(&mut unstated),
            });
        }
    }
    sort_rows(g, &mut out);
    Ok(out)
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
        }
    }

    /// As the API answers: sorted, keys named.
    fn run(g: &Graph, q: &TotalsQuery) -> Vec<(String, i64, String, Q, usize, usize)> {
        let rows = match funding_totals(g, q) {
            Ok(rows) => rows,
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
        assert!(!all.is_empty());
    }
}
