//! Properties over generated graphs, each checked against a second way of
//! getting the same answer: the start-up bulk load against writes made one
//! at a time, funding flows and neighbourhoods against plain walks over a
//! list of relations, and every interop format against itself read back.
//!
//! The graphs start as `generate`'s datasets, whose money and membership
//! relations never form a cycle; a recipe also turns some relations around
//! and adds money and membership relations between any entities the schema
//! lets them join, so that cycles, parallel relations and ids that do not
//! follow the order of creation occur; and it puts awkward text, and more
//! quotes (some spaced otherwise than their documents), into some items.

use partnergraph::analysis::{
    funding_flows_within, neighborhood, search, Budget, FlowsOverBudget, FundingFlow, FundingQuery,
};
use partnergraph::dataset::Dataset;
use partnergraph::edit::{self, Ingest};
use partnergraph::graph::{Direction, EntityIx, Graph, Walk};
use partnergraph::interop::{self, Format, Selection};
use partnergraph::live::GraphService;
use partnergraph::model::{AmountQualifier, EntityKind, Money, Relation, RelationKind, Source};
use partnergraph::store::{Change, Logged, MemoryStore, Store};
use partnergraph::synthetic::{generate, Spec};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How to make one test graph.
#[derive(Debug, Clone)]
struct Recipe {
    spec: Spec,
    /// Relations turned around, where the schema allows the reverse.
    flips: Vec<Index>,
    extras: Vec<Extra>,
    rings: Vec<Ring>,
    touches: Vec<Touch>,
}

/// Relations of one kind that lead from entity to entity and back to the
/// first: money going round, or bodies each part of the next.
#[derive(Debug, Clone)]
struct Ring {
    kind: RelationKind,
    /// Among the entities that a relation of `kind` may join both ways.
    members: Vec<Index>,
    after: Index,
}

/// A relation added to the generated ones.
#[derive(Debug, Clone)]
struct Extra {
    kind: RelationKind,
    /// Among the entities that may start a relation of `kind`.
    from: Index,
    /// Among the entities `from` may join with `kind`.
    to: Index,
    /// The generated relation whose id this one's follows, so that added
    /// relations sort among the generated ones.
    after: Index,
    amount: Option<(i64, AmountQualifier)>,
    year: Option<i32>,
}

/// A change to one item's text or evidence.
#[derive(Debug, Clone)]
enum Touch {
    Name(Index, String),
    Alias(Index, String),
    Description(Index, String),
    /// Of a HOLDS_POSITION relation.
    Role(Index, String),
    /// Of a SUPPORTS relation.
    Category(Index, String),
    Dateline(Index, String),
    /// One more source for an entity: the first quote of any item, with its
    /// spaces turned into line breaks when `loose`, so that it matches its
    /// document only once whitespace is folded (and is kept as words of
    /// its own rather than as a place in the text).
    EntityEvidence(Index, Index, bool),
    /// The same for a relation.
    RelationEvidence(Index, Index, bool),
    /// Text appended to a document, and quoted by an item (entities, then
    /// relations) as one more source: quotes with awkward text.
    Quote(Index, Index, String),
}

fn recipe() -> impl Strategy<Value = Recipe> {
    (
        any::<u64>(),
        5usize..60,
        0usize..4,
        prop::collection::vec(any::<Index>(), 0..8),
        prop::collection::vec(extra(), 0..24),
        prop::collection::vec(ring(), 0..3),
        prop::collection::vec(touch(), 0..12),
    )
        .prop_map(
            |(seed, entities, per_entity, flips, extras, rings, touches)| Recipe {
                spec: Spec::with_degree(entities, per_entity, seed),
                flips,
                extras,
                rings,
                touches,
            },
        )
}

fn ring() -> impl Strategy<Value = Ring> {
    let kind = prop::sample::select(vec![RelationKind::Funds, RelationKind::PartOf]);
    let members = prop::collection::vec(any::<Index>(), 2..5);
    (kind, members, any::<Index>()).prop_map(|(kind, members, after)| Ring {
        kind,
        members,
        after,
    })
}

fn extra() -> impl Strategy<Value = Extra> {
    use RelationKind as R;
    let kind = prop::sample::select(vec![
        R::Funds,
        R::Funds,
        R::Authorizes,
        R::PartOf,
        R::PartOf,
        R::Supports,
    ]);
    let qualifier = prop::sample::select(vec![
        AmountQualifier::Exact,
        AmountQualifier::AtLeast,
        AmountQualifier::AtMost,
        AmountQualifier::Approximate,
    ]);
    let amount = prop::option::of((1i64..1_000_000_000, qualifier));
    let year = prop::option::of(2024i32..2027);
    (
        kind,
        any::<Index>(),
        any::<Index>(),
        any::<Index>(),
        amount,
        year,
    )
        .prop_map(|(kind, from, to, after, amount, year)| Extra {
            kind,
            from,
            to,
            after,
            amount,
            year,
        })
}

