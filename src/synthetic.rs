//! Scale data: datasets of any size with the shape of the real one, for
//! benchmarks and load tests.
//!
//! A generated dataset has the built-in article's mix of entity kinds and
//! of relation kinds, only relations that [`RelationKind::allows`], a
//! skewed degree distribution (a few hubs and a long tail), amounts on the
//! money relations, and evidence on every item: each entity and relation
//! quotes the sentence generated for it, verbatim, from a short generated
//! document. The same [`Spec`] always gives the same dataset, byte for
//! byte; generation is linear in the size asked for.
//!
//! How the shape is made:
//! - kinds are dealt in blocks of the article's 24 entities, each block
//!   shuffled, so every prefix of the entities has the article's mix;
//! - a relation kind is drawn with the article's relation-kind weights,
//!   then a pair of entity kinds it allows, weighted by how many entities
//!   of each kind there are;
//! - each end is drawn from the entities of its kind with a Zipf-like law
//!   (the entity of rank `r` in a seeded random order is drawn with
//!   probability about proportional to `r^-0.8`), which gives hubs and a
//!   long tail;
//! - PART_OF and FUNDS relations between kinds that may go either way are
//!   turned to follow one fixed order of entities (members point to larger
//!   bodies, money flows from larger bodies to smaller ones), so that
//!   hierarchies and money flows are acyclic, as in real data, and funding
//!   flows stay finite.

use crate::dataset::Dataset;
use crate::model::{
    AmountQualifier, Document, Entity, EntityKind, Money, Relation, RelationKind, Source, Vote,
};
use chrono::{Days, NaiveDate};
use rand_core::{Rng as _, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Settings of a generated dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    /// How many entities to generate.
    pub entities: usize,
    /// How many relations to generate.
    pub relations: usize,
    /// Seed of the random choices: the same spec gives the same dataset.
    pub seed: u64,
}

impl Spec {
    /// `entities` entities with `per_entity` relations each on average.
    pub fn with_degree(entities: usize, per_entity: usize, seed: u64) -> Self {
        Spec {
            entities,
            relations: entities.saturating_mul(per_entity),
            seed,
        }
    }
}

/// Items (entities and relations) evidenced by one generated document.
/// Documents are kept short because checking a quote scans its
/// document's text: loading is linear in items × document length.
pub const ITEMS_PER_DOCUMENT: usize = 20;

/// Exponent of the Zipf-like law by which relation ends are drawn.
pub const ZIPF_EXPONENT: f64 = 0.8;

/// Exponent of the Zipf-like law by which the syllables of names are drawn.
const SYLLABLE_EXPONENT: f64 = 1.3;

/// The article's entities by kind (data/article.toml): the mix every
/// generated dataset repeats.
const ENTITY_MIX: [(EntityKind, usize); 15] = [
    (EntityKind::ArmedForce, 5),
    (EntityKind::Country, 3),
    (EntityKind::MilitaryCommand, 2),
    (EntityKind::Government, 2),
    (EntityKind::Event, 2),
    (EntityKind::SecurityService, 1),
    (EntityKind::Region, 1),
    (EntityKind::Person, 1),
    (EntityKind::Ministry, 1),
    (EntityKind::MediaOutlet, 1),
    (EntityKind::Legislature, 1),
    (EntityKind::Legislation, 1),
    (EntityKind::Fund, 1),
    (EntityKind::City, 1),
    (EntityKind::ArmedGroup, 1),
];

/// The article's relations by kind: the weights relation kinds are drawn with.
const RELATION_MIX: [(RelationKind, usize); 12] = [
    (RelationKind::PartOf, 10),
    (RelationKind::ParticipatesIn, 9),
    (RelationKind::OperatesIn, 5),
    (RelationKind::Funds, 4),
    (RelationKind::CooperatesWith, 3),
    (RelationKind::Announced, 3),
    (RelationKind::Supports, 2),
    (RelationKind::Governs, 2),
    (RelationKind::Combats, 2),
    (RelationKind::HoldsPosition, 1),
    (RelationKind::Enacted, 1),
    (RelationKind::Authorizes, 1),
];

