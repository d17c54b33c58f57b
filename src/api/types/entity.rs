//! The `Entity` interface, its concrete types, and the `Node` interface.

use super::connection::{paginate, Page, RelationConnection};
use super::objects::{DocumentObj, FundingFlowObj, MoneyObj, RelationObj, SourceObj, VoteObj};
use super::scalars::{Date, Direction, EntityKind, RelationKind};
use crate::analysis::{funding_flows, FundingQuery};
use crate::api::inputs::{RelationFilter, RelationOrder};
use crate::api::Limits;
use crate::graph::{Graph, Walk};
use crate::model::{EntityClass, RelationKind as ModelRelationKind};
use async_graphql::Result;
use async_graphql::{Context, Interface, Object, SimpleObject, ID};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashSet;
use std::sync::Arc;

/// An entity of one graph snapshot.
#[derive(Clone)]
pub struct EntityRef {
    /// The snapshot it belongs to.
    pub g: Arc<Graph>,
    /// Its index there.
    pub ix: NodeIndex,
}

impl EntityRef {
    /// Records, when the request keeps track, that its answer read this
    /// entity's fields or relations.
    fn read(&self, ctx: &Context<'_>) {
        crate::api::reads::Reads::entity(ctx, self.ix);
    }

    fn e(&self) -> &crate::model::Entity {
        self.g.entity_at(self.ix)
    }

    /// The concrete GraphQL type for this entity's kind.
    pub fn into_entity(self) -> Entity {
        match self.e().kind.class() {
            EntityClass::Person => Entity::Person(Person(self)),
            EntityClass::Organization => Entity::Organization(Organization(self)),
            EntityClass::Fund => Entity::Fund(Fund(self)),
            EntityClass::Legislation => Entity::Legislation(Legislation(self)),
            EntityClass::Event => Entity::Event(Event(self)),
            EntityClass::Place => Entity::Place(Place(self)),
        }
    }

    fn at(&self, ix: NodeIndex) -> Entity {
        EntityRef {
            g: self.g.clone(),
            ix,
        }
        .into_entity()
    }

    fn walk(direction: Direction, kinds: Option<Vec<RelationKind>>) -> Walk {
        Walk {
            direction: direction.into(),
            kinds: kinds.map(|ks| ks.into_iter().map(Into::into).collect()),
        }
    }

    fn relations(
        &self,
        ctx: &Context<'_>,
        (direction, kinds): (Direction, Option<Vec<RelationKind>>),
        filter: Option<RelationFilter>,
        order_by: Option<RelationOrder>,
        page: Page,
    ) -> Result<RelationConnection> {
        let limits = ctx.data::<Limits>()?;
        let filter = filter
            .map(RelationFilter::into_model)
            .transpose()?
            .unwrap_or_default();
        let order = order_by.map(Into::into).unwrap_or_default();
        let walk = Self::walk(direction, kinds);
        let ids = self.g.filter_relations_of(self.ix, &walk, &filter, order);
        paginate(ids.len(), &page, limits, |i| {
            RelationObj::new(self.g.clone(), ids[i])
        })
    }

    fn documents(&self) -> Vec<DocumentObj> {
        self.g
            .entity_documents(self.ix)
            .into_iter()
            .map(|id| DocumentObj::new(self.g.clone(), id))
            .collect()
    }

    fn neighbors(&self, direction: Direction, kinds: Option<Vec<RelationKind>>) -> Vec<Entity> {
        let mut seen = HashSet::new();
        let mut steps = self.g.steps(self.ix, &Self::walk(direction, kinds));
        steps.sort_by(|a, b| {
            self.g
                .entity_at(a.other)
                .id
                .cmp(&self.g.entity_at(b.other).id)
        });
        steps
            .into_iter()
            .filter(|s| seen.insert(s.other))
            .map(|s| self.at(s.other))
            .collect()
    }

    /// Entities at the other end of relations of `kind` in `dir`, by id.
    fn linked(&self, kind: ModelRelationKind, dir: crate::graph::Direction) -> Vec<Entity> {
        let walk = Walk {
            direction: dir,
            kinds: Some(vec![kind]),
        };
        let mut others: Vec<NodeIndex> = self
            .g
            .steps(self.ix, &walk)
            .iter()
            .map(|s| s.other)
            .collect();
        others.sort_by(|a, b| self.g.entity_at(*a).id.cmp(&self.g.entity_at(*b).id));
        others.dedup();
        others.into_iter().map(|n| self.at(n)).collect()
    }
}

