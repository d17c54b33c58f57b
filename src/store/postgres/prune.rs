//! Pruning the change log: the log is how instances follow each other,
//! not a history (a new instance starts from a snapshot of the tables and
//! reads the log only from there), so writes older than the retention are
//! deleted and `log_horizon` records how far. An instance that was cut off
//! for longer than that finds its next version gone and is told so
//! ([`StoreError::Pruned`]) instead of missing writes unnoticed.

use super::write::within;
use crate::store::StoreError;
use sqlx::PgPool;
use std::time::Duration;

/// The most versions deleted in one transaction, so that pruning a long
/// backlog is many short transactions, each within the exchange limit.
const VERSIONS_PER_ROUND: i64 = 10_000;

/// How often each instance prunes: a quarter of the retention, at least a
/// second and at most ten minutes apart.
pub(super) fn every(keep: Duration) -> Duration {
    (keep / 4).clamp(Duration::from_secs(1), Duration::from_secs(600))
}

/// Deletes the log's writes committed longer than `keep` ago, up to the
/// first one that is not, and moves the horizon past them. Returns the
/// number of versions deleted. Instances prune concurrently without harm:
/// one holds the horizon row and the others skip their round.
pub(super) async fn prune(
    pool: &PgPool,
    keep: Duration,
    timeout: Duration,
) -> Result<u64, StoreError> {
    let mut pruned = 0;
    loop {
        let round = prune_round(pool, keep, timeout).await?;
        pruned += round;
        if round < VERSIONS_PER_ROUND as u64 {
            return Ok(pruned);
        }
    }
}

/// One transaction of [`prune`].
async fn prune_round(pool: &PgPool, keep: Duration, timeout: Duration) -> Result<u64, StoreError> {
    let doing = "cannot prune the change log";
    let mut tx = within(timeout, doing, pool.begin()).await?;
    let horizon: Option<i64> = within(
        timeout,
        doing,
        sqlx::query_scalar("SELECT pruned_to FROM log_horizon FOR UPDATE SKIP LOCKED")
            .fetch_optional(&mut *tx),
    )
    .await?;
    let Some(horizon) = horizon else {
        // Another instance is pruning.
        return Ok(0);
    };
    // The log's order is the version's; the first write young enough to
    // keep ends the stretch to delete, found by walking the primary key
    // from the horizon over what is about to go anyway.
    let cut: Option<i64> = within(
        timeout,
        doing,
        sqlx::query_scalar(
            "SELECT coalesce( \
               (SELECT version - 1 FROM change_log \
                WHERE version > $1 AND committed_at >= now() - make_interval(secs => $2) \
                ORDER BY version LIMIT 1), \
               (SELECT max(version) FROM change_log))",
        )
        .bind(horizon)
        .bind(keep.as_secs_f64())
        .fetch_one(&mut *tx),
    )
    .await?;
    let cut = cut.unwrap_or(horizon).min(horizon + VERSIONS_PER_ROUND);
    if cut <= horizon {
        return Ok(0);
    }
    within(
        timeout,
        doing,
        sqlx::query("DELETE FROM change_log WHERE version > $1 AND version <= $2")
            .bind(horizon)
            .bind(cut)
            .execute(&mut *tx),
    )
    .await?;
    within(
        timeout,
        doing,
        sqlx::query("UPDATE log_horizon SET pruned_to = $1")
            .bind(cut)
            .execute(&mut *tx),
    )
    .await?;
    within(timeout, doing, tx.commit()).await?;
    Ok(u64::try_from(cut - horizon).unwrap_or(0))
}
