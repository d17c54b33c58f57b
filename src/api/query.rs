//! The Query root.

use super::error::ApiError;
use super::inputs::{RelationFilter, RelationOrder};
use super::reads::Reads;
use super::types::{
    paginate, CentralityMeasure, Date, Direction, DocumentObj, DuplicateCandidate, Entity,
    EntityKind, EntityRef, ExportFormat, FundingFlowObj, FundingGroup, FundingTotalObj, GraphStats,
    Node, Page, PathObj, RankedEntity, RelationConnection, RelationKind, RelationObj, SubgraphObj,
    TimelineEntryObj, TotalCount,
};
use super::Limits;
use crate::analysis::{self, FundingQuery};
use crate::graph::{Graph, Walk};
use async_graphql::connection::{Connection, OpaqueCursor};
use async_graphql::Result;
use async_graphql::{Context, Object, ID};
use petgraph::stable_graph::NodeIndex;
use std::sync::Arc;

/// The Query root.
pub struct Query;

/// The snapshot the request reads, for a field whose answer any write may
/// change (see [`Reads`]).
fn graph(ctx: &Context<'_>) -> Result<Arc<Graph>> {
    Reads::whole_graph(ctx);
    snapshot(ctx)
}

/// The snapshot the request reads: the one attached when it arrived or,
/// for operations over a WebSocket, the current one. A field that takes it
/// here records what it reads itself.
fn snapshot(ctx: &Context<'_>) -> Result<Arc<Graph>> {
    if let Some(g) = ctx.data_opt::<Arc<Graph>>() {
        return Ok(g.clone());
    }
    ctx.data_opt::<Arc<crate::live::GraphService>>()
        .map(|s| s.snapshot())
        .ok_or_else(|| {
            ApiError::Internal("no graph snapshot attached to the request".into()).into()
        })
}

fn limits<'a>(ctx: &Context<'a>) -> Result<&'a Limits> {
    ctx.data::<Limits>()
}

/// Records a look-up of `id` and, for an id merged into another entity,
/// of that entity's id too: the answer changes when that one is merged on
/// or removed, which no write touching `id` itself announces.
fn read_id(ctx: &Context<'_>, g: &Graph, id: &str) {
    Reads::id(ctx, id);
    if let Some(into) = g.merged_into(id) {
        Reads::id(ctx, into);
    }
}

/// The entity an argument names; a merged id names the entity it went into.
fn node_of(g: &Graph, id: &str) -> Result<NodeIndex> {
    g.resolve_entity_ix(id)
        .ok_or_else(|| ApiError::no_entity(id).into())
}

fn walk(direction: Direction, kinds: Option<Vec<RelationKind>>) -> Walk {
    Walk {
        direction: direction.into(),
        kinds: kinds.map(|ks| ks.into_iter().map(Into::into).collect()),
    }
}

fn in_range(name: &str, value: i32, min: i32, max: usize) -> Result<usize> {
    if value < min || value as i64 > max as i64 {
        Err(ApiError::BadInput(format!(
            "`{name}` must be between {min} and {max}, got {value}"
        ))
        .into())
    } else {
        Ok(value as usize)
    }
}

/// Runs CPU-heavy analysis work on the blocking pool, so that a slow query
/// never holds up the async workers serving other requests.
async fn off_thread<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("analysis task failed: {e}")).into())
}

/// The wire error for an analysis that ran out of its time or size budget.
fn over_budget(e: impl std::fmt::Display) -> async_graphql::Error {
    ApiError::BudgetExceeded(e.to_string()).into()
}

fn entity(g: &Arc<Graph>, ix: NodeIndex) -> Entity {
    EntityRef { g: g.clone(), ix }.into_entity()
}