const SYLLABLES: [&str; 32] = [
    "ka", "ra", "vel", "dor", "mi", "sa", "tan", "lo", "bre", "zu", "nar", "kel", "fa", "ri",
    "gon", "te", "shi", "ba", "ul", "ven", "as", "ho", "dra", "mon", "qu", "il", "per", "jo",
    "wen", "cy", "ex", "ob",
];
const RANKS: [&str; 6] = [
    "Lieutenant General",
    "Major General",
    "Brigadier General",
    "Colonel",
    "Minister",
    "Dr.",
];
const ROLES: [&str; 7] = [
    "Chief of Staff",
    "Minister",
    "Commander",
    "Deputy Commander",
    "Spokesperson",
    "Director",
    "Adviser",
];
const CATEGORIES: [&str; 6] = [
    "logistical aid",
    "training",
    "intelligence sharing",
    "medical infrastructure",
    "anti-drone systems",
    "equipment",
];
const FORCE_NOUNS: [&str; 4] = ["Brigade", "Forces", "Battalion", "Division"];
const EVENT_NOUNS: [&str; 4] = ["Talks", "Conference", "Summit", "Technical Meeting"];
const PUBLISHERS: [&str; 5] = [
    "Kurdistan24",
    "Field Dispatch",
    "Gazette of Record",
    "Defense Wire",
    "Regional Monitor",
];

/// A seeded generator with its own uniform and float draws, so that the
/// output depends only on PCG's stream, not on a `rand` version's algorithms.
struct Draw(Pcg64Mcg);

impl Draw {
    fn new(seed: u64) -> Self {
        Draw(Pcg64Mcg::seed_from_u64(seed))
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-high.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.0.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }

    /// A capitalised made-up word of two or three syllables.
    ///
    /// Syllables are drawn by a Zipf-like law, as letters and sounds are in
    /// real names: with uniform draws every four-letter start of a name
    /// would be about equally common, and at a million entities even the
    /// rarest would begin over a thousand names, which real names do not.
    fn word(&mut self) -> String {
        let n = 2 + self.below(2);
        let mut w = String::with_capacity(9);
        for _ in 0..n {
            let rank = zipf_rank(self.unit(), SYLLABLES.len(), SYLLABLE_EXPONENT);
            w.push_str(SYLLABLES[rank]);
        }
        capitalised(&w)
    }

    fn year(&mut self) -> i32 {
        2015 + self.below(12) as i32
    }

    fn date(&mut self) -> NaiveDate {
        let start = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
        start
            .checked_add_days(Days::new(self.below(4000) as u64))
            .unwrap_or(start)
    }

    /// A whole-dollar amount from thousands to about a hundred billion,
    /// mostly exact, a fifth of them "more than".
    fn money(&mut self) -> Money {
        let amount = (1 + self.below(999)) as i64 * 10i64.pow(3 + self.below(6) as u32);
        let qualifier = match self.below(20) {
            0..=13 => AmountQualifier::Exact,
            14..=17 => AmountQualifier::AtLeast,
            18 => AmountQualifier::AtMost,
            _ => AmountQualifier::Approximate,
        };
        Money::usd(amount).qualified(qualifier)
    }
}

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn digits(n: usize) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// Ids of one sort: `prefix-` and a zero-padded number, padded alike so
/// that id order is number order.
struct Ids {
    prefix: &'static str,
    width: usize,
}

impl Ids {
    fn new(prefix: &'static str, count: usize, min_width: usize) -> Self {
        Ids {
            prefix,
            width: digits(count).max(min_width),
        }
    }

    fn id(&self, i: usize) -> String {
        format!("{}-{:0w$}", self.prefix, i, w = self.width)
    }
}

/// Generated documents: items are dealt to them in order,
/// [`ITEMS_PER_DOCUMENT`] each, and each item's sentence is appended to
/// its document's text.
struct Docs {
    ids: Ids,
    texts: Vec<String>,
}

impl Docs {
    fn new(items: usize) -> Self {
        let count = items.div_ceil(ITEMS_PER_DOCUMENT);
        Docs {
            ids: Ids::new("doc", count, 5),
            texts: Vec::with_capacity(count),
        }
    }

    /// Adds the sentence of item number `item` to its document and returns
    /// the item's evidence: the sentence, quoted without its full stop.
    fn cite(&mut self, item: usize, sentence: &str) -> Source {
        let doc = item / ITEMS_PER_DOCUMENT;
        while self.texts.len() <= doc {
            self.texts
                .push(String::with_capacity(ITEMS_PER_DOCUMENT * 80));
        }
        let text = &mut self.texts[doc];
        if !text.is_empty() {
            // A paragraph break every fifth sentence: quotes still match
            // because whitespace is folded.
            text.push(if (item % ITEMS_PER_DOCUMENT).is_multiple_of(5) {
                '\n'
            } else {
                ' '
            });
        }
        text.push_str(sentence);
        text.push('.');
        Source::new(self.ids.id(doc), sentence)
    }

