//! Relations, documents, evidence, money and the results of analyses.

use super::connection::{paginate, Page, RelationConnection, TotalCount};
use super::entity::{Entity, EntityRef};
use super::scalars::{AmountQualifier, Date, EntityKind, RelationKind};
use crate::analysis::{FundingFlow, Path, Subgraph};
use crate::api::reads::Reads;
use crate::api::Limits;
use crate::graph::Graph;
use crate::model::{Money, Source, Vote};
use async_graphql::connection::{Connection, OpaqueCursor};
use async_graphql::{Context, Object, Result, SimpleObject, ID};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use std::borrow::Cow;
use std::sync::Arc;

fn entity(g: &Arc<Graph>, ix: NodeIndex) -> Entity {
    EntityRef { g: g.clone(), ix }.into_entity()
}

/// A directed, typed relation `from → to` with its evidence.
#[derive(Clone)]
pub struct RelationObj {
    g: Arc<Graph>,
    ix: EdgeIndex,
}

impl RelationObj {
    /// The relation at `ix` of snapshot `g`.
    pub fn new(g: Arc<Graph>, ix: EdgeIndex) -> Self {
        RelationObj { g, ix }
    }

    /// Records, when the request keeps track, that its answer read this
    /// relation: every write to a relation touches both its ends.
    fn read(&self, ctx: &Context<'_>) {
        crate::api::reads::Reads::entity(ctx, self.g.ends(self.ix).0);
    }

    fn r(&self) -> &crate::model::Relation {
        self.g.relation_at(self.ix)
    }
}

/// A directed, typed relation `from → to` with its evidence.
#[Object(name = "Relation")]
impl RelationObj {
    /// Stable readable slug.
    pub async fn id(&self) -> ID {
        ID(self.r().id.to_string())
    }
    /// What the relation says.
    async fn kind(&self, ctx: &Context<'_>) -> RelationKind {
        self.read(ctx);
        self.r().kind.into()
    }
    /// The entity it starts at.
    async fn from(&self, ctx: &Context<'_>) -> Entity {
        self.read(ctx);
        entity(&self.g, self.g.ends(self.ix).0)
    }
    /// The entity it ends at.
    async fn to(&self, ctx: &Context<'_>) -> Entity {
        self.read(ctx);
        entity(&self.g, self.g.ends(self.ix).1)
    }
    /// HOLDS_POSITION: the position held.
    async fn role(&self, ctx: &Context<'_>) -> Option<&str> {
        self.read(ctx);
        self.r().role()
    }
    /// AUTHORIZES, FUNDS: the money, as stated.
    async fn amount(&self, ctx: &Context<'_>) -> Option<MoneyObj> {
        self.read(ctx);
        self.r().amount().cloned().map(MoneyObj)
    }
    /// The fiscal year the money is for.
    async fn fiscal_year(&self, ctx: &Context<'_>) -> Option<i32> {
        self.read(ctx);
        self.r().fiscal_year()
    }
    /// The day it happened, when stated.
    async fn date(&self, ctx: &Context<'_>) -> Option<Date> {
        self.read(ctx);
        self.r().date().map(Date)
    }
    /// SUPPORTS: the kinds of support the source lists.
    async fn categories(&self, ctx: &Context<'_>) -> &[String] {
        self.read(ctx);
        self.r().categories()
    }
    /// The evidence: documents and verbatim quotes.
    async fn sources(&self, ctx: &Context<'_>) -> Vec<SourceObj> {
        self.read(ctx);
        SourceObj::list(&self.g, &self.r().sources)
    }
}

/// A source document.
#[derive(Clone)]
pub struct DocumentObj {
    g: Arc<Graph>,
    id: String,
}

impl DocumentObj {
    /// The document `id` of snapshot `g`; the caller has checked it exists.
    pub fn new(g: Arc<Graph>, id: &str) -> Self {
        DocumentObj {
            g,
            id: id.to_owned(),
        }
    }

    fn d(&self) -> Option<&crate::model::Document> {
        self.g.document(&self.id)
    }
}