/// Generates a concrete entity type with every field of the `Entity`
/// interface, plus the kind-specific fields given in the braces.
macro_rules! entity_type {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        pub struct $name(pub EntityRef);

        #[Object]
        impl $name {
            /// Stable readable slug.
            async fn id(&self) -> ID {
                ID(self.0.e().id.to_string())
            }
            /// What the entity is.
            async fn kind(&self, ctx: &Context<'_>) -> EntityKind {
                self.0.read(ctx);
                self.0.e().kind.into()
            }
            /// The full name as the source gives it.
            async fn name(&self, ctx: &Context<'_>) -> &str {
                self.0.read(ctx);
                &self.0.e().name
            }
            /// Acronyms and short forms.
            async fn aliases(&self, ctx: &Context<'_>) -> &[String] {
                self.0.read(ctx);
                &self.0.e().aliases
            }
            /// The ids of the entities merged into this one (transitively),
            /// ordered by id. Each still resolves to this entity through
            /// `entity`, `node` and exports, and stays reserved.
            async fn merged_ids(&self, ctx: &Context<'_>) -> Vec<ID> {
                self.0.read(ctx);
                self.0.e().merged_ids().iter().map(|id| ID(id.to_string())).collect()
            }
            /// A short description in the source's terms.
            async fn description(&self, ctx: &Context<'_>) -> Option<&str> {
                self.0.read(ctx);
                self.0.e().description()
            }
            /// The evidence: documents and verbatim quotes.
            async fn sources(&self, ctx: &Context<'_>) -> Vec<SourceObj> {
                self.0.read(ctx);
                SourceObj::list(&self.0.g, &self.0.e().sources)
            }
            /// Relations in both directions.
            async fn degree(&self, ctx: &Context<'_>) -> usize {
                self.0.read(ctx);
                self.0.g.degree(self.0.ix)
            }
            /// Relations of this entity in `direction`, of `kinds` and
            /// meeting `filter` (all must hold; see `RelationFilter`),
            /// ordered by `orderBy` (by relation id unless told).
            #[allow(clippy::too_many_arguments)]
            async fn relations(
                &self,
                ctx: &Context<'_>,
                #[graphql(default_with = "Some(Direction::Both)")] direction: Option<Direction>,
                kinds: Option<Vec<RelationKind>>,
                filter: Option<RelationFilter>,
                order_by: Option<RelationOrder>,
                first: Option<i32>,
                after: Option<String>,
                last: Option<i32>,
                before: Option<String>,
            ) -> Result<RelationConnection> {
                self.0.read(ctx);
                self.0.relations(ctx, (direction.unwrap_or_default(), kinds), filter, order_by, Page::new(first, after, last, before))
            }
            /// The documents that evidence this entity: those its own
            /// sources quote and those its relations' sources quote, each
            /// once, ordered by id.
            async fn documents(&self, ctx: &Context<'_>) -> Vec<DocumentObj> {
                self.0.read(ctx);
                self.0.documents()
            }
            /// Entities one relation away, each once, ordered by id.
            async fn neighbors(
                &self,
                ctx: &Context<'_>,
                #[graphql(default_with = "Some(Direction::Both)")] direction: Option<Direction>,
                kinds: Option<Vec<RelationKind>>,
            ) -> Vec<Entity> {
                self.0.read(ctx);
                self.0.neighbors(direction.unwrap_or_default(), kinds)
            }
            $($extra)*
        }
    };
}

/// A position a person holds at a body.
#[derive(SimpleObject)]
pub struct Position {
    /// The position ("Chief of Staff"), when stated.
    pub role: Option<String>,
    /// Where it is held.
    pub organization: Entity,
    /// The HOLDS_POSITION relation that states it.
    pub relation: RelationObj,
}