fn touch() -> impl Strategy<Value = Touch> {
    let at = any::<Index>;
    prop_oneof![
        (at(), text()).prop_map(|(i, s)| Touch::Name(i, s)),
        (at(), text()).prop_map(|(i, s)| Touch::Alias(i, s)),
        (at(), text()).prop_map(|(i, s)| Touch::Description(i, s)),
        (at(), text()).prop_map(|(i, s)| Touch::Role(i, s)),
        (at(), text()).prop_map(|(i, s)| Touch::Category(i, s)),
        (at(), text()).prop_map(|(i, s)| Touch::Dateline(i, s)),
        (at(), at(), any::<bool>()).prop_map(|(i, j, l)| Touch::EntityEvidence(i, j, l)),
        (at(), at(), any::<bool>()).prop_map(|(i, j, l)| Touch::RelationEvidence(i, j, l)),
        (at(), at(), text()).prop_map(|(i, j, s)| Touch::Quote(i, j, s)),
    ]
}

/// Non-blank text, often with characters that XML, CSV or JSON must
/// escape or cannot carry, or that Unicode folding changes.
fn text() -> impl Strategy<Value = String> {
    let awkward = prop::sample::select(vec![
        '&', '<', '>', '"', '\'', '\\', ',', ';', '\r', '\n', '\t', ' ', '\u{0}', '\u{1}',
        '\u{7f}', '\u{85}', '\u{2028}', '\u{feff}', '\u{fffe}', '\u{ffff}', 'é', 'ß', '“', '”',
        ':', '🙂',
    ]);
    let ch = prop_oneof![
        3 => prop::char::range('a', 'z'),
        3 => awkward,
        1 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..16).prop_map(|cs| {
        let s: String = cs.into_iter().collect();
        // Names, aliases and roles must not be blank.
        if s.trim().is_empty() {
            format!("x{s}")
        } else {
            s
        }
    })
}

impl Recipe {
    fn dataset(&self) -> Dataset {
        let mut d = generate(&self.spec);
        let kinds: HashMap<String, EntityKind> = d
            .entities
            .iter()
            .map(|e| (e.id.to_string(), e.kind))
            .collect();
        let kind = |id: &str| kinds.get(id).copied();
        for flip in &self.flips {
            if d.relations.is_empty() {
                break;
            }
            let at = flip.index(d.relations.len());
            let r = &mut d.relations[at];
            let reversible = kind(r.to.as_str())
                .zip(kind(r.from.as_str()))
                .is_some_and(|(to, from)| r.kind.allows(to, from));
            if reversible {
                std::mem::swap(&mut r.from, &mut r.to);
            }
        }
        let generated = d.relations.len().max(1);
        let n = d.entities.len();
        for (k, x) in self.extras.iter().enumerate() {
            let ents = &d.entities;
            let may = |f: usize, t: usize| f != t && x.kind.allows(ents[f].kind, ents[t].kind);
            let froms: Vec<usize> = (0..n).filter(|&f| (0..n).any(|t| may(f, t))).collect();
            if froms.is_empty() {
                continue;
            }
            let f = froms[x.from.index(froms.len())];
            let tos: Vec<usize> = (0..n).filter(|&t| may(f, t)).collect();
            let t = tos[x.to.index(tos.len())];
            let Some(evidence) = ents[f].sources.first().cloned() else {
                continue;
            };
            let id = format!("r-{:07}-{k}", x.after.index(generated));
            let mut r = Relation::new(&id, x.kind, &ents[f].id, &ents[t].id, evidence);
            if x.kind.carries_money() {
                r.update_details(|det| {
                    det.amount = x.amount.map(|(a, q)| Money::usd(a).qualified(q));
                    det.fiscal_year = x.year;
                });
            }
            d.relations.push(r);
        }
        for (k, ring) in self.rings.iter().enumerate() {
            let ents = &d.entities;
            let both_ways = |e: usize| {
                let kind = ents[e].kind;
                ring.kind.allows(kind, kind)
            };
            let able: Vec<usize> = (0..n).filter(|&e| both_ways(e)).collect();
            if able.is_empty() {
                continue;
            }
            let may = |f: usize, t: usize| ring.kind.allows(ents[f].kind, ents[t].kind);
            let Some((first, rest)) = ring.members.split_first() else {
                continue;
            };
            let mut members = vec![able[first.index(able.len())]];
            for m in rest {
                let last = members[members.len() - 1];
                let next: Vec<usize> = (able.iter().copied())
                    .filter(|&e| !members.contains(&e) && may(last, e))
                    .collect();
                if next.is_empty() {
                    break;
                }
                members.push(next[m.index(next.len())]);
            }
            while members.len() > 1 && !may(members[members.len() - 1], members[0]) {
                members.pop();
            }
            if members.len() < 2 {
                continue;
            }
            let after = ring.after.index(generated);
            for (j, &f) in members.iter().enumerate() {
                let t = members[(j + 1) % members.len()];
                let Some(evidence) = ents[f].sources.first().cloned() else {
                    continue;
                };
                let id = format!("r-{after:07}-ring{k}-{j}");
                d.relations.push(Relation::new(
                    &id,
                    ring.kind,
                    &ents[f].id,
                    &ents[t].id,
                    evidence,
                ));
            }
        }
        for t in &self.touches {
            touch_up(&mut d, t);
        }
        d
    }

