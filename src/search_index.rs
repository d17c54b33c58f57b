//! An inverted index of entity names and aliases, so that a search costs
//! what it matches rather than a pass over every entity.
//!
//! Each entity's keys are its name and aliases folded by [`fold`]
//! (lowercase, accents stripped). The index maps every trigram (three
//! consecutive bytes) of those keys to the sorted list of entities whose
//! keys contain it. A query of three or more bytes occurs
//! in a key only if all of its trigrams do, so intersecting their lists
//! yields a small superset of the matches, which is then checked against
//! the keys themselves.
//!
//! Keys are padded at the end with a zero byte, so that every byte of a key
//! starts a trigram. A query of one or two bytes then finds its candidates
//! in the lists of the trigrams that begin with it: a contiguous range of
//! the ordered map, whose union costs about the number of matches times the
//! few distinct trigrams each has there. A separate index of single bytes
//! and pairs would answer these a little faster but hold three times the
//! postings, and it would be copied with every snapshot.
//!
//! Bytes rather than chars: folded keys are ASCII, and a byte substring
//! test is what `str::contains` does anyway, so nothing is lost if a
//! non-ASCII char ever got through.
//!
//! Each posting list is an [`IdOrder`] of entity indices: sorted, in
//! chunks of at most a couple of thousand. A list can hold most of the
//! graph's entities (a common trigram), and in one sorted `Vec` a rename
//! or a removal moved the rest of each list it changed, megabytes at a
//! million entities, and copied each list whole the first time a copy of
//! the graph wrote it. Now a change moves and copies one chunk, and the
//! live graph's two copies share every chunk neither has changed.
//!
//! Written here rather than taken from a crate: full-text crates keep
//! their own document store and segment files, and substring (not word)
//! search over keys that change with every write of an in-memory graph
//! snapshot is not what they offer.

use crate::id_order::IdOrder;
use crate::model::{fold, Entity};
use crate::room::with_room;
use compact_str::CompactString;
use fixedbitset::FixedBitSet;
use petgraph::stable_graph::NodeIndex;
use std::collections::{BTreeMap, HashMap};

/// An entity's folded keys: nearly always one, and short enough to sit
/// inline, so most entities' keys take no allocation of their own.
type Keys = smallvec::SmallVec<[CompactString; 1]>;

/// Pads a key at its end, so that its last two bytes also start trigrams.
/// A query may contain it too; that only lets in candidates the check on
/// the keys then drops.
const END: u8 = 0;

/// Three consecutive bytes of a padded key.
type Trigram = [u8; 3];

/// How well a key matched a query: lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Match {
    /// The key is the query.
    Exact,
    /// The key starts with the query.
    Prefix,
    /// The key contains the query elsewhere.
    Substring,
}

/// The search index of a graph's entities: their folded keys and, for
/// every trigram of those keys, the entities that contain it.
#[derive(Debug, Default)]
pub struct SearchIndex {
    /// Folded name and aliases, by node index; empty where no entity is.
    keys: Vec<Keys>,
    /// Entities (sorted, no repeats) whose padded keys contain a trigram.
    /// Lists are never empty: an emptied one is removed.
    postings: BTreeMap<Trigram, IdOrder<NodeIndex>>,
}

/// A copy has room for more entities' keys (see [`crate::room`]), as
/// the live graph's second copy is a clone.
impl Clone for SearchIndex {
    fn clone(&self) -> Self {
        let mut keys = Vec::with_capacity(with_room(self.keys.len()));
        keys.extend_from_slice(&self.keys);
        SearchIndex {
            keys,
            postings: self.postings.clone(),
        }
    }
}

impl SearchIndex {
    /// How many more entities' keys fit before the keys must move.
    #[cfg(test)]
    pub(crate) fn spare_keys(&self) -> usize {
        self.keys.capacity() - self.keys.len()
    }

