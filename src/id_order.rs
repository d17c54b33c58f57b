//! Item indices kept in the order of the items' ids, where the ids live in
//! the items themselves.
//!
//! One sorted `Vec` was the first choice: the fastest to search and to
//! walk. But a new id moves every index after its place, megabytes at a
//! million items, and at 1M entities that move was a third of a write's
//! time. Here the indices sit in chunks of at most [`MAX_CHUNK`], so a new
//! id moves at most one chunk, while a search is still two binary searches
//! over contiguous memory.
//!
//! Written here rather than taken from a crate: ordered-set crates
//! (`indexset`, `BTreeSet`) need each element to order itself, that is a
//! copy of every id beside the item (about 32 bytes for each of 6M items
//! in two copies of the graph, more than the memory target leaves), and a
//! persistent vector (`imbl::Vector`) searched by position walks its tree
//! at every probe, which made writes at 8 clients slower, not faster
//! (measured at 1M: 2,444 and 1,987 against 3,945 and 3,801 writes/s).
//!
//! The chunks sit behind `Arc`: the live graph's two copies share every
//! chunk neither has written since the copy was made, and a write copies
//! only the chunk it changes (a few kilobytes), once per copy. The search
//! index keeps its posting lists in the same structure, ordered by the
//! indices themselves.

use std::cmp::Ordering;
use std::sync::Arc;

/// Most indices a chunk holds before it is split in two: a move within it
/// stays a few kilobytes.
pub const MAX_CHUNK: usize = 2048;

/// Where an index is (or would go) in an [`IdOrder`]: its chunk and its
/// place there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    chunk: usize,
    at: usize,
}

/// Indices ordered by their items' ids; the caller compares. A clone
/// shares the chunks until one side writes them.
#[derive(Debug, Clone)]
pub struct IdOrder<I> {
    /// Never empty chunks, in order; concatenated, the whole order.
    chunks: Vec<Arc<Vec<I>>>,
    len: usize,
}

