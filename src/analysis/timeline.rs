//! Timelines: every dated thing about an entity, or about the whole graph,
//! in date order, each with a sentence that says what happened.

use crate::graph::Graph;
use crate::model::{EntityKind, RelationKind, Source};
use chrono::NaiveDate;
use compact_str::CompactString;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use petgraph::Direction::{Incoming, Outgoing};
use std::collections::BTreeSet;

/// Which dated things to list.
#[derive(Debug, Clone, Copy)]
pub struct TimelineQuery {
    /// About this entity; about the whole graph when `None`.
    pub about: Option<NodeIndex>,
    /// Nothing dated before this day.
    pub from: Option<NaiveDate>,
    /// Nothing dated after this day.
    pub to: Option<NaiveDate>,
    /// At most this many entries, the earliest.
    pub first: usize,
}

/// The thing an entry dates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dated {
    /// An entity with a date of its own (an event).
    Entity(NodeIndex),
    /// A relation with a date.
    Relation(EdgeIndex),
    /// A document, by its publication date; named by id.
    Document(CompactString),
}

/// One dated thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When.
    pub date: NaiveDate,
    /// What.
    pub item: Dated,
    /// A sentence saying what happened: "Ministry A funds Force B (FY2024,
    /// $130 million)".
    pub label: String,
}

/// What a timeline holds, before its labels are written.
struct Candidate {
    date: NaiveDate,
    item: Dated,
}

/// The dated things of `q`, ordered by date; on one day entities first,
/// then relations, then documents, each kind by id.
///
/// About an entity: its own date (an event's), the events it is directly
/// related to (their dates say when it took part), its relations that
/// have a date, and the publication dates of the documents that evidence
/// it or any of its relations. About the whole graph: every dated entity,
/// relation and document.
pub fn timeline(g: &Graph, q: &TimelineQuery) -> Vec<TimelineEntry> {
    let within = |d: NaiveDate| q.from.is_none_or(|f| d >= f) && q.to.is_none_or(|t| d <= t);
    let mut found = Vec::new();
    let mut push = |date: Option<NaiveDate>, item: Dated| {
        if let Some(date) = date.filter(|d| within(*d)) {
            found.push(Candidate { date, item });
        }
    };
    match q.about {
        Some(n) => {
            push(g.entity_at(n).date(), Dated::Entity(n));
            let mut documents = BTreeSet::new();
            add_documents(&mut documents, &g.entity_at(n).sources);
            let mut events = BTreeSet::new();
            for dir in [Outgoing, Incoming] {
                for e in g.petgraph().edges_directed(n, dir) {
                    let r = e.weight();
                    push(r.date(), Dated::Relation(e.id()));
                    add_documents(&mut documents, &r.sources);
                    let other = if dir == Outgoing {
                        e.target()
                    } else {
                        e.source()
                    };
                    if g.entity_at(other).kind == EntityKind::Event {
                        events.insert(other);
                    }
                }
            }
            for other in events {
                push(g.entity_at(other).date(), Dated::Entity(other));
            }
            for id in documents {
                let date = g.document(id).and_then(|d| d.published_on);
                push(date, Dated::Document(id.into()));
            }
        }
        None => {
            // In storage order: the cheapest way through them all.
            for n in g.petgraph().node_indices() {
                push(g.entity_at(n).date(), Dated::Entity(n));
            }
            for e in g.petgraph().edge_references() {
                push(e.weight().date(), Dated::Relation(e.id()));
            }
            for d in g.documents() {
                push(d.published_on, Dated::Document(d.id.clone()));
            }
        }
    }
    let rank = |item: &Dated| match item {
        Dated::Entity(_) => 0,
        Dated::Relation(_) => 1,
        Dated::Document(_) => 2,
    };
    let id = |item: &Dated| -> CompactString {
        match item {
            Dated::Entity(n) => g.entity_at(*n).id.clone(),
            Dated::Relation(e) => g.relation_at(*e).id.clone(),
            Dated::Document(id) => id.clone(),
        }
    };
    if q.first == 0 {
        return Vec::new();
    }
    // A whole graph may date millions of things: the first `first` by day
    // and kind are found in linear time, and only those (with any that tie
    // with the last of them) are ordered by id and labelled.
    let day_and_kind = |c: &Candidate| (c.date, rank(&c.item));
    if found.len() > q.first {
        let (_, last, _) = found.select_nth_unstable_by_key(q.first - 1, day_and_kind);
        let last = day_and_kind(last);
        found.retain(|c| day_and_kind(c) <= last);
    }
    found.sort_by_cached_key(|c| (c.date, rank(&c.item), id(&c.item)));
    found.truncate(q.first);
    found
        .into_iter()
        .map(|c| TimelineEntry {
            date: c.date,
            label: label(g, &c.item),
            item: c.item,
        })
        .collect()
}