entity_type!(
    /// A natural person.
    Person {
        /// Military rank or honorific ("Lieutenant General").
        async fn rank(&self, ctx: &Context<'_>) -> Option<&str> {
            self.0.read(ctx);
            self.0.e().rank()
        }
        /// Positions held, from HOLDS_POSITION relations.
        async fn positions(&self, ctx: &Context<'_>) -> Vec<Position> {
            self.0.read(ctx);
            let walk = Walk {
                direction: crate::graph::Direction::Outgoing,
                kinds: Some(vec![ModelRelationKind::HoldsPosition]),
            };
            self.0
                .g
                .steps(self.0.ix, &walk)
                .into_iter()
                .map(|s| Position {
                    role: s.relation.role().map(str::to_owned),
                    organization: self.0.at(s.other),
                    relation: RelationObj::new(self.0.g.clone(), s.edge),
                })
                .collect()
        }
    }
);

entity_type!(
    /// A body: government, ministry, legislature, command, force, service,
    /// armed group or media outlet.
    Organization {
        /// Entities that are PART_OF this one.
        async fn members(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::PartOf, crate::graph::Direction::Incoming)
        }
        /// Entities this one is PART_OF.
        async fn part_of(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::PartOf, crate::graph::Direction::Outgoing)
        }
    }
);

entity_type!(
    /// A fund that money is appropriated to and paid from.
    Fund {
        /// The total the source states for the fund.
        async fn total_amount(&self, ctx: &Context<'_>) -> Option<MoneyObj> {
            self.0.read(ctx);
            self.0.e().total_amount().cloned().map(MoneyObj)
        }
        /// The fiscal year it is for.
        async fn fiscal_year(&self, ctx: &Context<'_>) -> Option<i32> {
            self.0.read(ctx);
            self.0.e().fiscal_year()
        }
        /// Where the fund's money goes: every funding flow that starts here.
        async fn flows(&self, ctx: &Context<'_>) -> Vec<FundingFlowObj> {
            // Flows run along several hops: any write may change them.
            crate::api::reads::Reads::whole_graph(ctx);
            let q = FundingQuery { from: Some(self.0.ix), ..Default::default() };
            funding_flows(&self.0.g, &q)
                .into_iter()
                .map(|f| FundingFlowObj::new(self.0.g.clone(), f))
                .collect()
        }
    }
);

entity_type!(
    /// A law or bill.
    Legislation {
        /// The passing vote, when stated.
        async fn vote(&self, ctx: &Context<'_>) -> Option<VoteObj> {
            self.0.read(ctx);
            self.0.e().vote().map(VoteObj)
        }
        /// The total the legislation provides for.
        async fn total(&self, ctx: &Context<'_>) -> Option<MoneyObj> {
            self.0.read(ctx);
            self.0.e().total().cloned().map(MoneyObj)
        }
        /// The fiscal year it is for.
        async fn fiscal_year(&self, ctx: &Context<'_>) -> Option<i32> {
            self.0.read(ctx);
            self.0.e().fiscal_year()
        }
        /// Legislatures that ENACTED it.
        async fn enacted_by(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::Enacted, crate::graph::Direction::Incoming)
        }
    }
);

entity_type!(
    /// A meeting, round of talks or other happening.
    Event {
        /// The day it took place, when stated.
        async fn date(&self, ctx: &Context<'_>) -> Option<Date> {
            self.0.read(ctx);
            self.0.e().date().map(Date)
        }
        /// Actors that PARTICIPATE_IN it.
        async fn participants(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::ParticipatesIn, crate::graph::Direction::Incoming)
        }
        /// Events it is PART_OF.
        async fn part_of(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::PartOf, crate::graph::Direction::Outgoing)
        }
    }
);

entity_type!(
    /// A country, region or city.
    Place {
        /// Governments that GOVERN it.
        async fn governed_by(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::Governs, crate::graph::Direction::Incoming)
        }
        /// Entities that OPERATE_IN it.
        async fn active_here(&self, ctx: &Context<'_>) -> Vec<Entity> {
            self.0.read(ctx);
            self.0.linked(ModelRelationKind::OperatesIn, crate::graph::Direction::Incoming)
        }
    }
);