    fn finish(self, draw: &mut Draw) -> Vec<Document> {
        let ids = self.ids;
        self.texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let publisher = draw.pick(&PUBLISHERS);
                let dateline = draw.chance(0.5).then(|| draw.word());
                Document {
                    id: ids.id(i).into(),
                    title: compact_str::format_compact!("{publisher} report {}", i + 1),
                    publisher: publisher.into(),
                    published_on: Some(draw.date()),
                    dateline: dateline.map(Into::into),
                    text: text.into(),
                }
            })
            .collect()
    }
}

/// The entities of one kind, in hub order: the first is drawn most often.
struct Pool {
    members: Vec<u32>,
    /// `(len + 1)^(1 - s) - 1`, the normaliser of the inverse Zipf CDF.
    norm: f64,
}

impl Pool {
    fn new(members: Vec<u32>) -> Self {
        let norm = zipf_norm(members.len(), ZIPF_EXPONENT);
        Pool { members, norm }
    }

    /// A position drawn by the continuous Zipf law on `[1, len + 1)`.
    fn draw(&self, draw: &mut Draw) -> usize {
        zipf_position(draw.unit(), self.norm, self.members.len(), ZIPF_EXPONENT)
    }
}

/// `(len + 1)^(1 - s) - 1`, the normaliser of the inverse CDF of the
/// continuous Zipf law with exponent `s` (not 1) on `[1, len + 1)`.
fn zipf_norm(len: usize, s: f64) -> f64 {
    ((len + 1) as f64).powf(1.0 - s) - 1.0
}

/// The position in `0..len` that the uniform draw `unit` maps to under the
/// continuous Zipf law with exponent `s` and normaliser `norm`.
fn zipf_position(unit: f64, norm: f64, len: usize, s: f64) -> usize {
    let x = (1.0 + unit * norm).powf(1.0 / (1.0 - s));
    // `as` saturates; the clamp guards the top end against rounding.
    ((x as usize).saturating_sub(1)).min(len.saturating_sub(1))
}

/// [`zipf_position`] for a list of `len` too short to keep a normaliser for.
fn zipf_rank(unit: f64, len: usize, s: f64) -> usize {
    zipf_position(unit, zipf_norm(len, s), len, s)
}

/// Whether a relation of `kind` from `from` to `to` goes the way
/// hierarchies and money go: a member is part of a body of its tier or a
/// bigger one, money flows to bodies of its tier or smaller ones.
fn tiers_ok(kind: RelationKind, from: EntityKind, to: EntityKind) -> bool {
    match kind {
        RelationKind::PartOf => tier(from) >= tier(to),
        RelationKind::Funds => tier(from) <= tier(to),
        _ => true,
    }
}

/// Bigger kinds come first in the order relations are turned to follow.
fn tier(kind: EntityKind) -> u8 {
    use EntityKind as K;
    match kind {
        K::Country | K::Government | K::Legislature => 0,
        K::Region | K::Ministry | K::MilitaryCommand | K::Fund | K::Legislation => 1,
        _ => 2,
    }
}

/// The name of a new entity of `kind`, and its aliases.
fn name(kind: EntityKind, draw: &mut Draw) -> (String, Vec<String>) {
    use EntityKind as K;
    let w = draw.word();
    let name = match kind {
        K::Country | K::City => w,
        K::Region => format!("{w} Region"),
        K::Government => format!("{w} Regional Government"),
        K::Ministry => format!("Ministry of {w}"),
        K::Legislature => format!("{w} Assembly"),
        K::MilitaryCommand => format!("{w} Joint Task Force"),
        K::ArmedForce => format!("{w} {}", draw.pick(&FORCE_NOUNS)),
        K::SecurityService => format!("{w} Security Service"),
        K::ArmedGroup => format!("{w} Front"),
        K::Person => format!("{w} {}", draw.word()),
        K::Fund => format!("{w} Train and Equip Fund"),
        K::Legislation => format!("{w} Authorization Act"),
        K::Event => format!("{w} {}", draw.pick(&EVENT_NOUNS)),
        K::MediaOutlet => format!("{w} News"),
    };
    let words = name.split(' ').count();
    let aliases = if words >= 3 && kind != K::Person && draw.chance(0.3) {
        let acronym: String = name
            .split(' ')
            .filter_map(|w| w.chars().next())
            .filter(char::is_ascii_uppercase)
            .collect();
        vec![acronym]
    } else {
        Vec::new()
    };
    (name, aliases)
}