    /// An empty index.
    pub fn new() -> Self {
        SearchIndex::default()
    }

    /// The index of many entities at once, each given as its index and its
    /// name followed by its aliases, in ascending index order (as a graph
    /// is loaded). Much faster than inserting one by one: each list is
    /// only appended to, and found by hash rather than in the ordered map.
    pub fn build(entities: impl IntoIterator<Item = (NodeIndex, Vec<String>)>) -> Self {
        let entities = entities.into_iter();
        let mut keys: Vec<Keys> = Vec::with_capacity(with_room(entities.size_hint().0));
        let mut lists: HashMap<Trigram, Vec<NodeIndex>, foldhash::fast::RandomState> =
            HashMap::default();
        let mut previous: Option<NodeIndex> = None;
        let mut sorted = true;
        for (ix, names) in entities {
            sorted &= previous.is_none_or(|p| p < ix);
            previous = Some(ix);
            let folded: Keys = names.iter().map(|n| fold(n).into()).collect();
            for t in trigrams_of(&folded) {
                lists.entry(t).or_default().push(ix);
            }
            if keys.len() <= ix.index() {
                keys.resize(ix.index() + 1, Keys::new());
            }
            if let Some(slot) = keys.get_mut(ix.index()) {
                *slot = folded;
            }
        }
        let postings = lists
            .into_iter()
            .map(|(t, mut list)| {
                if !sorted {
                    list.sort_unstable();
                    list.dedup();
                }
                (t, list.into_iter().collect())
            })
            .collect();
        SearchIndex { keys, postings }
    }

    /// Indexes an entity's name and aliases at `ix`, replacing what was
    /// indexed there before (a rename touches only the trigrams that
    /// changed).
    pub fn insert(&mut self, ix: NodeIndex, entity: &Entity) {
        let names =
            std::iter::once(entity.name.as_str()).chain(entity.aliases.iter().map(String::as_str));
        self.set_names(ix, names);
    }

    /// Forgets the entity at `ix`; nothing happens if none is indexed there.
    pub fn remove(&mut self, ix: NodeIndex) {
        let Some(old) = self.keys.get_mut(ix.index()).map(std::mem::take) else {
            return;
        };
        for t in trigrams_of(&old) {
            self.unpost(t, ix);
        }
        while self.keys.last().is_some_and(Keys::is_empty) {
            self.keys.pop();
        }
    }

    /// Folded search keys (name first, then aliases) of the entity at `ix`;
    /// empty if none is indexed there.
    pub fn keys(&self, ix: NodeIndex) -> &[CompactString] {
        self.keys.get(ix.index()).map_or(&[], |k| k.as_slice())
    }

    /// Entities with a key containing `folded`, each with its best match,
    /// ordered by index. `folded` must come from [`fold`]; an empty query
    /// matches nothing here (listing everything is the caller's business).
    pub fn find(&self, folded: &str) -> Vec<(NodeIndex, Match)> {
        self.candidates(folded.as_bytes())
            .into_iter()
            .filter_map(|n| {
                let best = self
                    .keys(n)
                    .iter()
                    .filter_map(|key| match_key(key, folded))
                    .min()?;
                Some((n, best))
            })
            .collect()
    }

    /// Entities whose keys may contain `q`, sorted by index: a superset of
    /// those that do.
    fn candidates(&self, q: &[u8]) -> Vec<NodeIndex> {
        match *q {
            [] => Vec::new(),
            [a] => self.union([a, 0, 0], [a, u8::MAX, u8::MAX]),
            [a, b] => self.union([a, b, 0], [a, b, u8::MAX]),
            _ => self.intersection(q),
        }
    }