    /// The recipe's graph, loaded as a data file is.
    fn graph(&self) -> Result<(Dataset, Graph), TestCaseError> {
        let d = self.dataset();
        let mut g = Graph::new();
        d.clone()
            .apply("recipe", &mut g)
            .map_err(|e| TestCaseError::fail(format!("the recipe's dataset is refused: {e}")))?;
        Ok((d, g))
    }
}

fn touch_up(d: &mut Dataset, touch: &Touch) {
    let pick = |i: &Index, len: usize| (len > 0).then(|| i.index(len));
    let of_kind = |d: &Dataset, kind: RelationKind| -> Vec<usize> {
        (0..d.relations.len())
            .filter(|&i| d.relations[i].kind == kind)
            .collect()
    };
    match touch {
        Touch::Name(i, s) => {
            if let Some(i) = pick(i, d.entities.len()) {
                d.entities[i].name = s.as_str().into();
            }
        }
        Touch::Alias(i, s) => {
            if let Some(i) = pick(i, d.entities.len()) {
                d.entities[i].aliases.push(s.clone());
            }
        }
        Touch::Description(i, s) => {
            if let Some(i) = pick(i, d.entities.len()) {
                d.entities[i].update_details(|x| x.description = Some(s.as_str().into()));
            }
        }
        Touch::Role(i, s) => {
            let holders = of_kind(d, RelationKind::HoldsPosition);
            if let Some(k) = pick(i, holders.len()) {
                d.relations[holders[k]].update_details(|x| x.role = Some(s.as_str().into()));
            }
        }
        Touch::Category(i, s) => {
            let supports = of_kind(d, RelationKind::Supports);
            if let Some(k) = pick(i, supports.len()) {
                d.relations[supports[k]].update_details(|x| x.categories.push(s.clone()));
            }
        }
        Touch::Dateline(i, s) => {
            if let Some(i) = pick(i, d.documents.len()) {
                d.documents[i].dateline = Some(s.as_str().into());
            }
        }
        Touch::EntityEvidence(i, j, loose) => {
            let quote = some_quote(d, j, *loose);
            if let Some((i, q)) = pick(i, d.entities.len()).zip(quote) {
                d.entities[i].sources.push(q);
            }
        }
        Touch::RelationEvidence(i, j, loose) => {
            let quote = some_quote(d, j, *loose);
            if let Some((i, q)) = pick(i, d.relations.len()).zip(quote) {
                d.relations[i].sources.push(q);
            }
        }
        Touch::Quote(i, j, s) => {
            let Some(i) = pick(i, d.documents.len()) else {
                return;
            };
            let doc = &mut d.documents[i];
            doc.text = format!("{} {s}", doc.text.get()).into();
            let q = Source::new(doc.id.clone(), s.clone());
            let entities = d.entities.len();
            match pick(j, entities + d.relations.len()) {
                Some(k) if k < entities => d.entities[k].sources.push(q),
                Some(k) => d.relations[k - entities].sources.push(q),
                None => {}
            }
        }
    }
}

/// The first source of the `j`th item (entities, then relations).
fn some_quote(d: &Dataset, j: &Index, loose: bool) -> Option<Source> {
    let all: Vec<&Source> = (d.entities.iter().map(|e| &e.sources))
        .chain(d.relations.iter().map(|r| &r.sources))
        .filter_map(|s| s.first())
        .collect();
    let s = all.get(j.index(all.len().max(1)))?;
    let quote = if loose {
        s.quote().replace(' ', "\n ")
    } else {
        s.quote().into_owned()
    };
    Some(Source::new(s.document(), quote))
}

/// The dataset with each list in id order: the form `Dataset::of_graph`
/// gives.
fn in_id_order(mut d: Dataset) -> Dataset {
    d.documents.extend(d.document.take());
    d.documents.sort_by(|a, b| a.id.cmp(&b.id));
    d.entities.sort_by(|a, b| a.id.cmp(&b.id));
    d.relations.sort_by(|a, b| a.id.cmp(&b.id));
    d
}

