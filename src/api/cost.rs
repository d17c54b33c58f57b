//! The cost model: what a query weighs against the complexity limit
//! (`--max-complexity`, 5,000 by default), worked out from the parsed
//! document, its variables and the schema before anything runs.
//!
//! Every field weighs 1 plus what it selects, and every item of a list
//! weighs 1 plus its selection, as the README lists:
//! - a page (`entities`, `relations`, `Entity.relations`,
//!   `Document.entities`, `Document.relations`): 1 + its size (`first`,
//!   else `last`, else 20) × (its selection + 1), whatever its filter and
//!   order (an index answers a selective filter; see `graph::facets`);
//! - a list of unknown length (`neighbors`, `members`, `Entity.documents`, a neighbourhood's
//!   or a path's entities and relations, …): [`SPREAD`] items; a list of
//!   one item's own facts (`aliases`, `sources`, `categories`,
//!   `positions`, `mergedIds`, a duplicate's `reasons`): [`SHORT`] items;
//!   the counts by kind: one per kind;
//! - `shortestPath`: [`PATH`] + its selection; `paths`: [`PATH`] × its
//!   `maxLength` + `first` items; `neighborhood`: [`PATH`] × (`depth` + 1)
//!   + its selection;
//! - `fundingFlows`: [`FLOWS`] + [`SPREAD`] items;
//! - `fundingTotals`: [`TOTALS`] + `first` items, else [`SPREAD`];
//! - `timeline`: [`TIMELINE`] + `first` items;
//! - `centrality`: [`RANKING`] + `first` items;
//! - `possibleDuplicates`: [`DUPLICATES`] + `first` items;
//! - `export`: [`EXPORT`]: five whole-graph exports fill a request.
//!
//! The weights go by the type a field is asked on, interfaces included, so
//! `neighbors` weighs the same through `Entity` as through `Ministry`.
//! (async-graphql's own complexity limit applies a field's weight only
//! when its parent is an object type, which would leave every field asked
//! through the `Entity` interface at 1; hence a model of our own, read
//! from the schema's SDL.) Fragments are sized once each, so a document
//! whose fragments spread one another costs its weight to check, not its
//! expansion.

use super::error::ApiError;
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, Selection, SelectionSet,
    ServiceDocument, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ServerError, Value, Variables};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The schema's own names, looked up on every field of every request: a
/// fast hash, since no client chooses what is stored (a client's fragment
/// names go in a map with the standard, seeded hash).
type Names<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// A path search, per hop it may take.
pub const PATH: usize = 50;
/// A list of unknown length: the items it is weighed at.
pub const SPREAD: usize = 10;
/// A list of one item's own facts (aliases, sources): the items it is
/// weighed at.
pub const SHORT: usize = 4;
/// The funding flows.
pub const FLOWS: usize = 100;
/// Funding totals: one pass over the relations.
pub const TOTALS: usize = 100;
/// A timeline: one pass over the graph when it is about all of it.
pub const TIMELINE: usize = 100;
/// A centrality ranking (cached per version once computed).
pub const RANKING: usize = 200;
/// A search for possible duplicates: a pass over every name and alias,
/// not cached.
pub const DUPLICATES: usize = 500;
/// A whole-graph export.
pub const EXPORT: usize = 1000;

/// The page a list field is asked for (`first`, else `last`, else the
/// default page of 20), as a weight of at least 1.
pub fn page(first: Option<i64>, last: Option<i64>) -> usize {
    usize::try_from(first.or(last).unwrap_or(20))
        .unwrap_or(0)
        .max(1)
}

/// Hops asked for, as a weight of at least 1.
pub fn hops(n: Option<i64>) -> usize {
    usize::try_from(n.unwrap_or(1)).unwrap_or(0).max(1)
}

/// A list of `items` items, each weighing 1 plus `each`.
pub fn list(items: usize, each: usize) -> usize {
    items
        .saturating_mul(each.saturating_add(1))
        .saturating_add(1)
}