/// The entity of `kind` numbered `i`, with its kind-specific fields and
/// its sentence cited in `docs`.
fn entity(i: usize, kind: EntityKind, ids: &Ids, docs: &mut Docs, draw: &mut Draw) -> Entity {
    use EntityKind as K;
    let (name, aliases) = name(kind, draw);
    let mut e = Entity::new(&ids.id(i), kind, &name, Source::new("", ""));
    e.aliases = aliases.into();
    let sentence = match kind {
        K::Person => {
            e.update_details(|d| d.rank = draw.chance(0.4).then(|| draw.pick(&RANKS).into()));
            match e.rank() {
                Some(rank) => format!("{rank} {name} spoke to reporters"),
                None => format!("{name} spoke to reporters"),
            }
        }
        K::Fund => {
            let total = draw.money();
            let year = draw.year();
            let s = format!(
                "The {name} holds {} for fiscal year {year}",
                total.display()
            );
            e.update_details(|d| {
                d.total_amount = Some(total);
                d.fiscal_year = Some(year);
            });
            s
        }
        K::Legislation => {
            let total = draw.money();
            let year = draw.year();
            let yeas = 50 + draw.below(51) as u32;
            let nays = draw.below(50) as u32;
            let s = format!(
                "The {name} of {year}, passed by {yeas} to {nays} votes, provides {}",
                total.display()
            );
            e.update_details(|d| {
                d.total = Some(total);
                d.fiscal_year = Some(year);
                d.vote = Some(Vote { yeas, nays });
            });
            s
        }
        K::Event => {
            let date = draw.date();
            e.update_details(|d| d.date = Some(date));
            format!("The {name} took place on {}", date.format("%b %-d, %Y"))
        }
        _ => {
            let what = match kind {
                K::Country => "a country",
                K::Region => "a region",
                K::City => "a city",
                K::Government => "a government",
                K::Ministry => "a ministry",
                K::Legislature => "a legislature",
                K::MilitaryCommand => "a military command",
                K::ArmedForce => "an armed force",
                K::SecurityService => "a security service",
                K::ArmedGroup => "an armed group",
                _ => "a news outlet",
            };
            format!("{name} is {what}")
        }
    };
    e.sources = crate::model::Sources::One(docs.cite(i, &sentence));
    e
}

/// One allowed way to draw a relation: its kind, the kinds of its ends,
/// and the cumulative weight up to and including it.
struct Choice {
    kind: RelationKind,
    from: usize,
    to: usize,
    cumulative: f64,
}

/// Every (relation kind, from kind, to kind) that the schema allows and
/// the entities at hand make possible, each relation kind weighted as in
/// the article, its kind pairs by the number of entity pairs they offer.
fn choices(pools: &[Pool]) -> Vec<Choice> {
    let mut out = Vec::new();
    let mut total = 0.0;
    for (kind, weight) in RELATION_MIX {
        let mut pairs = Vec::new();
        for (f, fk) in EntityKind::ALL.into_iter().enumerate() {
            for (t, tk) in EntityKind::ALL.into_iter().enumerate() {
                let (cf, ct) = (pools[f].members.len(), pools[t].members.len());
                let possible = cf > 0 && ct > 0 && (f != t || cf >= 2);
                if possible && kind.allows(fk, tk) && tiers_ok(kind, fk, tk) {
                    pairs.push((f, t, (cf * ct) as f64));
                }
            }
        }
        let sum: f64 = pairs.iter().map(|p| p.2).sum();
        for (from, to, w) in pairs {
            total += weight as f64 * w / sum;
            out.push(Choice {
                kind,
                from,
                to,
                cumulative: total,
            });
        }
    }
    out
}