/// The first item in which two datasets differ, if any: a whole dataset in
/// a failure message is unreadable.
fn difference(a: &Dataset, b: &Dataset) -> Option<String> {
    fn first<T: PartialEq + std::fmt::Debug>(what: &str, a: &[T], b: &[T]) -> Option<String> {
        if let Some((x, y)) = a.iter().zip(b).find(|(x, y)| x != y) {
            return Some(format!("{what} differ:\n  {x:?}\n  {y:?}"));
        }
        (a.len() != b.len()).then(|| format!("{what}: {} against {}", a.len(), b.len()))
    }
    if a.document != b.document {
        return Some(format!(
            "document differs: {:?} against {:?}",
            a.document, b.document
        ));
    }
    first("documents", &a.documents, &b.documents)
        .or_else(|| first("entities", &a.entities, &b.entities))
        .or_else(|| first("relations", &a.relations, &b.relations))
}

fn same(a: &Dataset, b: &Dataset, context: &str) -> Result<(), TestCaseError> {
    match difference(a, b) {
        Some(d) => Err(TestCaseError::fail(format!("{context}: {d}"))),
        None => Ok(()),
    }
}

// 1. The bulk load of start-up against writes made one at a time.

/// The graph a service starts with from a store that holds `d`: what a
/// restart rebuilds, through the bulk loader.
fn started_from_store(d: &Dataset) -> Result<Arc<Graph>, String> {
    let changes: Vec<Change> = (d.all_documents().cloned().map(Change::PutDocument))
        .chain(d.entities.iter().cloned().map(Change::PutEntity))
        .chain(d.relations.iter().cloned().map(Change::PutRelation))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let write = Logged {
            version: 1,
            changes,
        };
        store.commit(&[write]).await.map_err(|e| e.to_string())?;
        let service = GraphService::open(store, Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(service.snapshot())
    })
}

/// `xs` in an order drawn from `seed` (xorshift: any order will do, as
/// long as the seed fixes it).
fn shuffled<T>(mut xs: Vec<T>, seed: u64) -> Vec<T> {
    let mut s = seed | 1;
    for i in (1..xs.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        xs.swap(i, (s % (i as u64 + 1)) as usize);
    }
    xs
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Document(usize),
    Entity(usize),
    Relation(usize),
}

/// The graph built from `d` by single writes, one item each, in an order
/// drawn from `seed` among those in which each item comes after what it
/// names (documents before what quotes them, entities before their
/// relations).
fn written_one_by_one(d: &Dataset, seed: u64) -> Result<Graph, String> {
    let documents: Vec<_> = d.all_documents().cloned().collect();
    let items = (0..documents.len())
        .map(Item::Document)
        .chain((0..d.entities.len()).map(Item::Entity))
        .chain((0..d.relations.len()).map(Item::Relation))
        .collect();
    let mut pending: Vec<Item> = shuffled(items, seed);
    let mut g = Graph::new();
    let quoted =
        |g: &Graph, sources: &[Source]| sources.iter().all(|s| g.document(s.document()).is_some());
    while !pending.is_empty() {
        let ready = pending.iter().position(|item| match *item {
            Item::Document(_) => true,
            Item::Entity(i) => quoted(&g, &d.entities[i].sources),
            Item::Relation(i) => {
                let r = &d.relations[i];
                quoted(&g, &r.sources) && g.entity(&r.from).is_some() && g.entity(&r.to).is_some()
            }
        });
        let Some(at) = ready else {
            return Err(format!("nothing can be written next of {pending:?}"));
        };
        let written = match pending.remove(at) {
            Item::Document(i) => {
                let doc = &documents[i];
                let input = Ingest {
                    document_id: Some(doc.id.to_string()),
                    document: doc.clone(),
                    entities: Vec::new(),
                    relations: Vec::new(),
                };
                edit::ingest(&mut g, input).map(|_| ())
            }
            Item::Entity(i) => {
                let e = &d.entities[i];
                edit::create_entity(&mut g, Some(e.id.to_string()), e.clone()).map(|_| ())
            }
            Item::Relation(i) => {
                let r = &d.relations[i];
                edit::create_relation(&mut g, Some(r.id.to_string()), r.clone()).map(|_| ())
            }
        };
        written.map_err(|e| e.to_string())?;
    }
    Ok(g)
}

