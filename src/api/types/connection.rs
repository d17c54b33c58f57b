//! Relay cursor connections over an ordered list, with `totalCount` and
//! the contract's page-size rules.

use crate::api::error::ApiError;
use crate::api::types::RelationObj;
use crate::api::Limits;
use async_graphql::connection::{Connection, CursorType, Edge, OpaqueCursor};
use async_graphql::Result;
use async_graphql::SimpleObject;

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// How many items the whole connection holds, across all pages.
    pub total_count: usize,
}

/// A connection of relations.
pub type RelationConnection = Connection<OpaqueCursor<usize>, RelationObj, TotalCount>;

/// The paging arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Items after this cursor.
    pub after: Option<String>,
    /// Items before this cursor.
    pub before: Option<String>,
    /// The first n of what remains.
    pub first: Option<i32>,
    /// The last n of what remains.
    pub last: Option<i32>,
}

impl Page {
    /// The paging arguments in the order a connection field declares them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Page {
        Page {
            after,
            before,
            first,
            last,
        }
    }

    /// A position no item of this page is at or past, whatever the length
    /// of the list, so that a list costly to order need only be ordered up
    /// to it: where the page would end in the longest list. `None` when the
    /// page may reach the end (`last` without `before`) or a count or
    /// cursor is invalid, which [`paginate`] then refuses.
    pub fn reach(&self, limits: &Limits) -> Option<usize> {
        let (_, end) = self.window(usize::MAX, limits).ok()?;
        (end < usize::MAX).then_some(end)
    }

    /// The positions `start..end` of this page in a list of `len` items,
    /// per the Relay spec: `after`/`before` narrow the range, then `first`
    /// keeps its head or `last` its tail; with neither, the first
    /// `limits.default_page_size` items, and never more than
    /// `limits.max_page_size`.
    fn window(&self, len: usize, limits: &Limits) -> Result<(usize, usize)> {
        let (default, max) = (limits.default_page_size, limits.max_page_size);
        let first = count("first", self.first, max)?;
        let last = count("last", self.last, max)?;
        let after = decode("after", self.after.as_ref(), len)?;
        let before = decode("before", self.before.as_ref(), len)?;
        let mut start = after.map_or(0, |a| a.saturating_add(1)).min(len);
        let mut end = before.map_or(len, |b| b.min(len)).max(start);
        let first = if first.is_none() && last.is_none() {
            Some(default)
        } else {
            first
        };
        if let Some(f) = first {
            end = end.min(start.saturating_add(f));
        }
        if let Some(l) = last {
            start = start.max(end.saturating_sub(l));
        }
        Ok((start, end))
    }
}

fn decode(name: &str, cursor: Option<&String>, len: usize) -> Result<Option<usize>> {
    cursor
        .map(|c| {
            OpaqueCursor::<usize>::decode_cursor(c)
                .ok()
                .map(|c| c.0)
                .filter(|i| *i < len)
                .ok_or_else(|| {
                    ApiError::BadInput(format!("`{name}` is not a cursor of this connection"))
                        .into()
                })
        })
        .transpose()
}

fn count(name: &str, n: Option<i32>, max: usize) -> Result<Option<usize>> {
    match n {
        None => Ok(None),
        Some(n) if n < 0 => {
            Err(ApiError::BadInput(format!("`{name}` must not be negative, got {n}")).into())
        }
        Some(n) if n as usize > max => {
            Err(ApiError::BadInput(format!("`{name}` must be at most {max}, got {n}")).into())
        }
        Some(n) => Ok(Some(n as usize)),
    }
}

/// Pages through `len` ordered items (see [`Page`] for the rules).
/// Cursors are opaque positions.
pub fn paginate<T, F>(
    len: usize,
    page: &Page,
    limits: &Limits,
    item: F,
) -> Result<Connection<OpaqueCursor<usize>, T, TotalCount>>
where
    T: async_graphql::OutputType,
    F: Fn(usize) -> T,
{
    let (start, end) = page.window(len, limits)?;
    let mut conn =
        Connection::with_additional_fields(start > 0, end < len, TotalCount { total_count: len });
    conn.edges
        .extend((start..end).map(|i| Edge::new(OpaqueCursor(i), item(i))));
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page of every list length ends at or before its reach.
    #[test]
    fn a_page_never_reaches_past_its_reach() {
        let limits = Limits {
            default_page_size: 4,
            ..Limits::default()
        };
        let cursor = |i: usize| Some(OpaqueCursor(i).encode_cursor());
        for len in 0..12 {
            for after in [None, Some(0), Some(3), Some(7)] {
                for before in [None, Some(2), Some(6), Some(11)] {
                    for (first, last) in [
                        (None, None),
                        (Some(3), None),
                        (None, Some(2)),
                        (Some(5), Some(2)),
                        (Some(0), None),
                    ] {
                        let page = Page {
                            after: after.and_then(cursor),
                            before: before.and_then(cursor),
                            first,
                            last,
                        };
                        let Ok(conn) = paginate(len, &page, &limits, |i| i as i32) else {
                            continue;
                        };
                        let end = conn.edges.iter().map(|e| e.node as usize + 1).max();
                        match (page.reach(&limits), end) {
                            (Some(reach), Some(end)) => assert!(end <= reach, "{page:?} at {len}"),
                            (None, _) => assert!(last.is_some() && before.is_none(), "{page:?}"),
                            (Some(_), None) => {}
                        }
                    }
                }
            }
        }
        let bad = Page {
            after: Some("not a cursor".into()),
            ..Page::default()
        };
        assert_eq!(bad.reach(&limits), None);
    }
}