/// A generated dataset of exactly `spec.entities` entities and
/// `spec.relations` relations (none when there are fewer than two
/// entities, since a relation needs two), with the article's mix of
/// kinds, relation kinds the schema allows between them, a few hubs and a
/// long tail of rarely joined entities, amounts on AUTHORIZES and FUNDS
/// relations, and evidence on every item: a quote of the sentence
/// generated for it, verbatim, from one of the generated documents.
///
/// Ids are slugs unique across entities (`e-000123`), relations
/// (`r-0004567`) and documents (`doc-00012`). The same spec gives the same
/// dataset, byte for byte; time and memory are linear in its size. Loading
/// the result into an empty graph with [`Dataset::apply`] always succeeds.
pub fn generate(spec: &Spec) -> Dataset {
    let mut draw = Draw::new(spec.seed);
    let n = spec.entities;

    // Kinds, dealt in shuffled blocks of the article's mix.
    let pattern: Vec<EntityKind> = ENTITY_MIX
        .iter()
        .flat_map(|(k, count)| std::iter::repeat_n(*k, *count))
        .collect();
    let mut kinds = Vec::with_capacity(n);
    while kinds.len() < n {
        let mut block = pattern.clone();
        draw.shuffle(&mut block);
        let take = (n - kinds.len()).min(block.len());
        kinds.extend_from_slice(&block[..take]);
    }
    let kind_index = |k: EntityKind| EntityKind::ALL.iter().position(|x| *x == k).unwrap_or(0);
    let mut pools = make_pools(&kinds, &kind_index, &mut draw);
    let mut table = choices(&pools);
    if table.is_empty() && n >= 2 {
        // Two entities of kinds nothing may join (an event and a fund):
        // make them two forces, which may be part of one another.
        kinds[0] = EntityKind::ArmedForce;
        kinds[1] = EntityKind::ArmedForce;
        pools = make_pools(&kinds, &kind_index, &mut draw);
        table = choices(&pools);
    }
    let relations = if table.is_empty() { 0 } else { spec.relations };

    // Each entity's place in its pool, and the order relations follow.
    let mut rank = vec![0u32; n];
    let mut order = vec![(0u8, 0u32, 0u32); n];
    for pool in &pools {
        let len = pool.members.len().max(1) as u64;
        for (r, &e) in pool.members.iter().enumerate() {
            let e = e as usize;
            rank[e] = r as u32;
            let frac = (r as u64 * u64::from(u32::MAX) / len) as u32;
            order[e] = (tier(kinds[e]), frac, e as u32);
        }
    }

    let mut docs = Docs::new(n + relations);
    let entity_ids = Ids::new("e", n, 6);
    let entities: Vec<Entity> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| entity(i, *kind, &entity_ids, &mut docs, &mut draw))
        .collect();

    let relation_ids = Ids::new("r", relations, 7);
    let total = table.last().map_or(0.0, |c| c.cumulative);
    let mut out = Vec::with_capacity(relations);
    for j in 0..relations {
        let x = draw.unit() * total;
        let at = table
            .partition_point(|c| c.cumulative <= x)
            .min(table.len() - 1);
        let choice = &table[at];
        let kind = choice.kind;
        let (fp, tp) = (&pools[choice.from], &pools[choice.to]);
        // A member belongs to few bodies and a person holds few posts: the
        // hubs are on the other end.
        let from_pos = match kind {
            RelationKind::PartOf | RelationKind::HoldsPosition => draw.below(fp.members.len()),
            _ => fp.draw(&mut draw),
        };
        let mut from = fp.members[from_pos] as usize;
        let mut to = tp.members[tp.draw(&mut draw)] as usize;
        let mut tries = 0;
        while to == from {
            tries += 1;
            if tries > 8 {
                // A pool of two with one hub: step to another member.
                let len = tp.members.len();
                let r = (rank[from] as usize + 1 + draw.below(len - 1)) % len;
                to = tp.members[r] as usize;
            } else {
                to = tp.members[tp.draw(&mut draw)] as usize;
            }
        }
        // Hierarchies and money flow one way: members point to larger
        // bodies, money flows from larger to smaller.
        let reversible = kind.allows(kinds[to], kinds[from]);
        let swap = match kind {
            RelationKind::PartOf => reversible && order[from] < order[to],
            RelationKind::Funds => reversible && order[from] > order[to],
            _ => false,
        };
        if swap {
            std::mem::swap(&mut from, &mut to);
        }
        out.push(relation(
            &relation_ids.id(j),
            kind,
            &entities[from],
            &entities[to],
            n + j,
            &mut docs,
            &mut draw,
        ));
    }

    Dataset {
        document: None,
        documents: docs.finish(&mut draw),
        entities,
        relations: out,
    }
}