/// What look-ups on `g` answer about the items of `d`, by id (entity and
/// relation indices differ between graphs built in different orders).
fn look_ups(g: &Graph, d: &Dataset) -> Vec<String> {
    let id = |ix| g.entity_at(ix).id.to_string();
    let mut out = vec![format!(
        "{} entities, {} relations, {} documents",
        g.entity_count(),
        g.relation_count(),
        g.documents().len()
    )];
    for e in &d.entities {
        let Some(ix) = g.entity_ix(&e.id) else {
            out.push(format!("{}: missing", e.id));
            continue;
        };
        out.push(format!(
            "{}: degree {}, keys {:?}",
            e.id,
            g.degree(ix),
            g.search_keys(ix)
        ));
        for direction in [Direction::Outgoing, Direction::Incoming, Direction::Both] {
            let walk = Walk {
                direction,
                kinds: None,
            };
            let steps: Vec<(String, String)> = g
                .steps(ix, &walk)
                .iter()
                .map(|s| (s.relation.id.to_string(), id(s.other)))
                .collect();
            out.push(format!("{} {direction:?}: {steps:?}", e.id));
        }
        let prefix: String = e.name.chars().take(3).collect();
        let queries = [e.name.as_str(), prefix.as_str()]
            .into_iter()
            .chain(e.aliases.iter().map(String::as_str));
        for q in queries {
            let found: Vec<String> = search(g, q, None).into_iter().map(id).collect();
            out.push(format!("search {q:?}: {found:?}"));
        }
    }
    for r in &d.relations {
        let ends = g.relation_ix(&r.id).map(|ix| {
            let (from, to) = g.ends(ix);
            (id(from), id(to))
        });
        out.push(format!("{}: {ends:?}", r.id));
    }
    for doc in d.all_documents() {
        out.push(format!(
            "{}: {}",
            doc.id,
            g.id_taken(&doc.id) && g.document(&doc.id) == Some(doc)
        ));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A restart, which bulk-loads the store, rebuilds the very graph that
    /// single writes built: the same items, fields and evidence, and the
    /// same answers to look-ups, neighbours and search.
    #[test]
    fn bulk_load_equals_writes_one_at_a_time(recipe in recipe(), order in any::<u64>()) {
        let d = recipe.dataset();
        let bulk = started_from_store(&d).map_err(TestCaseError::fail)?;
        let single = written_one_by_one(&d, order).map_err(TestCaseError::fail)?;
        let expected = in_id_order(d.clone());
        same(&Dataset::of_graph(&single), &expected, "written one by one")?;
        same(&Dataset::of_graph(&bulk), &expected, "bulk-loaded")?;
        prop_assert_eq!(Dataset::of_graph(&bulk).to_json(), Dataset::of_graph(&single).to_json());
        let (bulk, single) = (look_ups(&bulk, &d), look_ups(&single, &d));
        if let Some((b, s)) = bulk.iter().zip(&single).find(|(b, s)| b != s) {
            prop_assert!(false, "bulk-loaded: {b}\nwritten one by one: {s}");
        }
        prop_assert_eq!(bulk.len(), single.len());
    }
}

// 2. Funding flows and neighbourhoods against plain walks.

/// A relation as the reference walks see it.
#[derive(Debug, Clone)]
struct Edge {
    id: String,
    kind: RelationKind,
    from: String,
    to: String,
    amount: Option<Money>,
    year: Option<i32>,
}

/// The dataset as two plain lists: entity ids and relations, each in id
/// order.
struct Net {
    entities: Vec<String>,
    edges: Vec<Edge>,
}

impl Net {
    fn of(d: &Dataset) -> Net {
        let mut entities: Vec<String> = d.entities.iter().map(|e| e.id.to_string()).collect();
        entities.sort();
        let mut edges: Vec<Edge> = d
            .relations
            .iter()
            .map(|r| Edge {
                id: r.id.to_string(),
                kind: r.kind,
                from: r.from.to_string(),
                to: r.to.to_string(),
                amount: r.amount().cloned(),
                year: r.fiscal_year(),
            })
            .collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        Net { entities, edges }
    }
}

/// Entities in order of hops from the centre, then by id; and relations by
/// id.
type Neighbourhood = (Vec<String>, Vec<String>);

/// Level by level from the centre, every relation looked at on every
/// level; then every relation of an admitted kind between two entities
/// reached, whichever way it goes.
fn plain_neighbourhood(
    net: &Net,
    centre: &str,
    depth: usize,
    direction: Direction,
    kinds: Option<&[RelationKind]>,
) -> Neighbourhood {
    let admits = |k: RelationKind| kinds.is_none_or(|ks| ks.contains(&k));
    let mut hops: BTreeMap<&str, usize> = BTreeMap::from([(centre, 0)]);
    let mut level = vec![centre];
    for d in 1..=depth {
        let mut next = Vec::new();
        for at in &level {
            for e in net.edges.iter().filter(|e| admits(e.kind)) {
                let out = direction != Direction::Incoming && e.from == *at;
                let inc = direction != Direction::Outgoing && e.to == *at;
                for (take, other) in [(out, e.to.as_str()), (inc, e.from.as_str())] {
                    if take && !hops.contains_key(other) {
                        hops.insert(other, d);
                        next.push(other);
                    }
                }
            }
        }
        level = next;
    }
    let mut entities: Vec<(usize, &str)> = hops.iter().map(|(id, d)| (*d, *id)).collect();
    entities.sort();
    let relations = net
        .edges
        .iter()
        .filter(|e| admits(e.kind) && hops.contains_key(e.from.as_str()))
        .filter(|e| hops.contains_key(e.to.as_str()))
        .map(|e| e.id.clone())
        .collect();
    (
        entities.into_iter().map(|(_, id)| id.to_owned()).collect(),
        relations,
    )
}

/// One flow, by ids.
#[derive(Debug, Clone, PartialEq)]
struct Flow {
    source: String,
    recipient: String,
    amount: Option<Money>,
    direct: bool,
    entities: Vec<String>,
    relations: Vec<String>,
}

fn flow_ids(g: &Graph, f: &FundingFlow) -> Flow {
    let id = |ix| g.entity_at(ix).id.to_string();
    Flow {
        source: id(f.source),
        recipient: id(f.recipient),
        amount: f.amount.clone(),
        direct: f.direct,
        entities: f.path.entities.iter().map(|n| id(*n)).collect(),
        relations: f
            .path
            .relations
            .iter()
            .map(|e| g.relation_at(*e).id.to_string())
            .collect(),
    }
}

/// The reference walk of funding flows, written from the description of
/// `funding_flows`: from each source, money relations (AUTHORIZES, FUNDS of
/// the year asked for, or of none stated) followed forward, each a direct
/// flow; below every entity money reached, PART_OF followed backwards to
/// members, each an indirect flow with the amount that reached the group.
/// A path never visits an entity twice. Sources are the one asked for, or
/// every entity (by id) with money going out and none coming in. Depth
/// first, relations by id; more than `max` flows to `to` is an error.
struct PlainFlows<'a> {
    net: &'a Net,
    year: Option<i32>,
    to: Option<&'a str>,
    max: usize,
    flows: Vec<Flow>,
}