fn add_documents<'g>(documents: &mut BTreeSet<&'g str>, sources: &'g [Source]) {
    documents.extend(sources.iter().map(Source::document));
}

/// The sentence of an entry.
pub fn label(g: &Graph, item: &Dated) -> String {
    match item {
        Dated::Entity(n) => {
            let e = g.entity_at(*n);
            if e.kind == EntityKind::Event {
                format!("{} took place", e.name)
            } else {
                format!("{} is dated", e.name)
            }
        }
        Dated::Relation(ix) => {
            let r = g.relation_at(*ix);
            let (from, to) = g.ends(*ix);
            let (from, to) = (&g.entity_at(from).name, &g.entity_at(to).name);
            let said = match (r.kind, r.role()) {
                (RelationKind::HoldsPosition, Some(role)) => format!("{from} is {role} at {to}"),
                (kind, _) => format!("{from} {} {to}", verb(kind)),
            };
            let mut details = Vec::new();
            if let Some(year) = r.fiscal_year() {
                details.push(format!("FY{year}"));
            }
            if let Some(amount) = r.amount() {
                details.push(amount.display());
            }
            if details.is_empty() {
                said
            } else {
                format!("{said} ({})", details.join(", "))
            }
        }
        Dated::Document(id) => match g.document(id) {
            Some(d) if !d.publisher.is_empty() => {
                format!("Document '{}' published by {}", d.title, d.publisher)
            }
            Some(d) => format!("Document '{}' published", d.title),
            None => format!("Document '{id}' published"),
        },
    }
}