/// A person, body, fund, law, event or place of the graph.
// The derive's repeated `arg(name = …, ty = …)` items are distinct
// arguments, not duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID", desc = "Stable readable slug."),
    field(name = "kind", ty = "EntityKind", desc = "What the entity is."),
    field(
        name = "name",
        ty = "&str",
        desc = "The full name as the source gives it."
    ),
    field(name = "aliases", ty = "&[String]", desc = "Acronyms and short forms."),
    field(
        name = "merged_ids",
        ty = "Vec<ID>",
        desc = "The ids of the entities merged into this one (transitively), ordered by id. Each still resolves to this entity through `entity`, `node` and exports, and stays reserved."
    ),
    field(
        name = "description",
        ty = "Option<&str>",
        desc = "A short description in the source's terms."
    ),
    field(
        name = "sources",
        ty = "Vec<SourceObj>",
        desc = "The evidence: documents and verbatim quotes."
    ),
    field(name = "degree", ty = "usize", desc = "Relations in both directions."),
    field(
        name = "relations",
        ty = "RelationConnection",
        desc = "Relations of this entity in `direction`, of `kinds` and meeting `filter` (all must hold; see `RelationFilter`), ordered by `orderBy` (by relation id unless told).",
        arg(
            name = "direction",
            ty = "Option<Direction>",
            default_with = "Some(Direction::Both)"
        ),
        arg(name = "kinds", ty = "Option<Vec<RelationKind>>"),
        arg(name = "filter", ty = "Option<RelationFilter>"),
        arg(name = "orderBy", ty = "Option<RelationOrder>"),
        arg(name = "first", ty = "Option<i32>"),
        arg(name = "after", ty = "Option<String>"),
        arg(name = "last", ty = "Option<i32>"),
        arg(name = "before", ty = "Option<String>")
    ),
    field(
        name = "documents",
        ty = "Vec<DocumentObj>",
        desc = "The documents that evidence this entity: those its own sources quote and those its relations' sources quote, each once, ordered by id."
    ),
    field(
        name = "neighbors",
        ty = "Vec<Entity>",
        desc = "Entities one relation away, each once, ordered by id.",
        arg(
            name = "direction",
            ty = "Option<Direction>",
            default_with = "Some(Direction::Both)"
        ),
        arg(name = "kinds", ty = "Option<Vec<RelationKind>>")
    )
)]
pub enum Entity {
    /// A person.
    Person(Person),
    /// A body.
    Organization(Organization),
    /// A fund.
    Fund(Fund),
    /// A law or bill.
    Legislation(Legislation),
    /// An event.
    Event(Event),
    /// A place.
    Place(Place),
}

/// Anything with a stable, globally unique id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Stable readable slug, unique across all nodes."
))]
pub enum Node {
    /// A person.
    Person(Person),
    /// A body.
    Organization(Organization),
    /// A fund.
    Fund(Fund),
    /// A law or bill.
    Legislation(Legislation),
    /// An event.
    Event(Event),
    /// A place.
    Place(Place),
    /// A relation.
    Relation(RelationObj),
    /// A source document.
    Document(DocumentObj),
}

impl From<Entity> for Node {
    fn from(e: Entity) -> Self {
        match e {
            Entity::Person(x) => Node::Person(x),
            Entity::Organization(x) => Node::Organization(x),
            Entity::Fund(x) => Node::Fund(x),
            Entity::Legislation(x) => Node::Legislation(x),
            Entity::Event(x) => Node::Event(x),
            Entity::Place(x) => Node::Place(x),
        }
    }
}

/// Declares `interface Entity implements Node` in the schema, as the
/// contract prints it. async-graphql's `Interface` derive cannot say that
/// an interface implements another, and listing `Entity` as a variant of
/// `Node` would make it a "possible type" (only object types may be), so
/// the relation is added to the registry when the schema is built. Never
/// used as a field type.
pub struct EntityIsNode;

impl async_graphql::OutputType for EntityIsNode {
    fn type_name() -> std::borrow::Cow<'static, str> {
        <Entity as async_graphql::OutputType>::type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        let name = <Entity as async_graphql::OutputType>::create_type_info(registry);
        <Node as async_graphql::OutputType>::create_type_info(registry);
        registry.add_implements(
            &<Entity as async_graphql::OutputType>::type_name(),
            &<Node as async_graphql::OutputType>::type_name(),
        );
        name
    }

    async fn resolve(
        &self,
        _ctx: &async_graphql::ContextSelectionSet<'_>,
        _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<async_graphql::Value> {
        Err(async_graphql::ServerError::new(
            "EntityIsNode is not a field type",
            None,
        ))
    }
}
