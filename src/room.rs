//! Room to grow in the large vectors of a graph.
//!
//! A vector full to its capacity moves every item to a new allocation twice
//! its size when one more is added. At a million entities that is some
//! 100 MB (the entity slots) or 500 MB (the relation slots) copied by the
//! first write after start-up, in each of the two copies of the graph,
//! with both allocations resident until the old one is returned. Capacity
//! left unused is never touched, so it costs address space, not memory.

/// A capacity for `n` items with room for an eighth more (and a few, for
/// small graphs) before the vector must move.
pub fn with_room(n: usize) -> usize {
    n.saturating_add(n / 8).saturating_add(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_an_eighth_more_and_never_overflows() {
        assert_eq!(with_room(0), 64);
        assert_eq!(with_room(8_000), 9_064);
        assert_eq!(with_room(usize::MAX), usize::MAX);
    }
}