/// Whether money of `year` (or of any, if `None`) moves along `e`.
fn money(year: Option<i32>, e: &Edge) -> bool {
    e.kind.carries_money()
        && match (year, e.year) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
}

impl<'a> PlainFlows<'a> {
    fn run(mut self, from: Option<&'a str>) -> Result<Vec<Flow>, usize> {
        let (net, year) = (self.net, self.year);
        let sources: Vec<&str> = match from {
            Some(id) => vec![id],
            None => net
                .entities
                .iter()
                .map(String::as_str)
                .filter(|n| net.edges.iter().any(|e| money(year, e) && e.from == *n))
                .filter(|n| !net.edges.iter().any(|e| money(year, e) && e.to == *n))
                .collect(),
        };
        for source in sources {
            let mut path = (vec![source.to_owned()], Vec::new());
            self.money_from(source, None, &mut path)?;
        }
        Ok(self.flows)
    }

    fn emit(
        &mut self,
        amount: &Option<Money>,
        direct: bool,
        path: &(Vec<String>, Vec<String>),
    ) -> Result<(), usize> {
        let recipient = path.0.last().cloned().unwrap_or_default();
        if self.to.is_some_and(|to| to != recipient) {
            return Ok(());
        }
        if self.flows.len() == self.max {
            return Err(self.max);
        }
        self.flows.push(Flow {
            source: path.0[0].clone(),
            recipient,
            amount: amount.clone(),
            direct,
            entities: path.0.clone(),
            relations: path.1.clone(),
        });
        Ok(())
    }

    fn money_from(
        &mut self,
        at: &str,
        reached_with: Option<&Option<Money>>,
        path: &mut (Vec<String>, Vec<String>),
    ) -> Result<(), usize> {
        let (net, year) = (self.net, self.year);
        for e in net.edges.iter().filter(|e| money(year, e) && e.from == at) {
            if path.0.contains(&e.to) {
                continue;
            }
            path.0.push(e.to.clone());
            path.1.push(e.id.clone());
            self.emit(&e.amount, true, path)?;
            self.money_from(&e.to, Some(&e.amount), path)?;
            path.0.pop();
            path.1.pop();
        }
        if let Some(amount) = reached_with {
            self.members_of(at, amount, path)?;
        }
        Ok(())
    }

    fn members_of(
        &mut self,
        group: &str,
        amount: &Option<Money>,
        path: &mut (Vec<String>, Vec<String>),
    ) -> Result<(), usize> {
        let net = self.net;
        let parts = net.edges.iter().filter(|e| e.kind == RelationKind::PartOf);
        for e in parts.filter(|e| e.to == group) {
            if path.0.contains(&e.from) {
                continue;
            }
            path.0.push(e.from.clone());
            path.1.push(e.id.clone());
            self.emit(amount, false, path)?;
            self.members_of(&e.from, amount, path)?;
            path.0.pop();
            path.1.pop();
        }
        Ok(())
    }
}

const DIRECTIONS: [Direction; 3] = [Direction::Outgoing, Direction::Incoming, Direction::Both];

/// Relation kinds to walk: all, or those whose flag is set (maybe none).
fn kinds() -> impl Strategy<Value = Option<Vec<RelationKind>>> {
    prop::option::of(prop::array::uniform12(any::<bool>())).prop_map(|flags| {
        flags.map(|flags| {
            RelationKind::ALL
                .into_iter()
                .zip(flags)
                .filter_map(|(k, on)| on.then_some(k))
                .collect()
        })
    })
}