    /// Entities in any list whose trigram lies in `lo..=hi`.
    fn union(&self, lo: Trigram, hi: Trigram) -> Vec<NodeIndex> {
        let lists: Vec<&IdOrder<NodeIndex>> =
            self.postings.range(lo..=hi).map(|(_, list)| list).collect();
        if let [only] = *lists.as_slice() {
            return only.iter().collect();
        }
        // A set of bits over the indices: the lists of a short query can
        // hold most of the graph, and marking each entry then reading the
        // marks in order costs a fraction of sorting the entries together.
        let Some(top) = lists.iter().filter_map(|list| list.last()).max() else {
            return Vec::new();
        };
        let mut seen = FixedBitSet::with_capacity(top.index() + 1);
        for list in &lists {
            for ix in list.iter() {
                seen.insert(ix.index());
            }
        }
        seen.ones().map(NodeIndex::new).collect()
    }

    /// Entities in the lists of all trigrams of `q` (at least 3 bytes).
    fn intersection(&self, q: &[u8]) -> Vec<NodeIndex> {
        let mut grams: Vec<Trigram> = q
            .windows(3)
            .filter_map(|w| Trigram::try_from(w).ok())
            .collect();
        grams.sort_unstable();
        grams.dedup();
        let mut lists = Vec::with_capacity(grams.len());
        for t in &grams {
            match self.postings.get(t) {
                Some(list) => lists.push(list),
                // No key has this trigram, so none contains the query.
                None => return Vec::new(),
            }
        }
        // Shortest first: the candidates only shrink, and each further list
        // is probed by binary search, so long lists cost little.
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let mut out: Vec<NodeIndex> = first.iter().collect();
        for list in rest {
            if out.is_empty() {
                break;
            }
            retain_in(&mut out, list);
        }
        out
    }

    /// Sets the keys at `ix` to the folded `names`, updating only the
    /// postings of trigrams gained or lost.
    fn set_names<'a>(&mut self, ix: NodeIndex, names: impl Iterator<Item = &'a str>) {
        let keys: Keys = names.map(|n| fold(n).into()).collect();
        let new = trigrams_of(&keys);
        let old = self
            .keys
            .get(ix.index())
            .map(|k| trigrams_of(k))
            .unwrap_or_default();
        for t in &old {
            if new.binary_search(t).is_err() {
                self.unpost(*t, ix);
            }
        }
        for t in &new {
            if old.binary_search(t).is_err() {
                self.post(*t, ix);
            }
        }
        if self.keys.len() <= ix.index() {
            self.keys.resize(ix.index() + 1, Keys::new());
        }
        if let Some(slot) = self.keys.get_mut(ix.index()) {
            *slot = keys;
        }
    }

    fn post(&mut self, t: Trigram, ix: NodeIndex) {
        let list = self.postings.entry(t).or_default();
        // A new entity nearly always has the highest index, so it goes at
        // the end: known without a search, whose probes into a long list
        // each miss the cache.
        if list.last().is_none_or(|last| last < ix) {
            list.push(ix);
        } else if let Err(place) = list.search(|i| i.cmp(&ix)) {
            list.insert(place, ix);
        }
    }

    fn unpost(&mut self, t: Trigram, ix: NodeIndex) {
        let Some(list) = self.postings.get_mut(&t) else {
            return;
        };
        if let Ok(place) = list.search(|i| i.cmp(&ix)) {
            list.remove(place);
        }
        if list.is_empty() {
            self.postings.remove(&t);
        }
    }
}