/// The kind as a verb between its two ends' names.
fn verb(kind: RelationKind) -> &'static str {
    use RelationKind::*;
    match kind {
        PartOf => "is part of",
        HoldsPosition => "holds a position at",
        Governs => "governs",
        Enacted => "enacted",
        Authorizes => "authorizes",
        Funds => "funds",
        Supports => "supports",
        ParticipatesIn => "takes part in",
        CooperatesWith => "cooperates with",
        Combats => "combats",
        Announced => "announced",
        OperatesIn => "operates in",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{
        AmountQualifier, Entity, EntityDetails, EntityKind as K, Money, Relation, RelationKind as R,
    };

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn dated_relation(
        g: &mut Graph,
        id: &str,
        kind: R,
        ends: (&str, &str),
        date: &str,
    ) -> EdgeIndex {
        let mut r = Relation::new(id, kind, ends.0, ends.1, source());
        r.update_details(|d| d.date = Some(day(date)));
        rel_with(g, r)
    }

    /// gov funds force (2024-03-01, FY2024, more than $130 million);
    /// force takes part in talks (undated), talks took place 2024-02-01;
    /// gov cooperates with other (2024-03-01); a document of 2024-03-01
    /// evidences the funding; `doc` (undated) evidences the rest.
    fn sample() -> Graph {
        let mut g = graph(&[
            ("gov", K::Government),
            ("force", K::ArmedForce),
            ("other", K::ArmedForce),
        ]);
        let mut news = document("news");
        news.title = "Funds flow".into();
        news.publisher = "Wire".into();
        news.published_on = Some(day("2024-03-01"));
        assert!(g.add_document(news).is_ok());
        let talks = Entity::with_details(
            "talks",
            K::Event,
            "The Talks",
            Default::default(),
            crate::model::Sources::One(source()),
            EntityDetails {
                date: Some(day("2024-02-01")),
                ..Default::default()
            },
        );
        assert!(g.add_entity(talks).is_ok());
        let mut funds = Relation::new(
            "gov-funds-force",
            R::Funds,
            "gov",
            "force",
            Source::new("news", TEXT),
        );
        funds.update_details(|d| {
            d.date = Some(day("2024-03-01"));
            d.fiscal_year = Some(2024);
            d.amount = Some(Money::usd(130_000_000).qualified(AmountQualifier::AtLeast));
        });
        rel_with(&mut g, funds);
        rel(
            &mut g,
            "force-in-talks",
            R::ParticipatesIn,
            "force",
            "talks",
        );
        dated_relation(
            &mut g,
            "gov-with-other",
            R::CooperatesWith,
            ("gov", "other"),
            "2024-03-01",
        );
        g
    }

    fn q(g: &Graph, about: Option<&str>) -> TimelineQuery {
        TimelineQuery {
            about: about.and_then(|id| g.entity_ix(id)),
            from: None,
            to: None,
            first: 50,
        }
    }

    fn summary(entries: &[TimelineEntry]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|e| (e.date.to_string(), e.label.clone()))
            .collect()
    }

    fn pair(date: &str, label: &str) -> (String, String) {
        (date.into(), label.into())
    }

    #[test]
    fn whole_graph_in_date_order_with_ties_by_kind_then_id() {
        let g = sample();
        assert_eq!(
            summary(&timeline(&g, &q(&g, None))),
            [
                pair("2024-02-01", "The Talks took place"),
                // One day: relations by id, then the document.
                pair(
                    "2024-03-01",
                    "GOV funds FORCE (FY2024, more than $130 million)"
                ),
                pair("2024-03-01", "GOV cooperates with OTHER"),
                pair("2024-03-01", "Document 'Funds flow' published by Wire"),
            ]
        );
    }

    #[test]
    fn about_one_entity() {
        let g = sample();
        // force: its funding, the talks it took part in, the news.
        assert_eq!(
            summary(&timeline(&g, &q(&g, Some("force")))),
            [
                pair("2024-02-01", "The Talks took place"),
                pair(
                    "2024-03-01",
                    "GOV funds FORCE (FY2024, more than $130 million)"
                ),
                pair("2024-03-01", "Document 'Funds flow' published by Wire"),
            ]
        );
        // other: only its cooperation; the undated document adds nothing.
        assert_eq!(
            summary(&timeline(&g, &q(&g, Some("other")))),
            [pair("2024-03-01", "GOV cooperates with OTHER")]
        );
        // The event itself.
        let talks = timeline(&g, &q(&g, Some("talks")));
        assert_eq!(talks.len(), 1);
        assert_eq!(
            talks[0].item,
            Dated::Entity(g.entity_ix("talks").unwrap_or_else(NodeIndex::end))
        );
    }

    #[test]
    fn range_is_inclusive_and_first_bounds() {
        let g = sample();
        let mut query = q(&g, None);
        query.from = Some(day("2024-03-01"));
        query.to = Some(day("2024-03-01"));
        assert_eq!(timeline(&g, &query).len(), 3);
        query.from = Some(day("2024-02-02"));
        query.to = Some(day("2024-02-28"));
        assert!(timeline(&g, &query).is_empty());
        query.from = None;
        query.to = Some(day("2024-02-01"));
        assert_eq!(timeline(&g, &query).len(), 1);
        let mut query = q(&g, None);
        query.first = 0;
        assert!(timeline(&g, &query).is_empty());
        // The cut falls among things of one day and kind: ids decide.
        query.first = 2;
        assert_eq!(
            summary(&timeline(&g, &query)),
            [
                pair("2024-02-01", "The Talks took place"),
                pair(
                    "2024-03-01",
                    "GOV funds FORCE (FY2024, more than $130 million)"
                ),
            ]
        );
    }

    #[test]
    fn labels_name_roles() {
        let mut g = graph(&[("p", K::Person), ("m", K::Ministry)]);
        let mut r = Relation::new("p-at-m", R::HoldsPosition, "p", "m", source());
        r.update_details(|d| {
            d.role = Some("Minister".into());
            d.date = Some(day("2020-01-01"));
        });
        let ix = rel_with(&mut g, r);
        assert_eq!(label(&g, &Dated::Relation(ix)), "P is Minister at M");
        let ix = dated_relation(&mut g, "m-p", R::Supports, ("m", "p"), "2020-01-02");
        assert_eq!(label(&g, &Dated::Relation(ix)), "M supports P");
    }
}