/// What the schema says of one field, for weighing it.
#[derive(Debug)]
struct FieldInfo {
    /// The named type it returns, lists and non-null taken off.
    returns: String,
    /// It returns a list.
    list: bool,
    /// It takes `first`/`last` and returns a page (a `…Connection`).
    paged: bool,
    /// Its arguments' default values, by name.
    defaults: Names<i64>,
}

/// The schema's fields, by type and name, read from its SDL.
#[derive(Debug, Default)]
pub struct Model {
    /// By type, then by field: looked up by `&str`, nothing allocated.
    types: Names<Names<FieldInfo>>,
}

/// The model of the served schema, read once.
pub static MODEL: LazyLock<Model> = LazyLock::new(|| {
    use async_graphql::Schema;
    let sdl = Schema::build(super::Query, super::Mutation, super::Subscription)
        .register_output_type::<super::types::EntityIsNode>()
        .finish()
        .sdl();
    Model::of(&sdl)
});

impl Model {
    /// The model of the schema `sdl` describes; empty if it does not parse
    /// (then every field weighs 1 plus its selection).
    pub fn of(sdl: &str) -> Model {
        let Ok(doc) = async_graphql::parser::parse_schema(sdl) else {
            return Model::default();
        };
        Model::from_document(&doc)
    }

    fn from_document(doc: &ServiceDocument) -> Model {
        let mut types: Names<Names<FieldInfo>> = Names::default();
        for def in &doc.definitions {
            let TypeSystemDefinition::Type(t) = def else {
                continue;
            };
            let defined = match &t.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            for f in defined {
                let f = &f.node;
                let mut ty = &f.ty.node;
                let mut list = false;
                let returns = loop {
                    match &ty.base {
                        BaseType::Named(name) => break name.to_string(),
                        BaseType::List(inner) => {
                            list = true;
                            ty = inner;
                        }
                    }
                };
                let arg = |n: &str| f.arguments.iter().any(|a| a.node.name.node == n);
                let paged = (arg("first") || arg("last")) && returns.ends_with("Connection");
                let defaults = f
                    .arguments
                    .iter()
                    .filter_map(|a| {
                        let v = a.node.default_value.as_ref()?;
                        let Value::Number(n) = &v.node else {
                            return None;
                        };
                        let n = n.as_i64()?;
                        Some((a.node.name.node.to_string(), n))
                    })
                    .collect();
                types
                    .entry(t.node.name.node.to_string())
                    .or_default()
                    .insert(
                        f.name.node.to_string(),
                        FieldInfo {
                            returns,
                            list,
                            paged,
                            defaults,
                        },
                    );
            }
        }
        Model { types }
    }

    /// The cost of the costliest operation of `doc` with `variables`.
    pub fn cost(&self, doc: &ExecutableDocument, variables: &Variables) -> usize {
        self.walk(doc, variables, None)
    }

    /// The most fields (list items included, as the field budget counts
    /// them) any operation of `doc` with `variables` can resolve, whatever
    /// the graph holds, and its longest response key; `None` when a list
    /// of unknown length, an analysis or introspection leaves that open.
    /// Pages hold at most what they ask for, `default_page` items when
    /// they ask for no size.
    pub fn bound(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        default_page: usize,
    ) -> Option<AnswerBound> {
        let mut walk = Walk::new(self, doc, variables, Some(default_page));
        let fields = walk.operations();
        (fields != usize::MAX).then_some(AnswerBound {
            fields,
            longest_key: walk.longest_key,
        })
    }

    fn walk(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        bounding: Option<usize>,
    ) -> usize {
        Walk::new(self, doc, variables, bounding).operations()
    }
}

/// What a request's answer can hold at most, worked out before it runs
/// ([`Model::bound`]): the field budget's count and its longest key. With
/// the longest text of the graph it bounds the answer's bytes too
/// ([`super::answer_budget::never_exceeded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerBound {
    /// The most fields, list items included.
    pub fields: usize,
    /// The bytes of its longest response key (alias or field name).
    pub longest_key: usize,
}

