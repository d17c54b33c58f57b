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

/// Pages through `len` ordered items per the Relay spec: `after`/`before`
/// narrow the range, then `first` keeps its head or `last` its tail; with
/// neither, the first `limits.default_page_size` items, and never more
/// than `limits.max_page_size`. Cursors are opaque positions.
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
    let (default, max) = (limits.default_page_size, limits.max_page_size);
    let first = count("first", page.first, max)?;
    let last = count("last", page.last, max)?;
    let after = decode("after", page.after.as_ref(), len)?;
    let before = decode("before", page.before.as_ref(), len)?;
    let mut start = after.map_or(0, |a| a + 1).min(len);
    let mut end = before.map_or(len, |b| b.min(len)).max(start);
    let first = if first.is_none() && last.is_none() {
        Some(default)
    } else {
        first
    };
    if let Some(f) = first {
        end = end.min(start + f);
    }
    if let Some(l) = last {
        start = start.max(end.saturating_sub(l));
    }
    let mut conn =
        Connection::with_additional_fields(start > 0, end < len, TotalCount { total_count: len });
    conn.edges
        .extend((start..end).map(|i| Edge::new(OpaqueCursor(i), item(i))));
    Ok(conn)
}
