//! Data migrations SQL cannot express, run at open after the schema migrations. Each one is a
//! single transaction that ends by dropping what it converted, so a crash leaves it to do again
//! and a finished one is never redone.

use super::compact::insert_rollup;
use crate::StoreError;
use crate::histogram::{Histogram, index};
use crate::rollup::Summary;
use sqlx::Row;

/// Upper bounds (seconds) of the 17 fixed buckets rollups had before migration 0008.
const OLD_BUCKETS: [f64; 16] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Rollups from before migration 0008 into log-linear histograms: each old bucket's runs count
/// at its midpoint (the open-ended last one at the period's largest latency), so old history
/// keeps the precision it had and new history has the finer one.
pub(crate) async fn fine_histograms(pool: &sqlx::SqlitePool) -> Result<(), StoreError> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'rollups_0007'")
            .fetch_optional(pool)
            .await?;
    if exists.is_none() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let columns = (0..=OLD_BUCKETS.len()).map(|i| format!("b{i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT tier, start_s, check_id, total, ok, latency_sum_us, latency_max_us, {columns} FROM rollups_0007
         WHERE (tier, start_s, check_id) > (?, ?, ?) ORDER BY tier, start_s, check_id LIMIT 20000"
    );
    let mut after = (i64::MIN, i64::MIN, i64::MIN);
    loop {
        // Built only from fixed text above.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after.0)
            .bind(after.1)
            .bind(after.2)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1), last.get(2));
        for row in rows {
            let (tier, start, id) = (row.get(0), row.get(1), row.get(2));
            insert_rollup(&mut tx, tier, start, id, &converted(&row)).await?;
        }
    }
    sqlx::query("DROP TABLE rollups_0007").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn converted(row: &sqlx::sqlite::SqliteRow) -> Summary {
    let max_us = row.get::<i64, _>(6).max(0) as u64;
    let mut histogram = Histogram::default();
    for bucket in 0..=OLD_BUCKETS.len() {
        let n = row.get::<i64, _>(7 + bucket).max(0) as u64;
        // A midpoint above the period's largest latency would be wrong; the largest is not.
        histogram.add(index(old_midpoint_us(bucket, max_us).min(max_us)), n);
    }
    Summary {
        total: row.get::<i64, _>(3).max(0) as u64,
        ok: row.get::<i64, _>(4).max(0) as u64,
        latency_sum_us: row.get::<i64, _>(5).max(0) as u64,
        latency_max_us: Some(max_us),
        histogram,
        thresholds: Vec::new(),
    }
}

fn old_midpoint_us(bucket: usize, max_us: u64) -> u64 {
    match (bucket.checked_sub(1).map(|i| OLD_BUCKETS[i]), OLD_BUCKETS.get(bucket)) {
        (lower, Some(&upper)) => ((lower.unwrap_or(0.0) + upper) / 2.0 * 1e6) as u64,
        (_, None) => max_us.max((OLD_BUCKETS[OLD_BUCKETS.len() - 1] * 1e6) as u64),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn old_buckets_count_at_their_midpoints() {
        assert_eq!(super::old_midpoint_us(0, 0), 250);
        assert_eq!(super::old_midpoint_us(9, 0), 350_000);
        assert_eq!(super::old_midpoint_us(16, 90_000_000), 90_000_000);
        assert_eq!(super::old_midpoint_us(16, 0), 60_000_000);
    }
}