impl<'a> Walk<'a> {
    fn new(
        model: &'a Model,
        doc: &'a ExecutableDocument,
        variables: &'a Variables,
        bounding: Option<usize>,
    ) -> Self {
        Walk {
            model,
            doc,
            variables,
            bounding,
            longest_key: 0,
            fragments: HashMap::new(),
            visiting: Vec::new(),
        }
    }

    /// The weight of the heaviest operation.
    fn operations(&mut self) -> usize {
        let doc = self.doc;
        let root = |ty: async_graphql::parser::types::OperationType| match ty {
            async_graphql::parser::types::OperationType::Query => "Query",
            async_graphql::parser::types::OperationType::Mutation => "Mutation",
            async_graphql::parser::types::OperationType::Subscription => "Subscription",
        };
        match &doc.operations {
            DocumentOperations::Single(op) => {
                self.set(root(op.node.ty), &op.node.selection_set.node)
            }
            DocumentOperations::Multiple(ops) => ops
                .values()
                .map(|op| self.set(root(op.node.ty), &op.node.selection_set.node))
                .max()
                .unwrap_or(0),
        }
    }
}

/// The refusal of a query that costs `cost`, more than `max`.
pub fn refusal(cost: usize, max: usize) -> ServerError {
    ApiError::TooComplex {
        message: format!(
            "the query costs {cost}, more than the {max} allowed; ask for smaller pages, \
             fewer nested lists or fewer heavy fields (the README lists what each weighs)"
        ),
        cost: Some((cost, max)),
    }
    .into_server_error()
}