/// Equal when they hold the same indices in the same order, however
/// chunked.
impl<I: Copy + PartialEq> PartialEq for IdOrder<I> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<I> Default for IdOrder<I> {
    fn default() -> Self {
        IdOrder {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<I: Copy> IdOrder<I> {
    /// How many indices it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finds an index by comparing items with the one sought: `cmp(i)` is
    /// how `i`'s id compares to the id sought. `Err` is where it would go.
    pub fn search(&self, mut cmp: impl FnMut(I) -> Ordering) -> Result<Place, Place> {
        // The first chunk whose last id is not below the one sought.
        let chunk = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|last| cmp(*last) == Ordering::Less));
        let Some(c) = self.chunks.get(chunk) else {
            // Past every id: after the last index of the last chunk.
            return Err(match self.chunks.last() {
                Some(last) => Place {
                    chunk: self.chunks.len() - 1,
                    at: last.len(),
                },
                None => Place { chunk: 0, at: 0 },
            });
        };
        c.binary_search_by(|i| cmp(*i))
            .map(|at| Place { chunk, at })
            .map_err(|at| Place { chunk, at })
    }

    /// The last index, if any.
    pub fn last(&self) -> Option<I> {
        self.chunks.last()?.last().copied()
    }

    /// The index at `place`, as [`search`](Self::search) found it.
    pub fn get(&self, place: Place) -> Option<I> {
        self.chunks.get(place.chunk)?.get(place.at).copied()
    }

    /// Puts `ix` at `place`, as an `Err` of [`search`](Self::search) gave it.
    pub fn insert(&mut self, place: Place, ix: I) {
        let last = self.chunks.len().saturating_sub(1);
        let Some(chunk) = self.chunks.get_mut(place.chunk) else {
            self.push(ix);
            return;
        };
        if place.chunk == last && place.at >= chunk.len() {
            // Ids that come in ascending order (a load) fill whole chunks.
            self.push(ix);
            return;
        }
        let chunk = Arc::make_mut(chunk);
        chunk.insert(place.at.min(chunk.len()), ix);
        self.len += 1;
        if chunk.len() > MAX_CHUNK {
            let tail = chunk.split_off(chunk.len() / 2);
            chunk.shrink_to_fit();
            self.chunks.insert(place.chunk + 1, Arc::new(tail));
        }
    }

    /// Takes out the index at `place`, as an `Ok` of
    /// [`search`](Self::search) gave it.
    pub fn remove(&mut self, place: Place) -> Option<I> {
        let chunk = self.chunks.get_mut(place.chunk)?;
        if place.at >= chunk.len() {
            return None;
        }
        let ix = Arc::make_mut(chunk).remove(place.at);
        if chunk.is_empty() {
            self.chunks.remove(place.chunk);
        }
        self.len -= 1;
        Some(ix)
    }

    /// Adds `ix` after every index held: the caller knows its id is the
    /// greatest (as when a sorted file is loaded).
    pub fn push(&mut self, ix: I) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < MAX_CHUNK => Arc::make_mut(last).push(ix),
            _ => {
                // A short order (most of the search index's lists) grows
                // its one chunk as needed; a long one takes whole chunks.
                let mut chunk = match self.chunks.is_empty() {
                    true => Vec::new(),
                    false => Vec::with_capacity(MAX_CHUNK),
                };
                chunk.push(ix);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Every index, in id order.
    pub fn iter(&self) -> Iter<'_, I> {
        Iter {
            chunks: self.chunks.iter(),
            current: [].iter(),
            left: self.len,
        }
    }

    /// Whether `other` holds the very chunk at `chunk` (not a copy of it).
    #[cfg(test)]
    pub(crate) fn shares_chunk(&self, other: &IdOrder<I>, chunk: usize) -> bool {
        match (self.chunks.get(chunk), other.chunks.get(chunk)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl<I: Copy> FromIterator<I> for IdOrder<I> {
    /// The order of indices given already in id order.
    fn from_iter<T: IntoIterator<Item = I>>(iter: T) -> Self {
        // Cut from one vector rather than pushed: a load adds tens of
        // millions of indices, and a push into an `Arc` checks its count.
        let all: Vec<I> = iter.into_iter().collect();
        IdOrder {
            chunks: all
                .chunks(MAX_CHUNK)
                .map(|chunk| Arc::new(chunk.to_vec()))
                .collect(),
            len: all.len(),
        }
    }
}

/// The indices of an [`IdOrder`], in id order.
pub struct Iter<'a, I> {
    chunks: std::slice::Iter<'a, Arc<Vec<I>>>,
    current: std::slice::Iter<'a, I>,
    left: usize,
}

impl<I: Copy> Iterator for Iter<'_, I> {
    type Item = I;

    fn next(&mut self) -> Option<I> {
        loop {
            if let Some(ix) = self.current.next() {
                self.left -= 1;
                return Some(*ix);
            }
            self.current = self.chunks.next()?.iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I: Copy> ExactSizeIterator for Iter<'_, I> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn find(order: &IdOrder<u32>, x: u32) -> Result<Place, Place> {
        order.search(|i| i.cmp(&x))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any inserts and removes leave the same order as a sorted `Vec`
        /// given the same, and every search finds what the `Vec` finds.
        #[test]
        fn behaves_as_a_sorted_vec(ops in prop::collection::vec((any::<bool>(), 0u32..6000), 0..9000)) {
            let mut order = IdOrder::default();
            let mut model: Vec<u32> = Vec::new();
            let half = ops.len() / 2;
            let mut copy = None;
            for (step, (add, x)) in ops.into_iter().enumerate() {
                if step == half {
                    copy = Some((order.clone(), model.clone()));
                }
                match (add, find(&order, x)) {
                    (true, Err(place)) => {
                        order.insert(place, x);
                        let at = model.binary_search(&x).unwrap_err();
                        model.insert(at, x);
                    }
                    (false, Ok(place)) => {
                        prop_assert_eq!(order.get(place), Some(x));
                        prop_assert_eq!(order.remove(place), Some(x));
                        model.retain(|m| *m != x);
                    }
                    (true, Ok(_)) | (false, Err(_)) => {
                        prop_assert_eq!(model.binary_search(&x).is_ok(), add);
                    }
                }
            }
            prop_assert_eq!(order.len(), model.len());
            prop_assert_eq!(order.iter().len(), model.len());
            prop_assert_eq!(order.iter().collect::<Vec<_>>(), model.clone());
            prop_assert!(order.chunks.iter().all(|c| !c.is_empty() && c.len() <= MAX_CHUNK));
            // A copy shares chunks with the original, yet later writes to
            // the original never show in it.
            if let Some((copy, then)) = copy {
                prop_assert_eq!(copy.iter().collect::<Vec<_>>(), then);
            }
        }
    }

    #[test]
    fn built_from_sorted_indices_and_searched_at_both_ends() {
        let order: IdOrder<u32> = (0..5000).map(|i| i * 2).collect();
        assert_eq!(order.len(), 5000);
        assert_eq!(order.chunks.len(), 3);
        assert_eq!(find(&order, 0).map(|p| order.get(p)), Ok(Some(0)));
        assert_eq!(find(&order, 9998).map(|p| order.get(p)), Ok(Some(9998)));
        let past = find(&order, 10_001).unwrap_err();
        let mut order = order;
        order.insert(past, 10_001);
        assert_eq!(order.iter().last(), Some(10_001));
        let before = find(&order, 1).unwrap_err();
        order.insert(before, 1);
        assert_eq!(order.iter().take(3).collect::<Vec<_>>(), [0, 1, 2]);
        let empty = IdOrder::<u32>::default();
        assert_eq!(find(&empty, 3), Err(Place { chunk: 0, at: 0 }));
        assert!(empty.is_empty() && empty.iter().next().is_none());
    }

    #[test]
    fn a_copy_shares_chunks_until_one_is_written() {
        let a: IdOrder<u32> = (0..5000).map(|i| i * 2).collect();
        let mut b = a.clone();
        assert!((0..3).all(|c| a.shares_chunk(&b, c)));
        let place = find(&b, 5000).unwrap();
        assert_eq!(b.remove(place), Some(5000));
        assert!(a.shares_chunk(&b, 0) && !a.shares_chunk(&b, 1) && a.shares_chunk(&b, 2));
        let place = find(&b, 9001).unwrap_err();
        b.insert(place, 9001);
        assert!(a.shares_chunk(&b, 0) && !a.shares_chunk(&b, 2));
        assert!(find(&a, 5000).is_ok() && find(&b, 5000).is_err());
        assert!(find(&a, 9001).is_err() && find(&b, 9001).is_ok());
        assert_eq!(a.len(), b.len());
    }
}