#[Object]
impl Query {
    /// Any node by its id: an entity, relation or document; null when
    /// unknown. The id of an entity merged into another answers that one.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let g = snapshot(ctx)?;
        read_id(ctx, &g, &id);
        if let Some(ix) = g.resolve_entity_ix(&id) {
            return Ok(Some(entity(&g, ix).into()));
        }
        if let Some(ix) = g.relation_ix(&id) {
            return Ok(Some(Node::Relation(RelationObj::new(g, ix))));
        }
        if g.document(&id).is_some() {
            return Ok(Some(Node::Document(DocumentObj::new(g.clone(), &id))));
        }
        Ok(None)
    }

    /// An entity by id; null when unknown. The id of an entity merged into
    /// another answers that one (see `Entity.mergedIds`).
    async fn entity(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Entity>> {
        let g = snapshot(ctx)?;
        read_id(ctx, &g, &id);
        Ok(g.resolve_entity_ix(&id).map(|ix| entity(&g, ix)))
    }

    /// Entities, optionally of one kind and matching a search: name and
    /// aliases, case- and accent-insensitive, ranked exact > prefix >
    /// substring, then by name. Without `search`, ordered by id.
    #[allow(clippy::too_many_arguments)]
    async fn entities(
        &self,
        ctx: &Context<'_>,
        kind: Option<EntityKind>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<OpaqueCursor<usize>, Entity, TotalCount>> {
        let g = snapshot(ctx)?;
        let l = limits(ctx)?;
        let snapshot = g.clone();
        let kind = kind.map(Into::into);
        Reads::search(ctx, search.as_deref().unwrap_or(""), kind);
        let page = Page::new(first, after, last, before);
        // Only the hits up to the page's end need ranking.
        let need = page.reach(l).unwrap_or(usize::MAX);
        let hits = off_thread(move || {
            analysis::search_first(&snapshot, search.as_deref().unwrap_or(""), kind, need)
        })
        .await?;
        paginate(hits.len(), &page, l, |i| entity(&g, hits[i]))
    }

    /// A relation by id; null when unknown.
    async fn relation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<RelationObj>> {
        let g = snapshot(ctx)?;
        Reads::id(ctx, &id);
        Ok(g.relation_ix(&id).map(|ix| RelationObj::new(g.clone(), ix)))
    }

    /// Relations, optionally of one kind and meeting `filter` (both must
    /// hold), ordered by `orderBy` (by id, ascending, unless told).
    /// `totalCount` counts every relation that meets them, across pages.
    #[allow(clippy::too_many_arguments)]
    async fn relations(
        &self,
        ctx: &Context<'_>,
        kind: Option<RelationKind>,
        filter: Option<RelationFilter>,
        order_by: Option<RelationOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<RelationConnection> {
        let mut filter = filter
            .map(RelationFilter::into_model)
            .transpose()?
            .unwrap_or_default();
        if let Some(kind) = kind.map(crate::model::RelationKind::from) {
            let kinds = filter.kinds.get_or_insert_with(|| vec![kind]);
            kinds.retain(|k| *k == kind);
        }
        let order = order_by.map(Into::into).unwrap_or_default();
        // Which relations meet a filter can change with any write.
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let ids = g.filter_relations(&filter, order);
        paginate(ids.len(), &Page::new(first, after, last, before), l, |i| {
            RelationObj::new(g.clone(), ids[i])
        })
    }

    /// Every source document, ordered by id.
    async fn documents(&self, ctx: &Context<'_>) -> Result<Vec<DocumentObj>> {
        let g = graph(ctx)?;
        Ok(g.documents()
            .map(|d| DocumentObj::new(g.clone(), &d.id))
            .collect())
    }

    /// The path with the fewest hops; ties broken by relation id. Null when none.
    async fn shortest_path(
        &self,
        ctx: &Context<'_>,
        from: ID,
        to: ID,
        #[graphql(default_with = "Some(Direction::Both)")] direction: Option<Direction>,
        kinds: Option<Vec<RelationKind>>,
    ) -> Result<Option<PathObj>> {
        let direction = direction.unwrap_or_default();
        let g = graph(ctx)?;
        let budget = analysis::Budget::of(limits(ctx)?.analysis_time_limit);
        let (a, b) = (node_of(&g, &from)?, node_of(&g, &to)?);
        let walk = walk(direction, kinds);
        let snapshot = g.clone();
        let found =
            off_thread(move || analysis::shortest_path_within(&snapshot, a, b, &walk, &budget))
                .await?
                .map_err(over_budget)?;
        Ok(found.map(|p| PathObj::new(g, p)))
    }

    /// Simple paths of at most `maxLength` hops, ordered by length, then by
    /// relation ids; the first `first` of them.
    #[allow(clippy::too_many_arguments)]
    async fn paths(
        &self,
        ctx: &Context<'_>,
        from: ID,
        to: ID,
        #[graphql(default_with = "Some(4)")] max_length: Option<i32>,
        #[graphql(default_with = "Some(Direction::Both)")] direction: Option<Direction>,
        kinds: Option<Vec<RelationKind>>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
    ) -> Result<Vec<PathObj>> {
        // Nullable with defaults, as the contract declares them: an unset
        // variable or an explicit null means the default.
        let (max_length, direction, first) = (
            max_length.unwrap_or(4),
            direction.unwrap_or_default(),
            first.unwrap_or(20),
        );
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let max_length = in_range("maxLength", max_length, 1, l.max_path_length)?;
        let first = in_range("first", first, 0, l.max_page_size)?;
        let (a, b) = (node_of(&g, &from)?, node_of(&g, &to)?);
        let budget = analysis::Budget::of(l.analysis_time_limit);
        let walk = walk(direction, kinds);
        let snapshot = g.clone();
        let found = off_thread(move || {
            analysis::paths_within(&snapshot, a, b, max_length, &walk, first, &budget)
        })
        .await?
        .map_err(over_budget)?;
        Ok(found
            .into_iter()
            .map(|p| PathObj::new(g.clone(), p))
            .collect())
    }

    /// The entities within `depth` hops and every relation among them.
    async fn neighborhood(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default_with = "Some(1)")] depth: Option<i32>,
        #[graphql(default_with = "Some(Direction::Both)")] direction: Option<Direction>,
        kinds: Option<Vec<RelationKind>>,
    ) -> Result<SubgraphObj> {
        let (depth, direction) = (depth.unwrap_or(1), direction.unwrap_or_default());
        let g = snapshot(ctx)?;
        Reads::id(ctx, &id);
        let l = limits(ctx)?;
        let depth = in_range("depth", depth, 0, l.max_neighborhood_depth)?;
        let centre = node_of(&g, &id)?;
        let budget = analysis::Budget::of(l.analysis_time_limit);
        let walk = walk(direction, kinds);
        let snapshot = g.clone();
        let sub = off_thread(move || {
            analysis::neighborhood_within(&snapshot, centre, depth, &walk, &budget)
        })
        .await?
        .map_err(over_budget)?;
        // Every relation it could have followed has an end among these.
        Reads::entities(ctx, sub.entities.iter().copied());
        Ok(SubgraphObj::new(g, sub))
    }

    /// Which money reaches whom: one flow per distinct path along
    /// AUTHORIZES/FUNDS, then from funded groups to their members.
    async fn funding_flows(
        &self,
        ctx: &Context<'_>,
        from: Option<ID>,
        to: Option<ID>,
        fiscal_year: Option<i32>,
    ) -> Result<Vec<FundingFlowObj>> {
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let q = FundingQuery {
            from: from.map(|id| node_of(&g, &id)).transpose()?,
            to: to.map(|id| node_of(&g, &id)).transpose()?,
            fiscal_year,
        };
        let budget = analysis::Budget::of(l.analysis_time_limit);
        // Each flow answers with at least one field, so more flows than the
        // field budget could never be returned anyway.
        let max_flows = l.max_resolved_fields;
        let snapshot = g.clone();
        let flows =
            off_thread(move || analysis::funding_flows_within(&snapshot, &q, &budget, max_flows))
                .await?
                .map_err(over_budget)?;
        Ok(flows
            .into_iter()
            .map(|f| FundingFlowObj::new(g.clone(), f))
            .collect())
    }

    /// Totals of stated amounts, one row per group and currency: money
    /// relations of `kinds` (AUTHORIZES, FUNDS) grouped by their source,
    /// their recipient or their fiscal year. Each relation counts once, in
    /// its own group (one level, never along a path); amounts in different
    /// currencies are never added, so a group with two has two rows. Only
    /// relations for `fiscalYear` when given (those stating no year are
    /// left out), and only amounts in `currency` when given (relations
    /// with no amount still count as `unstated`). Rows are ordered by total
    /// (the figure, whatever the currency), largest first, then by entity
    /// id or fiscal year (no year last), then by currency code; the first
    /// `first` rows (1 to the page size limit), or all of them. Totals are
    /// computed here; the graph keeps only what sources state.
    async fn funding_totals(
        &self,
        ctx: &Context<'_>,
        group_by: FundingGroup,
        #[graphql(default_with = "Some(vec![RelationKind::Funds])")] kinds: Option<
            Vec<RelationKind>,
        >,
        fiscal_year: Option<i32>,
        currency: Option<String>,
        first: Option<i32>,
    ) -> Result<Vec<FundingTotalObj>> {
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let first = first
            .map(|n| in_range("first", n, 1, l.max_page_size))
            .transpose()?;
        let kinds = kinds.unwrap_or_else(|| vec![RelationKind::Funds]);
        let currency = currency
            .map(|c| {
                if crate::model::Money::is_currency_code(&c) {
                    Ok(c.as_str().into())
                } else {
                    Err(ApiError::BadInput(format!(
                        "`currency` must be a three-letter ISO 4217 code such as USD, got `{c}`"
                    )))
                }
            })
            .transpose()?;
        let q = analysis::totals::TotalsQuery {
            group: group_by.into(),
            kinds: kinds.into_iter().map(Into::into).collect(),
            fiscal_year,
            currency,
            first,
        };
        let snapshot = g.clone();
        let totals = off_thread(move || analysis::totals::funding_totals(&snapshot, &q))
            .await?
            .map_err(|e| ApiError::BadInput(e.to_string()))?;
        let rows = totals.rows;
        // Each row answers with at least one field: more rows than the
        // field budget could never be returned anyway.
        if rows.len() > l.max_resolved_fields {
            return Err(over_budget(format!(
                "{} funding totals match, more than one answer may hold ({}); ask for the \
                 `first` rows, or narrow the question with `fiscalYear` or `currency`",
                totals.count, l.max_resolved_fields
            )));
        }
        Ok(rows
            .into_iter()
            .map(|r| FundingTotalObj::new(g.clone(), r))
            .collect())
    }

    /// Every dated thing about the entity `id`, or about the whole graph
    /// when `id` is absent, in date order, from `from` to `to` inclusive;
    /// the first `first` (1 to the page size limit). About an entity: its
    /// own date (an event's), the events it is directly related to, its
    /// relations that state a date, and the publication dates of the
    /// documents that evidence it or its relations. About the whole graph:
    /// every dated entity, relation and document. On one day, entities come
    /// first, then relations, then documents, each by id.
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        from: Option<Date>,
        to: Option<Date>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
    ) -> Result<Vec<TimelineEntryObj>> {
        let l = limits(ctx)?;
        let first = in_range("first", first.unwrap_or(50), 1, l.max_page_size)?;
        if let (Some(f), Some(t)) = (from, to) {
            if f.0 > t.0 {
                return Err(ApiError::BadInput(format!(
                    "`from` ({}) is after `to` ({})",
                    f.0, t.0
                ))
                .into());
            }
        }
        let (g, about) = match &id {
            Some(id) => {
                let g = snapshot(ctx)?;
                Reads::id(ctx, id);
                let ix = node_of(&g, id)?;
                // Its relations' writes touch it; the labels also name the
                // other ends, and related events lend their dates.
                Reads::entity(ctx, ix);
                Reads::entities(ctx, g.petgraph().neighbors_undirected(ix));
                (g, Some(ix))
            }
            None => (graph(ctx)?, None),
        };
        let q = analysis::timeline::TimelineQuery {
            about,
            from: from.map(|d| d.0),
            to: to.map(|d| d.0),
            first,
        };
        let snapshot = g.clone();
        let entries = off_thread(move || analysis::timeline::timeline(&snapshot, &q)).await?;
        Ok(entries
            .into_iter()
            .map(|e| TimelineEntryObj::new(g.clone(), e))
            .collect())
    }

    /// The most central entities: ranked on the whole graph, then filtered
    /// to `kind`; the first `first`. BETWEENNESS is exact on graphs of up to
    /// 5,000 entities; beyond that, or when `samples` is given, it is
    /// estimated from that many sampled source entities (64 by default) and
    /// the results say `exact: false`. Rankings are cached per graph version.
    async fn centrality(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(CentralityMeasure::PageRank)")] measure: Option<
            CentralityMeasure,
        >,
        kind: Option<EntityKind>,
        #[graphql(default_with = "Some(10)")] first: Option<i32>,
        samples: Option<i32>,
    ) -> Result<Vec<RankedEntity>> {
        let (measure, first) = (measure.unwrap_or_default(), first.unwrap_or(10));
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let first = in_range("first", first, 0, l.max_page_size)?;
        let samples = samples
            .map(|k| in_range("samples", k, 1, analysis::centrality::MAX_SAMPLES))
            .transpose()?;
        let snapshot = g.clone();
        let kind = kind.map(Into::into);
        let budget = analysis::Budget::of(l.analysis_time_limit);
        let ranking = off_thread(move || {
            analysis::centrality_within(&snapshot, measure.into(), kind, first, samples, &budget)
        })
        .await?
        .map_err(over_budget)?;
        let exact = ranking.sampled.is_none();
        Ok(ranking
            .entries
            .into_iter()
            .map(|r| RankedEntity {
                rank: r.rank,
                score: r.score,
                exact,
                entity: entity(&g, r.entity),
            })
            .collect())
    }

    /// Pairs of entities of the same kind (of `kind`, or of any kind) whose
    /// names or aliases are alike once case, accents and word order are set
    /// aside: trigram similarity of at least 0.5, a match through an alias
    /// counting 0.9 of one between names. Each pair once (`a` has the lesser
    /// id), best first, then by ids; the first `first` (1 to the largest
    /// page). Runs within the analysis time limit (BUDGET_EXCEEDED past it).
    async fn possible_duplicates(
        &self,
        ctx: &Context<'_>,
        kind: Option<EntityKind>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
    ) -> Result<Vec<DuplicateCandidate>> {
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let first = in_range("first", first.unwrap_or(20), 1, l.max_page_size)?;
        let snapshot = g.clone();
        let kind = kind.map(Into::into);
        let budget = analysis::Budget::of(l.analysis_time_limit);
        let found = off_thread(move || {
            analysis::possible_duplicates_within(&snapshot, kind, first, &budget)
        })
        .await?
        .map_err(over_budget)?;
        Ok(found
            .into_iter()
            .map(|c| DuplicateCandidate {
                a: entity(&g, c.a),
                b: entity(&g, c.b),
                score: c.score,
                reasons: c.reasons,
            })
            .collect())
    }

    /// The graph, or the neighbourhood of `id` to `depth` hops (default 1),
    /// restricted to some entity and relation kinds, as a file for an
    /// analysis tool: the same as `GET /export/{format}`. CSV, a zip, comes
    /// base64-encoded.
    async fn export(
        &self,
        ctx: &Context<'_>,
        format: ExportFormat,
        id: Option<ID>,
        depth: Option<i32>,
        entity_kinds: Option<Vec<EntityKind>>,
        relation_kinds: Option<Vec<RelationKind>>,
    ) -> Result<String> {
        let g = graph(ctx)?;
        let l = limits(ctx)?;
        let depth = depth
            .map(|d| in_range("depth", d, 0, l.max_neighborhood_depth))
            .transpose()?;
        let sel = crate::interop::Selection::from_arguments(
            id.map(|id| id.0),
            depth,
            entity_kinds.map(|ks| ks.into_iter().map(Into::into).collect()),
            relation_kinds.map(|ks| ks.into_iter().map(Into::into).collect()),
            l.max_neighborhood_depth,
        )
        .map_err(ApiError::BadInput)?;
        let format: crate::interop::Format = format.into();
        let failed = |e| match e {
            crate::interop::InteropError::UnknownEntity(id) => ApiError::no_entity(&id),
            other => ApiError::Internal(other.to_string()),
        };
        let data = crate::interop::select(&g, &sel).map_err(failed)?;
        if let Some(budget) = ctx.data_opt::<super::answer_budget::AnswerBytes>() {
            // A compressed format has no least size to know beforehand; its
            // output is counted once built, as every value is.
            if !format.is_binary() {
                budget
                    .reserve(crate::interop::least_size(&data))
                    .map_err(over_budget)?;
            }
        }
        let bytes = crate::interop::export(&data, format).map_err(failed)?;
        Ok(if format.is_binary() {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(bytes)
        } else {
            String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))?
        })
    }

    /// The version of the graph this request reads: the number of writes
    /// committed before it. Every response also carries it as the
    /// `graphVersion` extension.
    async fn graph_version(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(graph(ctx)?.version())
    }

    /// Counts of the graph's contents.
    async fn stats(&self, ctx: &Context<'_>) -> Result<GraphStats> {
        let g = graph(ctx)?;
        Ok(GraphStats::of(&g))
    }
}
