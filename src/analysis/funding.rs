//! Funding flows: where money starts, who it reaches, and by which path.

use super::paths::Path;
use super::time_budget::{Budget, OverBudget};
use crate::graph::Graph;
use crate::model::{Money, RelationKind};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use thiserror::Error;

/// Funding flows that would cost more than allowed to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FlowsOverBudget {
    /// The walk ran past its time budget.
    #[error(transparent)]
    Time(#[from] OverBudget),
    /// More flows match than one answer may hold.
    #[error(
        "more than {0} funding flows match; narrow the question with `from`, `to` or `fiscalYear`"
    )]
    TooMany(usize),
}

/// Which flows to find.
#[derive(Debug, Clone, Copy, Default)]
pub struct FundingQuery {
    /// Flows that start here; otherwise flows start at every origin.
    pub from: Option<NodeIndex>,
    /// Only flows that end here.
    pub to: Option<NodeIndex>,
    /// Only money relations of this fiscal year or of none stated.
    pub fiscal_year: Option<i32>,
}

/// One path along which money reaches a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingFlow {
    /// Where the money starts.
    pub source: NodeIndex,
    /// Who receives it.
    pub recipient: NodeIndex,
    /// The amount on the last money-carrying relation, if stated.
    pub amount: Option<Money>,
    /// False when the recipient is reached as a member of a funded group.
    pub direct: bool,
    /// Source → … → recipient.
    pub path: Path,
}

/// Every funding flow, one per distinct path: money relations (AUTHORIZES,
/// FUNDS) followed forward from the source, then optionally from a funded
/// group to its members (PART_OF followed backwards, `direct: false`,
/// carrying the group's amount, never a share of it). Without `from`, flows
/// start at origins: entities with money flowing out and none flowing in.
/// Ordered by source id, then depth-first by relation id.
pub fn funding_flows(g: &Graph, q: &FundingQuery) -> Vec<FundingFlow> {
    funding_flows_within(g, q, &Budget::unlimited(), usize::MAX).unwrap_or_default()
}

/// [`funding_flows`], giving up when `budget` runs out or more than
/// `max_flows` flows match: the number of distinct paths can grow
/// exponentially with the graph, so an unbounded walk could run for hours.
pub fn funding_flows_within(
    g: &Graph,
    q: &FundingQuery,
    budget: &Budget,
    max_flows: usize,
) -> Result<Vec<FundingFlow>, FlowsOverBudget> {
    let year_ok = |e: EdgeIndex| {
        let r = g.relation_at(e);
        r.kind.carries_money()
            && match (q.fiscal_year, r.fiscal_year()) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    };
    let money = |n: NodeIndex, dir: petgraph::Direction| {
        let mut out: Vec<EdgeIndex> = g
            .petgraph()
            .edges_directed(n, dir)
            .map(|e| e.id())
            .filter(|e| year_ok(*e))
            .collect();
        out.sort_by(|a, b| g.relation_at(*a).id.cmp(&g.relation_at(*b).id));
        out
    };
    let sources: Vec<NodeIndex> = match q.from {
        Some(n) => vec![n],
        None => g
            .entities()
            .filter(|n| {
                !money(*n, petgraph::Direction::Outgoing).is_empty()
                    && money(*n, petgraph::Direction::Incoming).is_empty()
            })
            .collect(),
    };
    let mut flows = Vec::new();
    for source in sources {
        budget.check()?;
        let mut walker = Walker {
            g,
            money: &money,
            source,
            to: q.to,
            budget,
            max_flows,
            flows: &mut flows,
            path: Path {
                entities: vec![source],
                relations: vec![],
            },
        };
        walker.follow_money(None)?;
    }
    Ok(flows)
}

struct Walker<'a, F> {
    g: &'a Graph,
    money: &'a F,
    source: NodeIndex,
    to: Option<NodeIndex>,
    budget: &'a Budget,
    max_flows: usize,
    flows: &'a mut Vec<FundingFlow>,
    path: Path,
}