/// One walk over a document, each fragment weighed once.
struct Walk<'a> {
    model: &'a Model,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    /// When bounding rather than weighing: the default page size. A bound
    /// is `usize::MAX` wherever a weight is an estimate, and saturating
    /// sums keep it there.
    bounding: Option<usize>,
    /// The longest response key seen.
    longest_key: usize,
    fragments: HashMap<&'a str, usize>,
    /// Fragments being weighed, to stop at a cycle (which validation
    /// refuses anyway).
    visiting: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    /// The weight of `set` asked on type `on`.
    fn set(&mut self, on: &str, set: &'a SelectionSet) -> usize {
        set.items.iter().fold(0usize, |total, item| {
            let w = match &item.node {
                Selection::Field(f) => self.field(on, &f.node),
                Selection::InlineFragment(i) => {
                    let on = i
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(on, |c| c.node.on.node.as_str());
                    self.set(on, &i.node.selection_set.node)
                }
                Selection::FragmentSpread(s) => self.fragment(s.node.fragment_name.node.as_str()),
            };
            total.saturating_add(w)
        })
    }

    fn fragment(&mut self, name: &str) -> usize {
        if let Some(w) = self.fragments.get(name) {
            return *w;
        }
        let Some((key, fragment)) = self.doc.fragments.get_key_value(name) else {
            // Unknown: validation names it.
            return 0;
        };
        let key = key.as_str();
        if self.visiting.contains(&key) {
            return 0;
        }
        self.visiting.push(key);
        let on = fragment.node.type_condition.node.on.node.as_str();
        let w = self.set(on, &fragment.node.selection_set.node);
        self.visiting.pop();
        self.fragments.insert(key, w);
        w
    }

    /// An integer argument of `f`, given or by default.
    fn int(&self, f: &Field, info: Option<&FieldInfo>, name: &str) -> Option<i64> {
        let given = f
            .arguments
            .iter()
            .find(|(n, _)| n.node == name)
            .and_then(|(_, v)| {
                let value = v
                    .node
                    .clone()
                    .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()));
                match value {
                    Ok(Value::Number(n)) => n.as_i64(),
                    _ => None,
                }
            });
        given.or_else(|| info.and_then(|i| i.defaults.get(name).copied()))
    }

    /// Items of a list of unknown length: an estimate when weighing, no
    /// bound when bounding.
    fn spread(&self, estimate: usize) -> usize {
        match self.bounding {
            Some(_) => usize::MAX,
            None => estimate,
        }
    }

    /// Items of a page of `first`, else `last`: when bounding with no
    /// size asked, the default page size.
    fn page(&self, first: Option<i64>, last: Option<i64>) -> usize {
        match (self.bounding, first.or(last)) {
            (Some(default), None) => default.max(1),
            _ => page(first, last),
        }
    }

    fn field(&mut self, on: &str, f: &'a Field) -> usize {
        let name = f.name.node.as_str();
        let key = f.alias.as_ref().map_or(name, |a| a.node.as_str());
        self.longest_key = self.longest_key.max(key.len());
        // Introspection is answered by the schema's extension, whatever its size.
        if self.bounding.is_some() && name.starts_with("__") && name != "__typename" {
            return usize::MAX;
        }
        let info = self.model.types.get(on).and_then(|fields| fields.get(name));
        let child = match info {
            Some(i) => self.set(&i.returns, &f.selection_set.node),
            None => self.set("", &f.selection_set.node),
        };
        let Some(i) = info else {
            return child.saturating_add(1);
        };
        let int = |n| self.int(f, Some(i), n);
        let analysis = matches!(
            name,
            "shortestPath"
                | "paths"
                | "neighborhood"
                | "fundingFlows"
                | "fundingTotals"
                | "timeline"
                | "centrality"
                | "possibleDuplicates"
                | "export"
        );
        match (on, name) {
            // What an analysis or an export answers depends on the graph.
            ("Query", _) if analysis && self.bounding.is_some() => usize::MAX,
            ("Query", "shortestPath") => PATH.saturating_add(child),
            ("Query", "paths") => (PATH.saturating_mul(hops(int("maxLength"))))
                .saturating_add(list(page(int("first"), None), child)),
            ("Query", "neighborhood") => PATH
                .saturating_mul(hops(int("depth")).saturating_add(1))
                .saturating_add(child),
            ("Query", "fundingFlows") => FLOWS.saturating_add(list(SPREAD, child)),
            ("Query", "fundingTotals") => TOTALS.saturating_add(list(
                int("first").map_or(SPREAD, |n| page(Some(n), None)),
                child,
            )),
            ("Query", "timeline") => TIMELINE.saturating_add(list(page(int("first"), None), child)),
            ("Query", "centrality") => {
                RANKING.saturating_add(list(page(int("first"), None), child))
            }
            ("Query", "possibleDuplicates") => {
                DUPLICATES.saturating_add(list(page(int("first"), None), child))
            }
            ("Query", "export") => EXPORT.saturating_add(child),
            (_, "entitiesByKind") => list(crate::model::EntityKind::ALL.len(), child),
            (_, "relationsByKind") => list(crate::model::RelationKind::ALL.len(), child),
            _ if i.paged => list(self.page(int("first"), int("last")), child),
            // A page's items are weighed where the page is asked for.
            _ if on.ends_with("Connection") => child.saturating_add(1),
            (_, "aliases" | "sources" | "categories" | "positions" | "mergedIds" | "reasons")
                if i.list =>
            {
                list(self.spread(SHORT), child)
            }
            _ if i.list => list(self.spread(SPREAD), child),
            _ => child.saturating_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The cost computed before any work, against the work done, over
    //! generated documents: fields, aliases-free repeats, inline fragments
    //! with directives, and named fragments spreading one another.
    //!
    //! The graph has three entities and two relations, so every list of
    //! unknown length holds fewer items than [`SPREAD`] and every page
    //! fewer than its size: on it the cost must bound the fields resolved
    //! exactly. (On larger graphs [`SPREAD`] is an estimate for lists of
    //! unknown length, and the field budget bounds what they resolve.)
    use super::*;
    use crate::api::{builder, shape, Limits};
    use crate::graph::testing::{graph, rel};
    use crate::model::{EntityKind as K, RelationKind as R};
    use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory};
    use async_graphql::extensions::{NextResolve, ResolveInfo};
    use async_graphql::{ServerResult, ValidationMode};
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Counts the fields resolved.
    struct Work(Arc<AtomicUsize>);

    impl ExtensionFactory for Work {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(Work(self.0.clone()))
        }
    }

    #[async_trait::async_trait]
    impl Extension for Work {
        async fn resolve(
            &self,
            ctx: &ExtensionContext<'_>,
            info: ResolveInfo<'_>,
            next: NextResolve<'_>,
        ) -> ServerResult<Option<Value>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            next.run(ctx, info).await
        }
    }

    /// A selection on `Entity` (or on `Organization`, one of its types,
    /// which has all of `Entity`'s fields), `depth` levels deep at most, spreading
    /// fragments among `spreads`; with `pages_only`, no list but pages.
    fn entity_selection(
        depth: u32,
        spreads: Vec<usize>,
        pages_only: bool,
    ) -> BoxedStrategy<String> {
        let (aliases, sources) = if pages_only {
            ("name", "nameAgain: name")
        } else {
            ("aliases", "sources { quote document { id } }")
        };
        let leaf = prop_oneof![
            Just("id".to_owned()),
            Just("name".to_owned()),
            Just("kind".to_owned()),
            Just(aliases.to_owned()),
            Just("degree".to_owned()),
            Just(sources.to_owned()),
        ];
        let spread = if spreads.is_empty() {
            Just(String::new()).boxed()
        } else {
            proptest::sample::select(spreads.clone())
                .prop_map(|i| format!("...F{i}"))
                .boxed()
        };
        let item = if depth == 0 {
            prop_oneof![4 => leaf, 1 => spread].boxed()
        } else {
            let inner = entity_selection(depth - 1, spreads, pages_only);
            prop_oneof![
                4 => leaf,
                1 => spread,
                1 => inner.clone().prop_map(move |s| if pages_only {
                    format!("r9: relations(last: 2) {{ edges {{ node {{ to {{ {s} }} }} }} }}")
                } else {
                    format!("neighbors {{ {s} }}")
                }),
                1 => (1..4u8, inner.clone()).prop_map(|(n, s)| format!(
                    "r{n}: relations(first: {n}) {{ totalCount nodes {{ id kind from {{ {s} }} }} }}"
                )),
                1 => inner.clone().prop_map(|s| format!("... on Organization {{ {s} }}")),
                1 => (any::<bool>(), inner).prop_map(|(b, s)| format!(
                    "... @include(if: {b}) {{ {s} }}"
                )),
            ]
            .boxed()
        };
        proptest::collection::vec(item, 1..4)
            .prop_map(|items| {
                let items: Vec<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
                if items.is_empty() {
                    "id".to_owned()
                } else {
                    items.join(" ")
                }
            })
            .boxed()
    }

    /// A whole document: up to three fragments on `Entity` (each may
    /// spread later ones), all spread from the operation; with
    /// `pages_only`, no list but pages.
    fn document(pages_only: bool) -> impl Strategy<Value = String> {
        (0usize..4).prop_flat_map(move |fragments| {
            let bodies: Vec<BoxedStrategy<String>> = (0..fragments)
                .map(|i| entity_selection(1, (i + 1..fragments).collect(), pages_only))
                .collect();
            let all: Vec<usize> = (0..fragments).collect();
            (
                bodies,
                entity_selection(2, all.clone(), pages_only),
                1..5u8,
                any::<bool>(),
            )
                .prop_map(move |(bodies, selection, first, with_version)| {
                    let spreads: String = all.iter().map(|i| format!(" ...F{i}")).collect();
                    let mut doc = format!(
                        "{{ entities(first: {first}) {{ totalCount nodes {{ {selection} }} }} \
                         entity(id: \"a\") {{ id{spreads} }} {} }}\n",
                        if with_version { "graphVersion" } else { "" }
                    );
                    for (i, body) in bodies.iter().enumerate() {
                        doc.push_str(&format!("fragment F{i} on Entity {{ {body} }}\n"));
                    }
                    doc
                })
        })
    }

    fn cost(query: &str, variables: serde_json::Value) -> usize {
        let Ok(doc) = async_graphql::parser::parse_query(query) else {
            panic!("{query}")
        };
        MODEL.cost(&doc, &Variables::from_json(variables))
    }

    #[test]
    fn weighs_as_the_readme_says() {
        let none = serde_json::json!({});
        assert_eq!(
            cost(
                "{ entities(first: 100) { nodes { id name neighbors { id } } } }",
                none.clone()
            ),
            2501
        );
        // Through the interface as through one of its types, by variable as
        // by literal, and the default page when none is asked for.
        let q =
            "query($n: Int) { entities(first: $n) { nodes { ... on Fund { neighbors { id } } } } }";
        assert_eq!(
            cost(q, serde_json::json!({ "n": 100 })),
            1 + 100 * (1 + 21 + 1)
        );
        assert_eq!(cost(q, none.clone()), 1 + 20 * (1 + 21 + 1));
        assert_eq!(cost("{ export(format: JSON) }", none.clone()), EXPORT);
        assert_eq!(
            cost("{ paths(from: \"a\", to: \"b\") { length } }", none.clone()),
            PATH * 4 + 1 + 20 * 2
        );
        assert_eq!(
            cost(
                "{ neighborhood(id: \"a\", depth: 2) { entities { id } } }",
                none.clone()
            ),
            PATH * 3 + 1 + 10 * 2
        );
        // The documents' ways in weigh as the pages and lists of entities
        // do, and a filter or an order adds nothing to a page.
        let page = |q: &str| cost(q, serde_json::json!({}));
        assert_eq!(
            page("{ node(id: \"d\") { ... on Document { entities(first: 5) { nodes { id } } } } }"),
            page("{ node(id: \"d\") { id } }") - 1
                + page("{ entities(first: 5) { nodes { id } } }")
        );
        assert_eq!(
            page("{ node(id: \"d\") { ... on Document { relations { totalCount } } } }"),
            page("{ node(id: \"d\") { id } }") - 1 + page("{ relations { totalCount } }")
        );
        assert_eq!(
            page("{ relations(first: 10, filter: { amountAtLeast: 1 }, orderBy: { field: AMOUNT }) { nodes { id } } }"),
            page("{ relations(first: 10) { nodes { id } } }")
        );
        assert_eq!(
            page("{ entity(id: \"a\") { documents { id } } }"),
            page("{ entity(id: \"a\") { neighbors { id } } }")
        );
        assert!(page("{ relations(first: 10) { nodes { id } } }") > 10);
        assert_eq!(
            cost(
                "{ fundingTotals(groupBy: RECIPIENT) { relations total { amount } } }",
                none.clone()
            ),
            TOTALS + 1 + 10 * (1 + 1 + 2)
        );
        assert_eq!(
            cost("{ timeline(first: 5) { date label } }", none.clone()),
            TIMELINE + 1 + 5 * 3
        );
        // The default page of 50, as the schema declares it.
        assert_eq!(
            cost("{ timeline { date } }", none.clone()),
            TIMELINE + 1 + 50 * 2
        );
        // Fragments are weighed where they are spread, once each.
        let spread = "{ entity(id: \"a\") { ...F } } fragment F on Entity { aliases }";
        assert_eq!(cost(spread, none), 1 + 1 + 4);
    }

    /// Three entities and two relations, the graph the documents run on.
    fn three() -> crate::graph::Graph {
        let mut g = graph(&[("a", K::Ministry), ("b", K::ArmedForce), ("c", K::Fund)]);
        rel(&mut g, "r1", R::Supports, "a", "b");
        rel(&mut g, "r2", R::Funds, "c", "b");
        g
    }

    /// `doc` run on `g` with `limits`, and the fields and items it resolved.
    fn run_counted(
        limits: Limits,
        g: crate::graph::Graph,
        doc: &str,
    ) -> (async_graphql::Response, usize) {
        let work = Arc::new(AtomicUsize::new(0));
        let schema = builder(limits, ValidationMode::Strict)
            .extension(Work(work.clone()))
            .finish();
        let runtime = tokio::runtime::Builder::new_current_thread().build();
        let Ok(runtime) = runtime else {
            panic!("no runtime")
        };
        let request = async_graphql::Request::new(doc).data(Arc::new(g));
        let response = runtime.block_on(schema.execute(request));
        (response, work.load(Ordering::Relaxed))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn the_cost_is_never_below_the_work_done(doc in document(false)) {
            // The limit is not what is tested: every document runs.
            let limits = Limits { max_complexity: usize::MAX, ..Limits::default() };
            let (response, done) = run_counted(limits, three(), &doc);
            prop_assert!(response.errors.is_empty(), "{doc}\n{:?}", response.errors);
            // A request that passed validation before is not validated
            // again, and answers the default cache control
            // (`DocumentChecks::passed_validation_before`): true only while
            // no type of the schema sets one.
            prop_assert_eq!(response.cache_control, async_graphql::CacheControl::default());
            let parsed = async_graphql::parser::parse_query(&doc);
            let Ok(parsed) = parsed else { panic!("{doc}") };
            let cost = MODEL.cost(&parsed, &Variables::default());
            prop_assert!(done <= cost, "{doc}\nresolved {done} fields and items, cost {cost}");
            prop_assert!(
                shape::expanded(&parsed) <= cost,
                "{doc}\nexpanded {}, cost {cost}",
                shape::expanded(&parsed)
            );
        }

        #[test]
        fn a_bound_is_never_below_what_the_budget_counts(doc in document(true)) {
            // Every page of this graph can be full: `relations(last: 2)` of
            // `b` holds two, `entities(first: 3)` three.
            let g = three();
            let longest_text = g.longest_text();
            let parsed = async_graphql::parser::parse_query(&doc);
            let Ok(parsed) = parsed else { panic!("{doc}") };
            let default_page = Limits::default().default_page_size;
            let bound = MODEL.bound(&parsed, &Variables::default(), default_page);
            let Some(bound) = bound else { panic!("{doc}: no bound") };
            // The budget set to exactly what the bound allows: never refused.
            let limits = Limits {
                max_complexity: usize::MAX,
                max_depth: 64,
                max_resolved_fields: bound.fields,
                max_response_bytes: super::super::answer_budget::bytes_bound(bound, longest_text),
                ..Limits::default()
            };
            prop_assert!(super::super::answer_budget::never_exceeded(
                bound,
                limits.max_resolved_fields,
                limits.max_response_bytes,
                longest_text
            ));
            let (response, done) = run_counted(limits, g, &doc);
            prop_assert!(response.errors.is_empty(), "{doc}\n{:?}", response.errors);
            prop_assert!(done <= bound.fields, "{doc}\nresolved {done}, bound {}", bound.fields);
        }
    }

    #[test]
    fn only_pages_are_bounded() {
        let bound = |q: &str| {
            let Ok(doc) = async_graphql::parser::parse_query(q) else {
                panic!("{q}")
            };
            MODEL
                .bound(&doc, &Variables::default(), 20)
                .map(|b| (b.fields, b.longest_key))
        };
        // Q1 of BENCHMARKS.md: a page of 100, each item 7 fields and items.
        let q1 = "{ entity(id: \"ctef\") { id name relations(first: 100) { edges { node { \
                  kind from { name } to { name } } } } } }";
        assert_eq!(bound(q1), Some((1 + 1 + 1 + 100 * (1 + 7) + 1, 9)));
        assert_eq!(
            bound("{ entities { nodes { theName: name } } }"),
            Some((1 + 20 * 3, 8))
        );
        for open in [
            "{ entity(id: \"a\") { neighbors { id } } }",
            "{ entity(id: \"a\") { aliases } }",
            "{ entities(first: 2) { nodes { sources { quote } } } }",
            "{ fundingTotals(groupBy: RECIPIENT, first: 1) { total { amount } } }",
            "{ export(format: JSON) }",
            "{ __schema { types { name } } }",
            "{ __type(name: \"Entity\") { name } }",
        ] {
            assert_eq!(bound(open), None, "{open}");
        }
        assert!(bound("{ __typename entity(id: \"a\") { __typename } }").is_some());
    }
}