/// An entity of `g` by its place in id order.
fn nth_entity(g: &Graph, at: &Index) -> Option<(String, EntityIx)> {
    let n = g.entities().len();
    let ix = g.entities().nth(at.index(n.max(1)))?;
    Some((g.entity_at(ix).id.to_string(), ix))
}

/// Which entity to start or end at: one drawn from all of them would
/// mostly be one that no money reaches and that has no neighbours.
#[derive(Debug, Clone)]
enum Pick {
    /// Any entity.
    Any(Index),
    /// The start of a relation of one of these kinds.
    From(Vec<RelationKind>, Index),
    /// The end of a relation of one of these kinds.
    To(Vec<RelationKind>, Index),
}

/// Any entity, or one at either end of any relation.
fn pick() -> impl Strategy<Value = Pick> {
    let all = || RelationKind::ALL.to_vec();
    prop_oneof![
        any::<Index>().prop_map(Pick::Any),
        any::<Index>().prop_map(move |i| Pick::From(all(), i)),
        any::<Index>().prop_map(move |i| Pick::To(all(), i)),
    ]
}

const MONEY: [RelationKind; 2] = [RelationKind::Funds, RelationKind::Authorizes];

/// Mostly an entity that pays.
fn payer() -> impl Strategy<Value = Pick> {
    prop_oneof![
        1 => any::<Index>().prop_map(Pick::Any),
        4 => any::<Index>().prop_map(|i| Pick::From(MONEY.to_vec(), i)),
    ]
}

/// Mostly an entity that is paid, or a member of a group.
fn payee() -> impl Strategy<Value = Pick> {
    prop_oneof![
        1 => any::<Index>().prop_map(Pick::Any),
        2 => any::<Index>().prop_map(|i| Pick::To(MONEY.to_vec(), i)),
        2 => any::<Index>().prop_map(|i| Pick::From(vec![RelationKind::PartOf], i)),
    ]
}