impl<F> Walker<'_, F>
where
    F: Fn(NodeIndex, petgraph::Direction) -> Vec<EdgeIndex>,
{
    fn emit(&mut self, amount: Option<Money>, direct: bool) -> Result<(), FlowsOverBudget> {
        self.budget.check()?;
        let recipient = *self.path.entities.last().unwrap_or(&self.source);
        if self.to.is_some_and(|to| to != recipient) {
            return Ok(());
        }
        if self.flows.len() >= self.max_flows {
            return Err(FlowsOverBudget::TooMany(self.max_flows));
        }
        self.flows.push(FundingFlow {
            source: self.source,
            recipient,
            amount,
            direct,
            path: self.path.clone(),
        });
        Ok(())
    }

    fn push(&mut self, edge: EdgeIndex, next: NodeIndex) -> bool {
        if self.path.entities.contains(&next) {
            return false;
        }
        self.path.entities.push(next);
        self.path.relations.push(edge);
        true
    }

    fn pop(&mut self) {
        self.path.entities.pop();
        self.path.relations.pop();
    }

    /// Money relations forward; `amount` is the last one's, `None` at the source.
    fn follow_money(&mut self, last: Option<Option<Money>>) -> Result<(), FlowsOverBudget> {
        let at = *self.path.entities.last().unwrap_or(&self.source);
        for e in (self.money)(at, petgraph::Direction::Outgoing) {
            let (_, next) = self.g.ends(e);
            if self.push(e, next) {
                let amount = self.g.relation_at(e).amount().cloned();
                self.emit(amount.clone(), true)?;
                self.follow_money(Some(amount))?;
                self.pop();
            }
        }
        if let Some(amount) = last {
            self.follow_members(&amount)?;
        }
        Ok(())
    }

    /// PART_OF backwards, from a funded group to its members.
    fn follow_members(&mut self, amount: &Option<Money>) -> Result<(), FlowsOverBudget> {
        let at = *self.path.entities.last().unwrap_or(&self.source);
        let mut members: Vec<EdgeIndex> = self
            .g
            .petgraph()
            .edges_directed(at, petgraph::Direction::Incoming)
            .filter(|e| e.weight().kind == RelationKind::PartOf)
            .map(|e| e.id())
            .collect();
        members.sort_by(|a, b| self.g.relation_at(*a).id.cmp(&self.g.relation_at(*b).id));
        for e in members {
            let (member, _) = self.g.ends(e);
            if self.push(e, member) {
                self.emit(amount.clone(), false)?;
                self.follow_members(amount)?;
                self.pop();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{AmountQualifier, EntityKind as K, Relation, RelationKind as R};

    fn money_rel(
        g: &mut Graph,
        id: &str,
        kind: R,
        from: &str,
        to: &str,
        amount: Option<i64>,
        year: Option<i32>,
    ) {
        let mut r = Relation::new(id, kind, from, to, source());
        r.update_details(|d| {
            d.amount = amount.map(|a| Money::usd(a).qualified(AmountQualifier::AtLeast))
        });
        r.update_details(|d| d.fiscal_year = year);
        rel_with(g, r);
    }

    /// law → fund → group ← member ← sub; fund → other (2025);
    /// law2 → other (no year).
    fn sample() -> Graph {
        let mut g = graph(&[
            ("law", K::Legislation),
            ("law2", K::Legislation),
            ("fund", K::Fund),
            ("group", K::ArmedForce),
            ("member", K::ArmedForce),
            ("sub", K::ArmedForce),
            ("other", K::ArmedForce),
        ]);
        money_rel(
            &mut g,
            "a1",
            R::Authorizes,
            "law",
            "fund",
            Some(100),
            Some(2026),
        );
        money_rel(
            &mut g,
            "f1",
            R::Funds,
            "fund",
            "group",
            Some(60),
            Some(2026),
        );
        money_rel(
            &mut g,
            "f2",
            R::Funds,
            "fund",
            "other",
            Some(40),
            Some(2025),
        );
        money_rel(&mut g, "f3", R::Funds, "law2", "other", None, None);
        rel(&mut g, "p1", R::PartOf, "member", "group");
        rel(&mut g, "p2", R::PartOf, "sub", "member");
        g
    }

    fn ix(g: &Graph, id: &str) -> NodeIndex {
        g.entity_ix(id).unwrap_or_else(NodeIndex::end)
    }

    fn summary(
        g: &Graph,
        flows: &[FundingFlow],
    ) -> Vec<(String, String, Option<i64>, bool, usize)> {
        flows
            .iter()
            .map(|f| {
                (
                    g.entity_at(f.source).id.to_string(),
                    g.entity_at(f.recipient).id.to_string(),
                    f.amount.as_ref().map(|m| m.amount),
                    f.direct,
                    f.path.len(),
                )
            })
            .collect()
    }

    #[test]
    fn flows_from_origins_reach_members_indirectly() {
        let g = sample();
        let all = funding_flows(&g, &FundingQuery::default());
        let s = |a: &str, b: &str, m: Option<i64>, d: bool, l: usize| {
            (a.to_owned(), b.to_owned(), m, d, l)
        };
        // Worked by hand: origins are law and law2 (money leaves, none enters).
        assert_eq!(
            summary(&g, &all),
            [
                s("law", "fund", Some(100), true, 1),
                s("law", "group", Some(60), true, 2),
                s("law", "member", Some(60), false, 3),
                s("law", "sub", Some(60), false, 4),
                s("law", "other", Some(40), true, 2),
                s("law2", "other", None, true, 1),
            ]
        );
    }

    #[test]
    fn from_to_and_year_filters() {
        let g = sample();
        let q = FundingQuery {
            from: Some(ix(&g, "fund")),
            to: Some(ix(&g, "member")),
            fiscal_year: None,
        };
        let flows = funding_flows(&g, &q);
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].path.len(), 2);
        assert!(!flows[0].direct);
        let q = FundingQuery {
            from: None,
            to: Some(ix(&g, "other")),
            fiscal_year: Some(2026),
        };
        // f2 is for 2025, so only law2's undated relation reaches `other`.
        let flows = funding_flows(&g, &q);
        assert_eq!(flows.len(), 1);
        assert_eq!(g.entity_at(flows[0].source).id, "law2");
    }

    #[test]
    fn bounded_by_count_and_time() {
        let g = sample();
        let q = FundingQuery::default();
        // Six flows in all (worked above): five fit in six, not in five.
        let within = funding_flows_within(&g, &q, &Budget::unlimited(), 6);
        assert_eq!(within.map(|f| f.len()), Ok(6));
        assert_eq!(
            funding_flows_within(&g, &q, &Budget::unlimited(), 5),
            Err(FlowsOverBudget::TooMany(5))
        );
        // Only flows that reach `to` count against the limit.
        let to_member = FundingQuery {
            to: Some(ix(&g, "member")),
            ..q
        };
        assert_eq!(
            funding_flows_within(&g, &to_member, &Budget::unlimited(), 1).map(|f| f.len()),
            Ok(1)
        );
        let spent = Budget::of(std::time::Duration::ZERO);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(matches!(
            funding_flows_within(&g, &q, &spent, 100),
            Err(FlowsOverBudget::Time(_))
        ));
    }
}
