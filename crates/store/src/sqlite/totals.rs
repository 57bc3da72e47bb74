//! Running totals: for each check, everything it recorded before the end of each minute in which
//! it ran (counts, latency sum, and the runs at or under each latency SLO threshold; percentiles
//! come from rollups). A window is the difference of the totals at its two
//! ends, so any window costs two index seeks per check, whatever its length: the 30-day
//! availability of every check, the burn rate of an SLO over 1 h or 3 d.
//!
//! Compaction writes the rows (one per minute with results, recomputed while the minute is
//! provisional). Retention keeps every row of the last `FINE` and the last row of each hour
//! before that, so a window that starts earlier than `FINE` ago is widened back to the start
//! of its hour; and one that starts before retention does counts from where retention starts.

use super::SqliteStore;
use crate::StoreError;
use crate::rollup::{self, HOUR, Summary};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::collections::HashMap;
use std::time::Duration;

/// How long every minute's totals are kept: a day (the longest short window of the burn-rate
/// alerts) plus an hour of slack.
pub const FINE: Duration = Duration::from_secs(25 * 3600);

const COLUMNS: &str = "total, ok, latency_sum_us, thresholds";

/// Reads `total, ok, latency_sum_us, thresholds` starting at column `first`.
fn summary(row: &SqliteRow, first: usize) -> Summary {
    let get = |i: usize| row.get::<i64, _>(first + i).max(0) as u64;
    Summary {
        total: get(0),
        ok: get(1),
        latency_sum_us: get(2),
        thresholds: rollup::decode_thresholds(row.get::<Option<&[u8]>, _>(first + 3)),
        ..Summary::default()
    }
}

/// The check's totals as of `at_s`: its latest row at or before it (nothing recorded: zeros).
pub(crate) async fn before(conn: &mut sqlx::SqliteConnection, id: i64, at_s: i64) -> Result<Summary, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM totals WHERE check_id = ? AND at_s <= ? ORDER BY at_s DESC LIMIT 1");
    // Built only from fixed text above.
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(at_s).fetch_optional(conn).await?;
    Ok(row.map(|row| summary(&row, 0)).unwrap_or_default())
}

pub(crate) async fn insert(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
    at_s: i64,
    s: &Summary,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO totals (check_id, at_s, total, ok, latency_sum_us, thresholds) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(at_s)
    .bind(s.total as i64)
    .bind(s.ok as i64)
    .bind(s.latency_sum_us as i64)
    .bind(rollup::encode_thresholds(&s.thresholds))
    .execute(conn)
    .await?;
    Ok(())
}

/// `[from, to)` in seconds, widened to whole minutes: every minute the window overlaps counts.
pub(crate) fn to_the_minute(from: jiff::Timestamp, to: jiff::Timestamp) -> (i64, i64) {
    (from.as_millisecond().div_euclid(60_000) * 60, (to.as_millisecond() + 59_999).div_euclid(60_000) * 60)
}

impl SqliteStore {
    /// Aggregates over `[from, to)` for every check (or one), to the minute: every minute that
    /// overlaps the window counts (the current one too, as far as it is compacted). A window
    /// starting more than `FINE` ago is widened back to the start of its hour.
    pub(crate) async fn summaries(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        only: Option<&str>,
    ) -> Result<HashMap<String, Summary>, StoreError> {
        let Some(filter) = self.filter(only) else {
            return Ok(HashMap::new());
        };
        let (start, end) = to_the_minute(from, to);
        let before = self.totals_at(start, filter).await?;
        let after = self.totals_at(end, filter).await?;
        let windows = after
            .into_iter()
            .map(|(id, total)| match before.get(&id) {
                Some(earlier) => (id, total.since(earlier)),
                None => (id, total),
            })
            .filter(|(_, window)| window.total > 0)
            .collect();
        Ok(self.named(windows))
    }