/// A source document: an article, report or statement.
#[Object(name = "Document")]
impl DocumentObj {
    /// Stable readable slug.
    pub async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// Headline or title.
    async fn title(&self) -> &str {
        self.d().map_or("", |d| d.title.as_str())
    }
    /// Who published it.
    async fn publisher(&self) -> &str {
        self.d().map_or("", |d| d.publisher.as_str())
    }
    /// Publication date, when the document states it.
    async fn published_on(&self) -> Option<Date> {
        self.d().and_then(|d| d.published_on).map(Date)
    }
    /// Where it was filed from.
    async fn dateline(&self) -> Option<&str> {
        self.d().and_then(|d| d.dateline.as_deref())
    }
    /// The full text that every quote is taken from.
    async fn text(&self) -> Cow<'_, str> {
        self.d().map_or(Cow::Borrowed(""), |d| d.text.get())
    }
    /// What the document evidences: the entities with a source quoting
    /// it, ordered by id.
    async fn entities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<OpaqueCursor<usize>, Entity, TotalCount>> {
        // Any write may add or take away an item quoting it.
        Reads::whole_graph(ctx);
        let limits = ctx.data::<Limits>()?;
        let ixs = self.g.document_entities(&self.id);
        paginate(
            ixs.len(),
            &Page::new(first, after, last, before),
            limits,
            |i| entity(&self.g, ixs[i]),
        )
    }
    /// What the document evidences: the relations with a source quoting
    /// it, ordered by id.
    async fn relations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<RelationConnection> {
        Reads::whole_graph(ctx);
        let limits = ctx.data::<Limits>()?;
        let ixs = self.g.document_relations(&self.id);
        paginate(
            ixs.len(),
            &Page::new(first, after, last, before),
            limits,
            |i| RelationObj::new(self.g.clone(), ixs[i]),
        )
    }
}

/// Evidence: a document and the verbatim words that state the fact.
pub struct SourceObj {
    document: DocumentObj,
    source: Source,
}

impl SourceObj {
    /// Wraps a list of sources of snapshot `g`.
    pub fn list(g: &Arc<Graph>, sources: &[Source]) -> Vec<SourceObj> {
        sources
            .iter()
            .map(|s| SourceObj {
                document: DocumentObj::new(g.clone(), s.document()),
                source: s.clone(),
            })
            .collect()
    }
}

/// Evidence: a document and the verbatim words that state the fact.
#[Object(name = "Source")]
impl SourceObj {
    /// The document.
    async fn document(&self) -> &DocumentObj {
        &self.document
    }
    /// Verbatim words of the document.
    async fn quote(&self) -> Cow<'_, str> {
        self.source.quote()
    }
}

/// An amount of money as the source states it.
pub struct MoneyObj(pub Money);

/// An amount of money as the source states it.
#[Object(name = "Money")]
impl MoneyObj {
    /// Whole units of `currency` (exact up to 2^53).
    async fn amount(&self) -> f64 {
        self.0.amount as f64
    }
    /// ISO 4217 code.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// How exact the source is about it.
    async fn qualifier(&self) -> AmountQualifier {
        self.0.qualifier.into()
    }
    /// In plain words: "more than $213 million".
    async fn display(&self) -> String {
        self.0.display()
    }
}

/// A recorded vote.
pub struct VoteObj(pub Vote);

/// A recorded vote.
#[Object(name = "Vote")]
impl VoteObj {
    /// Votes in favour.
    async fn yeas(&self) -> u32 {
        self.0.yeas
    }
    /// Votes against.
    async fn nays(&self) -> u32 {
        self.0.nays
    }
    /// "77–20".
    async fn display(&self) -> String {
        format!("{}–{}", self.0.yeas, self.0.nays)
    }
}

/// A walk through the graph.
pub struct PathObj {
    g: Arc<Graph>,
    path: Path,
}

impl PathObj {
    /// Wraps a path of snapshot `g`.
    pub fn new(g: Arc<Graph>, path: Path) -> Self {
        PathObj { g, path }
    }
}

/// A walk through the graph: `entities[i]` and `entities[i+1]` are joined by
/// `relations[i]`.
#[Object(name = "Path")]
impl PathObj {
    /// Hops: the number of relations.
    async fn length(&self) -> usize {
        self.path.len()
    }
    /// The entities in order.
    async fn entities(&self) -> Vec<Entity> {
        self.path
            .entities
            .iter()
            .map(|n| entity(&self.g, *n))
            .collect()
    }
    /// The relations between them.
    async fn relations(&self) -> Vec<RelationObj> {
        self.path
            .relations
            .iter()
            .map(|e| RelationObj::new(self.g.clone(), *e))
            .collect()
    }
}