/// The entities of each kind (indexed like [`EntityKind::ALL`]), each
/// pool in a seeded random order: its hub order.
fn make_pools(
    kinds: &[EntityKind],
    kind_index: &impl Fn(EntityKind) -> usize,
    draw: &mut Draw,
) -> Vec<Pool> {
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); EntityKind::ALL.len()];
    for (i, k) in kinds.iter().enumerate() {
        members[kind_index(*k)].push(i as u32);
    }
    members
        .into_iter()
        .map(|mut m| {
            draw.shuffle(&mut m);
            Pool::new(m)
        })
        .collect()
}

/// The relation `from → to` of `kind` with its fields and its sentence
/// cited in `docs` as item number `item`.
fn relation(
    id: &str,
    kind: RelationKind,
    from: &Entity,
    to: &Entity,
    item: usize,
    docs: &mut Docs,
    draw: &mut Draw,
) -> Relation {
    use RelationKind as R;
    let mut r = Relation::new(id, kind, &from.id, &to.id, Source::new("", ""));
    let (f, t) = (&from.name, &to.name);
    let sentence = match kind {
        R::PartOf => format!("{f} is part of {t}"),
        R::HoldsPosition => {
            let role = draw.pick(&ROLES);
            r.update_details(|d| d.role = Some((*role).into()));
            format!("{f} serves as {role} of {t}")
        }
        R::Governs => format!("{f} governs {t}"),
        R::Enacted => format!("{f} enacted the {t}"),
        R::Authorizes | R::Funds => {
            let amount = draw.money();
            let money = amount.display();
            r.update_details(|d| d.amount = Some(amount));
            let year = draw.chance(0.8).then(|| draw.year());
            r.update_details(|d| d.fiscal_year = year);
            let verb = if kind == R::Authorizes {
                "authorizes"
            } else {
                "provides"
            };
            match year {
                Some(y) => format!("{f} {verb} {money} to {t} in fiscal year {y}"),
                None => format!("{f} {verb} {money} to {t}"),
            }
        }
        R::Supports => {
            let n = draw.below(3);
            let mut cats: Vec<String> = Vec::with_capacity(n);
            for _ in 0..n {
                let c = draw.pick(&CATEGORIES);
                if !cats.iter().any(|x| x == c) {
                    cats.push(c.to_owned());
                }
            }
            let s = if cats.is_empty() {
                format!("{f} supports {t}")
            } else {
                format!("{f} supports {t} with {}", cats.join(" and "))
            };
            r.update_details(|d| d.categories = cats.into());
            s
        }
        R::ParticipatesIn => {
            if draw.chance(0.3) {
                let date = draw.date();
                r.update_details(|d| d.date = Some(date));
                format!("{f} took part in the {t} on {}", date.format("%b %-d, %Y"))
            } else {
                format!("{f} took part in the {t}")
            }
        }
        R::CooperatesWith => format!("{f} cooperates with {t}"),
        R::Combats => format!("{f} fights {t}"),
        R::Announced => format!("{f} issued a statement on {t}"),
        R::OperatesIn => format!("{f} operates in {t}"),
    };
    r.sources = crate::model::Sources::One(docs.cite(item, &sentence));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;
    use std::collections::HashMap;

    fn load(d: Dataset) -> Graph {
        let mut g = Graph::new();
        if let Err(e) = d.apply("generated", &mut g) {
            panic!("generated dataset refused: {e}");
        }
        g
    }

    #[test]
    fn every_generated_dataset_loads_with_exact_counts() {
        for seed in 0..6 {
            for (entities, relations) in [(2, 3), (3, 10), (24, 100), (250, 1_200), (1_000, 5_000)]
            {
                let spec = Spec {
                    entities,
                    relations,
                    seed,
                };
                let d = generate(&spec);
                assert_eq!(d.entities.len(), entities);
                assert_eq!(d.relations.len(), relations);
                let g = load(d);
                assert_eq!(g.entity_count(), entities, "{spec:?}");
                assert_eq!(g.relation_count(), relations, "{spec:?}");
            }
        }
    }

    #[test]
    fn degenerate_sizes() {
        let empty = generate(&Spec {
            entities: 0,
            relations: 0,
            seed: 1,
        });
        assert!(empty.entities.is_empty() && empty.documents.is_empty());
        let _ = load(empty);
        // One entity cannot be joined to anything.
        let one = generate(&Spec {
            entities: 1,
            relations: 5,
            seed: 1,
        });
        assert_eq!((one.entities.len(), one.relations.len()), (1, 0));
        let _ = load(one);
        // Two entities of any kinds always get their relations.
        for seed in 0..200 {
            let two = generate(&Spec {
                entities: 2,
                relations: 4,
                seed,
            });
            assert_eq!(two.relations.len(), 4);
            let _ = load(two);
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let spec = Spec {
            entities: 500,
            relations: 2_500,
            seed: 42,
        };
        let a = generate(&spec).to_json();
        assert_eq!(a, generate(&spec).to_json());
        let other = generate(&Spec { seed: 43, ..spec }).to_json();
        assert_ne!(a, other);
    }

    #[test]
    fn ids_are_padded_slugs() {
        let d = generate(&Spec {
            entities: 30,
            relations: 30,
            seed: 3,
        });
        assert_eq!(d.entities[7].id, "e-000007");
        assert_eq!(d.relations[12].id, "r-0000012");
        assert_eq!(d.documents[2].id, "doc-00002");
        assert_eq!(d.documents.len(), 3);
    }

    #[test]
    fn has_the_articles_kind_mix() {
        let d = generate(&Spec {
            entities: 24 * 100,
            relations: 10_000,
            seed: 7,
        });
        let mut counts: HashMap<EntityKind, usize> = HashMap::new();
        for e in &d.entities {
            *counts.entry(e.kind).or_default() += 1;
        }
        for (kind, per_24) in ENTITY_MIX {
            assert_eq!(counts.get(&kind).copied(), Some(per_24 * 100), "{kind}");
        }
        let mut rel_counts: HashMap<RelationKind, usize> = HashMap::new();
        for r in &d.relations {
            *rel_counts.entry(r.kind).or_default() += 1;
        }
        // Every relation kind occurs, PART_OF most often as in the article.
        assert_eq!(rel_counts.len(), RelationKind::ALL.len());
        let most = rel_counts.iter().max_by_key(|(_, c)| **c).map(|(k, _)| *k);
        assert_eq!(most, Some(RelationKind::PartOf));
    }

    #[test]
    fn money_relations_carry_amounts_some_at_least() {
        let d = generate(&Spec {
            entities: 1_000,
            relations: 5_000,
            seed: 9,
        });
        let money: Vec<&Relation> = d
            .relations
            .iter()
            .filter(|r| r.kind.carries_money())
            .collect();
        assert!(money.len() > 100, "{}", money.len());
        assert!(money.iter().all(|r| r.amount().is_some()));
        let at_least = money
            .iter()
            .filter(|r| {
                r.amount()
                    .as_ref()
                    .is_some_and(|m| m.qualifier == AmountQualifier::AtLeast)
            })
            .count();
        assert!(at_least > money.len() / 10 && at_least < money.len() / 2);
        assert!(d
            .relations
            .iter()
            .all(|r| r.amount().is_none() || r.kind.carries_money()));
    }

    #[test]
    fn degrees_are_skewed() {
        let g = load(generate(&Spec::with_degree(5_000, 5, 11)));
        let mut degrees: Vec<usize> = g.entities().map(|n| g.degree(n)).collect();
        degrees.sort_unstable();
        let median = degrees[degrees.len() / 2];
        let max = degrees.last().copied().unwrap_or(0);
        assert!(median >= 1, "median {median}");
        assert!(max >= 30 * median, "max {max}, median {median}");
    }

    #[test]
    fn hierarchies_and_money_are_acyclic() {
        use petgraph::visit::EdgeFiltered;
        let g = load(generate(&Spec::with_degree(3_000, 5, 5)));
        let pg = g.petgraph();
        for kind in [RelationKind::PartOf, RelationKind::Funds] {
            let only = EdgeFiltered::from_fn(pg, |e| {
                e.weight().kind == kind
                    || (kind == RelationKind::Funds && e.weight().kind.carries_money())
            });
            assert!(
                petgraph::algo::toposort(&only, None).is_ok(),
                "{kind} has a cycle"
            );
        }
    }
}