impl Pick {
    fn entity(&self, g: &Graph) -> Option<(String, EntityIx)> {
        let end = |kinds: &[RelationKind], at: &Index, from: bool| {
            let rs: Vec<_> = g
                .relations()
                .filter(|r| kinds.contains(&g.relation_at(*r).kind))
                .collect();
            let r = g.relation_at(*rs.get(at.index(rs.len().max(1)))?);
            let id = if from { &r.from } else { &r.to };
            Some((id.to_string(), g.entity_ix(id)?))
        };
        match self {
            Pick::Any(at) => nth_entity(g, at),
            Pick::From(kinds, at) => end(kinds, at, true),
            Pick::To(kinds, at) => end(kinds, at, false),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `neighborhood` reaches the entities a level-by-level walk reaches,
    /// in order of hops then id, with every relation among them of a kind
    /// walked, whatever the direction walked.
    #[test]
    fn neighbourhoods_match_a_plain_walk(
        recipe in recipe(),
        centre in pick(),
        depth in 0usize..5,
        direction in prop::sample::select(DIRECTIONS.to_vec()),
        kinds in kinds(),
    ) {
        let (d, g) = recipe.graph()?;
        let Some((centre_id, centre)) = centre.entity(&g) else {
            return Ok(());
        };
        let walk = Walk { direction, kinds: kinds.clone() };
        let sub = neighborhood(&g, centre, depth, &walk);
        let got: Neighbourhood = (
            sub.entities.iter().map(|n| g.entity_at(*n).id.to_string()).collect(),
            sub.relations.iter().map(|e| g.relation_at(*e).id.to_string()).collect(),
        );
        let net = Net::of(&d);
        let expected = plain_neighbourhood(&net, &centre_id, depth, direction, kinds.as_deref());
        prop_assert_eq!(got, expected);
    }

    /// `funding_flows_within` finds the flows, in the order, that a plain
    /// depth-first walk does, and refuses exactly when there are more than
    /// it may return: checked with no limit, then with a limit at, just
    /// under or just over the number of flows, or anywhere below it.
    #[test]
    fn funding_flows_match_a_plain_walk(
        recipe in recipe(),
        from in prop::option::weighted(0.5, payer()),
        to in prop::option::weighted(0.3, payee()),
        year in prop::option::weighted(0.3, 2014i32..2028),
        limit in (0usize..4, any::<Index>()),
    ) {
        let (d, g) = recipe.graph()?;
        let from = from.and_then(|p| p.entity(&g));
        let to = to.and_then(|p| p.entity(&g));
        let q = FundingQuery {
            from: from.as_ref().map(|(_, ix)| *ix),
            to: to.as_ref().map(|(_, ix)| *ix),
            fiscal_year: year,
        };
        let net = Net::of(&d);
        let both = |max: usize| {
            let got = funding_flows_within(&g, &q, &Budget::unlimited(), max)
                .map(|flows| flows.iter().map(|f| flow_ids(&g, f)).collect::<Vec<_>>());
            let plain = PlainFlows {
                net: &net,
                year,
                to: to.as_ref().map(|(id, _)| id.as_str()),
                max,
                flows: Vec::new(),
            };
            (got, plain.run(from.as_ref().map(|(id, _)| id.as_str())))
        };
        // Bounded all the same: paths through cycles can be many.
        let (got, expected) = both(100_000);
        agree(got, &expected)?;
        if let Ok(all) = expected {
            let total = all.len();
            let max = match limit.0 {
                0 => total.saturating_sub(1),
                1 => total,
                2 => total + 1,
                _ => limit.1.index(total + 1),
            };
            let (got, expected) = both(max);
            agree(got, &expected)?;
        }
    }
}

/// Whether `funding_flows_within` gave what the plain walk did.
fn agree(
    got: Result<Vec<Flow>, FlowsOverBudget>,
    expected: &Result<Vec<Flow>, usize>,
) -> Result<(), TestCaseError> {
    match (got, expected) {
        (Ok(got), Ok(expected)) => {
            let n = got.len().max(expected.len());
            if let Some(i) = (0..n).find(|&i| got.get(i) != expected.get(i)) {
                return Err(TestCaseError::fail(format!(
                    "flow {i} of {} (expected {}):\n  got      {:?}\n  expected {:?}",
                    got.len(),
                    expected.len(),
                    got.get(i),
                    expected.get(i)
                )));
            }
            Ok(())
        }
        (Err(FlowsOverBudget::TooMany(n)), Err(m)) if n == *m => Ok(()),
        (got, expected) => Err(TestCaseError::fail(format!(
            "got {:?}, expected {:?}",
            got.map(|f| f.len()),
            expected.as_ref().map(Vec::len)
        ))),
    }
}

// 3. Every format read back gives what was written.

/// Whether XML 1.0 allows `c` anywhere in a document (its `Char`).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// A selection to export, by entity place rather than id.
#[derive(Debug, Clone)]
struct Part {
    centre: Option<(Index, usize)>,
    entity_kinds: Option<Vec<EntityKind>>,
    relation_kinds: Option<Vec<RelationKind>>,
}

/// The whole graph (`None`) or a part of it.
fn part() -> impl Strategy<Value = Option<Part>> {
    let entity_kinds = prop::option::of(prop::sample::subsequence(
        EntityKind::ALL.to_vec(),
        0..=EntityKind::ALL.len(),
    ));
    let centre = prop::option::of((any::<Index>(), 0usize..3));
    prop::option::of((centre, entity_kinds, kinds()).prop_map(
        |(centre, entity_kinds, relation_kinds)| Part {
            centre,
            entity_kinds,
            relation_kinds,
        },
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// In every format, export then import gives back the dataset exported
    /// (ids, fields, evidence, documents), which exports to the same bytes
    /// again; the whole graph read back loads into a graph equal to the
    /// original. Our reader being lenient, the XML formats are also checked
    /// to hold only characters XML 1.0 allows, which other tools insist on.
    #[test]
    fn every_format_reads_back_what_it_wrote(recipe in recipe(), part in part()) {
        let (_, g) = recipe.graph()?;
        let whole = part.is_none();
        let sel = match part {
            None => Selection::default(),
            Some(p) => Selection {
                centre: p.centre.and_then(|(at, depth)| Some((nth_entity(&g, &at)?.0, depth))),
                entity_kinds: p.entity_kinds,
                relation_kinds: p.relation_kinds,
            },
        };
        let d = interop::select(&g, &sel).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if whole {
            same(&d, &Dataset::of_graph(&g), "the whole graph selected")?;
        }
        for f in Format::ALL {
            let written = interop::export(&d, f)
                .map_err(|e| TestCaseError::fail(format!("export {f}: {e}")))?;
            if !f.is_binary() {
                prop_assert!(interop::least_size(&d) <= written.len(), "{}: under least_size", f);
            }
            if matches!(f, Format::GraphMl | Format::Gexf) {
                let text = String::from_utf8_lossy(&written);
                let bad = text.chars().find(|c| !xml_char(*c));
                prop_assert!(bad.is_none(), "{}: writes {:?}, which XML 1.0 forbids", f, bad);
            }
            let read = interop::import(&written, f)
                .map_err(|e| TestCaseError::fail(format!("import {f}: {e}")))?;
            same(&read.dataset, &d, &format!("{f} read back"))?;
            prop_assert!(read.skipped.is_empty(), "{}: skipped {:?}", f, read.skipped);
            let again = interop::export(&read.dataset, f)
                .map_err(|e| TestCaseError::fail(format!("export {f} again: {e}")))?;
            prop_assert!(written == again, "{}: the second export differs from the first", f);
            if whole {
                let mut back = Graph::new();
                read.dataset
                    .apply("read back", &mut back)
                    .map_err(|e| TestCaseError::fail(format!("{f}: {e}")))?;
                same(&Dataset::of_graph(&back), &d, &format!("{f} loaded"))?;
            }
        }
    }
}