/// The distinct trigrams of the padded keys, sorted.
fn trigrams_of(keys: &[CompactString]) -> Vec<Trigram> {
    let mut out = Vec::new();
    for key in keys {
        let b = key.as_bytes();
        let at = |i: usize| b.get(i).copied().unwrap_or(END);
        out.extend((0..b.len()).map(|i| [at(i), at(i + 1), at(i + 2)]));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// How `key` matches the folded query `q`, if it does.
fn match_key(key: &str, q: &str) -> Option<Match> {
    if key == q {
        Some(Match::Exact)
    } else if key.starts_with(q) {
        Some(Match::Prefix)
    } else if key.contains(q) {
        Some(Match::Substring)
    } else {
        None
    }
}

/// Keeps the entries of `out` that `list` holds: a search of `list` for
/// each, as `out`, the shortest list's entries, is the smaller by far.
fn retain_in(out: &mut Vec<NodeIndex>, list: &IdOrder<NodeIndex>) {
    out.retain(|n| list.search(|i| i.cmp(n)).is_ok());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ix(i: usize) -> NodeIndex {
        NodeIndex::new(i)
    }

    fn index(entries: &[(usize, &[&str])]) -> SearchIndex {
        let mut s = SearchIndex::new();
        for (i, names) in entries {
            s.set_names(ix(*i), names.iter().copied());
        }
        s.check();
        s
    }

    fn find(s: &SearchIndex, q: &str) -> Vec<(usize, Match)> {
        s.find(&fold(q))
            .into_iter()
            .map(|(n, m)| (n.index(), m))
            .collect()
    }

    impl SearchIndex {
        /// The postings are exactly the trigrams of the keys, sorted,
        /// without repeats or empty lists.
        pub(crate) fn check(&self) {
            let mut expected: BTreeMap<Trigram, Vec<NodeIndex>> = BTreeMap::new();
            for (i, keys) in self.keys.iter().enumerate() {
                for t in trigrams_of(keys) {
                    expected.entry(t).or_default().push(ix(i));
                }
            }
            let actual: BTreeMap<Trigram, Vec<NodeIndex>> = self
                .postings
                .iter()
                .map(|(t, l)| (*t, l.iter().collect()))
                .collect();
            assert_eq!(actual, expected);
            assert!(self.keys.last().is_none_or(|k| !k.is_empty()));
        }
    }

    use Match::{Exact, Prefix, Substring};

    #[test]
    fn finds_by_queries_of_every_length() {
        let s = index(&[
            (0, &["Peshmerga", "KRG forces"]),
            (1, &["Ministry of Peshmerga Affairs"]),
            (2, &["Pe"]),
            (3, &["Army"]),
            (4, &["abc bcd"]),
        ]);
        assert_eq!(
            find(&s, "peshmerga"),
            [(0, Exact), (1, Substring)],
            "3+ bytes"
        );
        assert_eq!(find(&s, "PESH"), [(0, Prefix), (1, Substring)]);
        assert_eq!(find(&s, "krg f"), [(0, Prefix)]);
        assert_eq!(find(&s, "pe"), [(0, Prefix), (1, Substring), (2, Exact)]);
        assert_eq!(
            find(&s, "e"),
            [(0, Substring), (1, Substring), (2, Substring)]
        );
        assert_eq!(
            find(&s, "a"),
            [(0, Substring), (1, Substring), (3, Prefix), (4, Prefix)]
        );
        // The last byte of a key starts a padded trigram too.
        assert_eq!(find(&s, "y"), [(1, Substring), (3, Substring)]);
        assert_eq!(find(&s, "my"), [(3, Substring)]);
        assert_eq!(find(&s, "rmy"), [(3, Substring)]);
        assert!(find(&s, "armies").is_empty());
        assert!(find(&s, "zz").is_empty());
        assert!(find(&s, "").is_empty());
        // Both trigrams are keys' trigrams, but not in a row.
        assert!(find(&s, "abcd").is_empty());
        assert_eq!(find(&s, "c b"), [(4, Substring)]);
    }

    #[test]
    fn folds_accents_and_case() {
        let s = index(&[(0, &["Café Ñandú"]), (1, &["CAFE"])]);
        assert_eq!(find(&s, "cafe"), [(0, Prefix), (1, Exact)]);
        assert_eq!(find(&s, "CAFÉ"), [(0, Prefix), (1, Exact)]);
        assert_eq!(find(&s, "nandu"), [(0, Substring)]);
        assert_eq!(find(&s, "ñ"), [(0, Substring)]);
    }

    #[test]
    fn renames_and_removals_update_the_postings() {
        let mut s = index(&[(0, &["alpha"]), (1, &["beta", "alpine"]), (2, &["gamma"])]);
        assert_eq!(find(&s, "alp"), [(0, Prefix), (1, Prefix)]);
        s.set_names(ix(1), ["delta"].into_iter());
        s.check();
        assert_eq!(find(&s, "alp"), [(0, Prefix)]);
        assert_eq!(find(&s, "elt"), [(1, Substring)]);
        assert_eq!(s.keys(ix(1)), ["delta"]);
        s.remove(ix(2));
        s.check();
        assert!(find(&s, "gam").is_empty() && find(&s, "g").is_empty());
        assert!(s.keys(ix(2)).is_empty());
        s.remove(ix(2));
        s.remove(ix(7));
        s.check();
        // An index reused after removal starts afresh.
        s.set_names(ix(2), ["Alphabet"].into_iter());
        s.check();
        assert_eq!(find(&s, "alpha"), [(0, Exact), (2, Prefix)]);
        s.remove(ix(0));
        s.remove(ix(1));
        s.remove(ix(2));
        s.check();
        assert!(s.postings.is_empty() && s.keys.is_empty());
    }

    #[test]
    fn built_at_once_equals_built_one_by_one() {
        let entries: [(usize, &[&str]); 5] = [
            (0, &["Peshmerga", "KRG forces"]),
            (2, &["Ministry of Peshmerga Affairs"]),
            (3, &["Pe"]),
            (5, &[]),
            (9, &["Café Ñandú", "CAFE"]),
        ];
        let one_by_one = index(&entries);
        let named = |order: &[usize]| {
            order
                .iter()
                .map(|k| {
                    let (i, names) = entries[*k];
                    (ix(i), names.iter().map(|n| (*n).to_owned()).collect())
                })
                .collect::<Vec<_>>()
        };
        for order in [[0, 1, 2, 3, 4], [4, 2, 0, 3, 1]] {
            let built = SearchIndex::build(named(&order));
            built.check();
            assert_eq!(built.keys, one_by_one.keys);
            assert_eq!(built.postings, one_by_one.postings);
            assert_eq!(find(&built, "pesh"), [(0, Prefix), (2, Substring)]);
        }
    }

    #[test]
    fn copies_share_postings_until_written() {
        let a = index(&[(0, &["alpha"]), (1, &["alpine"])]);
        let mut b = a.clone();
        b.set_names(ix(1), ["beta"].into_iter());
        b.check();
        a.check();
        assert_eq!(find(&a, "alp"), [(0, Prefix), (1, Prefix)]);
        assert_eq!(find(&b, "alp"), [(0, Prefix)]);
        let (pa, pb) = (&a.postings[b"pha"], &b.postings[b"pha"]);
        assert!(pa.shares_chunk(pb, 0), "an untouched list is shared");
        let (pa, pb) = (&a.postings[b"alp"], &b.postings[b"alp"]);
        assert!(!pa.shares_chunk(pb, 0), "a changed list is copied");
    }

    #[test]
    fn retain_in_intersects_sorted_lists() {
        let ns = |v: &[usize]| v.iter().map(|i| ix(*i)).collect::<Vec<_>>();
        let mut out = ns(&[1, 3, 5, 7, 9, 4999]);
        let long: IdOrder<NodeIndex> = (0..5000).filter(|i| i % 2 == 1).map(ix).collect();
        retain_in(&mut out, &long);
        assert_eq!(out, ns(&[1, 3, 5, 7, 9, 4999]), "found in every chunk");
        retain_in(&mut out, &ns(&[0, 3, 4, 5, 9, 10]).into_iter().collect());
        assert_eq!(out, ns(&[3, 5, 9]));
        retain_in(&mut out, &IdOrder::default());
        assert!(out.is_empty());
    }
}