/// A part of the graph.
pub struct SubgraphObj {
    g: Arc<Graph>,
    sub: Subgraph,
}

impl SubgraphObj {
    /// Wraps a subgraph of snapshot `g`.
    pub fn new(g: Arc<Graph>, sub: Subgraph) -> Self {
        SubgraphObj { g, sub }
    }
}

/// A part of the graph: entities and the relations among them.
#[Object(name = "Subgraph")]
impl SubgraphObj {
    /// Entities, ordered by distance from the centre, then by id.
    async fn entities(&self) -> Vec<Entity> {
        self.sub
            .entities
            .iter()
            .map(|n| entity(&self.g, *n))
            .collect()
    }
    /// Relations among them, ordered by id.
    async fn relations(&self) -> Vec<RelationObj> {
        self.sub
            .relations
            .iter()
            .map(|e| RelationObj::new(self.g.clone(), *e))
            .collect()
    }
}

/// One path along which money reaches a recipient.
pub struct FundingFlowObj {
    g: Arc<Graph>,
    flow: FundingFlow,
}

impl FundingFlowObj {
    /// Wraps a flow of snapshot `g`.
    pub fn new(g: Arc<Graph>, flow: FundingFlow) -> Self {
        FundingFlowObj { g, flow }
    }
}

/// One path along which money reaches a recipient.
#[Object(name = "FundingFlow")]
impl FundingFlowObj {
    /// Where the money starts.
    async fn source(&self) -> Entity {
        entity(&self.g, self.flow.source)
    }
    /// Who receives it.
    async fn recipient(&self) -> Entity {
        entity(&self.g, self.flow.recipient)
    }
    /// The amount on the last money-carrying relation; null if unstated.
    async fn amount(&self) -> Option<MoneyObj> {
        self.flow.amount.clone().map(MoneyObj)
    }
    /// False when the recipient is reached as a member (PART_OF) of a funded group.
    async fn direct(&self) -> bool {
        self.flow.direct
    }
    /// Source → … → recipient.
    async fn path(&self) -> PathObj {
        PathObj::new(self.g.clone(), self.flow.path.clone())
    }
}

/// An entity's place in a centrality ranking.
#[derive(SimpleObject)]
pub struct RankedEntity {
    /// 1-based position in the whole graph's ranking (ties broken by id).
    pub rank: usize,
    /// The score.
    pub score: f64,
    /// False when the score is an estimate (sampled betweenness).
    pub exact: bool,
    /// The entity.
    pub entity: Entity,
}

/// How many items of one entity kind.
#[derive(SimpleObject)]
pub struct EntityKindCount {
    /// The kind.
    pub kind: EntityKind,
    /// How many.
    pub count: usize,
}

/// How many items of one relation kind.
#[derive(SimpleObject)]
pub struct RelationKindCount {
    /// The kind.
    pub kind: RelationKind,
    /// How many.
    pub count: usize,
}

/// Counts of the graph's contents.
#[derive(SimpleObject)]
pub struct GraphStats {
    /// Entities in all.
    pub entities: usize,
    /// Relations in all.
    pub relations: usize,
    /// Documents in all.
    pub documents: usize,
    /// Entities by kind (kinds with none left out).
    pub entities_by_kind: Vec<EntityKindCount>,
    /// Relations by kind (kinds with none left out).
    pub relations_by_kind: Vec<RelationKindCount>,
}

impl GraphStats {
    /// Counts of snapshot `g`.
    pub fn of(g: &Graph) -> Self {
        let mut by_entity = std::collections::BTreeMap::new();
        for n in g.entities() {
            *by_entity.entry(g.entity_at(n).kind).or_insert(0) += 1;
        }
        let mut by_relation = std::collections::BTreeMap::new();
        for e in g.relations() {
            *by_relation.entry(g.relation_at(e).kind).or_insert(0) += 1;
        }
        GraphStats {
            entities: g.entity_count(),
            relations: g.relation_count(),
            documents: g.documents().len(),
            entities_by_kind: by_entity
                .into_iter()
                .map(|(kind, count)| EntityKindCount {
                    kind: kind.into(),
                    count,
                })
                .collect(),
            relations_by_kind: by_relation
                .into_iter()
                .map(|(kind, count)| RelationKindCount {
                    kind: kind.into(),
                    count,
                })
                .collect(),
        }
    }
}