    /// Every check's (or one check's) running totals as of `at_s`.
    async fn totals_at(&self, at_s: i64, only: Option<i64>) -> Result<HashMap<i64, Summary>, StoreError> {
        // CROSS JOIN keeps check_names the outer loop: two seeks per check. Left to itself the
        // planner scans every totals row and runs the subquery for each.
        let sql = format!(
            "SELECT c.id, {} FROM check_names c CROSS JOIN totals t WHERE t.check_id = c.id
               AND t.at_s = (SELECT MAX(at_s) FROM totals WHERE check_id = c.id AND at_s <= ?) {}",
            COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", "),
            if only.is_some() { "AND c.id = ?" } else { "" }
        );
        // Built only from fixed text above.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at_s);
        if let Some(id) = only {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|row| (row.get(0), summary(row, 1))).collect())
    }

    /// Up to where an earlier prune thinned the totals: rows before it are one an hour already.
    pub(crate) async fn totals_thinned_until(&self) -> Result<i64, StoreError> {
        let value: Option<i64> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'totals_thinned_until'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.unwrap_or(0))
    }

    pub(crate) async fn set_totals_thinned_until(&self, at_s: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('totals_thinned_until', ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(at_s)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Thins one check's totals in `[since_s, fine_s)` (what an earlier prune has not thinned)
    /// to the last row of each hour; of those before `oldest_s` only the newest stays, moved to
    /// time 0 so that it is the baseline of every window that starts before retention does
    /// (such a window counts from there).
    pub(crate) async fn thin_totals(
        &self,
        id: i64,
        since_s: i64,
        fine_s: i64,
        oldest_s: i64,
    ) -> Result<u64, StoreError> {
        // From a whole hour before the mark, so the hour it cut through is regrouped whole.
        let since_s = since_s.div_euclid(HOUR) * HOUR - HOUR;
        let mut tx = self.pool.begin().await?;
        let thinned = sqlx::query(
            "DELETE FROM totals WHERE check_id = ?1 AND at_s >= ?2 AND at_s < ?3 AND at_s NOT IN
               (SELECT MAX(at_s) FROM totals WHERE check_id = ?1 AND at_s >= ?2 AND at_s < ?3 GROUP BY (at_s - 1) / 3600)",
        )
        .bind(id)
        .bind(since_s)
        .bind(fine_s)
        .execute(&mut *tx)
        .await?;
        let baseline: Option<i64> =
            sqlx::query_scalar("SELECT MAX(at_s) FROM totals WHERE check_id = ? AND at_s <= ? AND at_s > 0")
                .bind(id)
                .bind(oldest_s)
                .fetch_one(&mut *tx)
                .await?;
        let mut expired = 0;
        if let Some(baseline) = baseline {
            expired = sqlx::query("DELETE FROM totals WHERE check_id = ? AND at_s < ?")
                .bind(id)
                .bind(baseline)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE totals SET at_s = 0 WHERE check_id = ? AND at_s = ?")
                .bind(id)
                .bind(baseline)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(thinned.rows_affected() + expired)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::rollup::{HOUR, MINUTE};

    /// A rollup row as stores before migration 0008 wrote it: runs in 17 fixed buckets.
    async fn insert_old_rollup(conn: &mut sqlx::SqliteConnection, tier: i64, start: i64, runs: &[(bool, u64, usize)]) {
        let mut buckets = [0i64; 17];
        for &(_, _, b) in runs {
            buckets[b] += 1;
        }
        let columns = (0..17).map(|i| format!("b{i}")).collect::<Vec<_>>().join(", ");
        let values = buckets.map(|n| n.to_string()).join(", ");
        let ok = runs.iter().filter(|r| r.0).count();
        let sum: u64 = runs.iter().map(|r| r.1).sum();
        let max = runs.iter().map(|r| r.1).max().unwrap_or(0);
        let sql = format!(
            "INSERT INTO rollups (tier, start_s, check_id, total, ok, latency_sum_us, latency_max_us, {columns})
             VALUES ({tier}, {start}, 1, {}, {ok}, {sum}, {max}, {values})",
            runs.len()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await.unwrap();
    }

    /// A store written before running totals existed (migrations 1–3 only) gets them from its
    /// rollups when it is opened (hours up to the compacted point, minutes after it), and its
    /// fixed-bucket histograms become log-linear ones (each old bucket counts at its midpoint).
    #[tokio::test]
    async fn an_older_store_gets_totals_and_fine_histograms_from_its_rollups() {
        let dir = tempfile::tempdir().unwrap();
        let options =
            sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("upkeep.db")).create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut old = sqlx::migrate!("./migrations");
        old.migrations = std::borrow::Cow::Owned(old.migrations[..3].to_vec());
        old.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO check_names (id, name) VALUES (1, 'api')").execute(&pool).await.unwrap();
        let day = 20_000 * 86_400;
        let mut conn = pool.acquire().await.unwrap();
        // 3 ms passed (bucket 2–5 ms), 300 ms failed (200–500 ms); a minute: 7 ms (5–10 ms).
        let hour = [(true, 3_000, 3), (false, 300_000, 9)];
        let minute = [(true, 7_000, 4)];
        // Two compacted hours (and their minutes, which the backfill must not count twice), then
        // three minutes of the hour in progress.
        for h in 0..2 {
            insert_old_rollup(&mut conn, HOUR, day + h * HOUR, &hour).await;
            insert_old_rollup(&mut conn, MINUTE, day + h * HOUR, &hour).await;
        }
        for m in 0..3 {
            insert_old_rollup(&mut conn, MINUTE, day + 2 * HOUR + m * MINUTE, &minute).await;
        }
        sqlx::query("INSERT INTO meta (key, value) VALUES ('compacted_3600', ?)")
            .bind(day + 2 * HOUR)
            .execute(&pool)
            .await
            .unwrap();
        drop(conn);
        pool.close().await;

        let store = Store::open(dir.path()).await.unwrap();
        let at = |s: i64| jiff::Timestamp::from_second(s).unwrap();
        let all = store.summaries(at(day), at(day + 3 * HOUR), None).await.unwrap().remove("api").unwrap();
        assert_eq!((all.total, all.ok), (2 * 2 + 3, 2 + 3));
        let last_two_minutes = store
            .summaries(at(day + 2 * HOUR + MINUTE), at(day + 3 * HOUR), None)
            .await
            .unwrap()
            .remove("api")
            .unwrap();
        assert_eq!(last_two_minutes.total, 2);
        let hours = store.bars(HOUR, at(day), at(day + 2 * HOUR), None).await.unwrap().remove("api").unwrap();
        assert_eq!(hours.len(), 2);
        let ms = |q: f64| hours[0].1.quantile(q).unwrap().as_secs_f64() * 1e3;
        assert!((ms(0.5) - 3.5).abs() < 0.1 && (ms(1.0) - 300.0).abs() < 0.1, "{} {}", ms(0.5), ms(1.0));
        // Opened again, nothing is converted twice.
        drop(store);
        let store = Store::open(dir.path()).await.unwrap();
        let hours = store.bars(HOUR, at(day), at(day + 2 * HOUR), None).await.unwrap().remove("api").unwrap();
        assert_eq!(hours[0].1.histogram.count(), 2);
    }
}
