//! Compaction and retention: raw results roll up into minutes, minutes into hours, hours into
//! days; old rows go. Every step is idempotent and derived from the level below, so a crash at
//! any point is repaired by the next run, and the database does not grow without bound.

use super::{SqliteStore, totals};
use crate::histogram::Histogram;
use crate::rollup::{self, DAY, HOUR, MINUTE, Summary};
use crate::{Pruned, StoreError};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Checks compacted per transaction, so the writer is never blocked for long.
const CHUNK: usize = 200;

impl SqliteStore {
    /// Up to when each coarse tier has been compacted (Unix seconds); minutes are always current.
    pub(crate) async fn compacted_until(&self) -> Result<HashMap<i64, i64>, StoreError> {
        let rows =
            sqlx::query("SELECT key, value FROM meta WHERE key LIKE 'compacted_%'").fetch_all(&self.pool).await?;
        let mut out = HashMap::from([(HOUR, 0), (DAY, 0)]);
        for row in rows {
            let key: String = row.get(0);
            if let Some(tier) = key.strip_prefix("compacted_").and_then(|t| t.parse().ok()) {
                out.insert(tier, row.get(1));
            }
        }
        Ok(out)
    }

    /// Rolls results into minutes up to `now` and whole hours and days into their tiers.
    /// Minutes younger than `grace` (the slowest probe's timeout: a result is stamped with its
    /// start) stay provisional and are recomputed on the next run, so late results still count
    /// and the newest minutes are visible at once.
    pub(crate) async fn compact(&self, now: jiff::Timestamp, grace: Duration) -> Result<(), StoreError> {
        let now_s = now.as_second();
        let settled_s = (now_s - grace.as_secs() as i64).div_euclid(MINUTE) * MINUTE;
        let until_s = now_s.div_euclid(MINUTE) * MINUTE + MINUTE;
        self.compact_minutes(settled_s, until_s).await?;
        self.compact_tier(HOUR, MINUTE, settled_s).await?;
        self.compact_tier(DAY, HOUR, settled_s.div_euclid(HOUR) * HOUR).await?;
        Ok(())
    }

    /// Recomputes each check's minutes from where they were settled up to `until_s`, and marks
    /// everything before `settled_s` settled.
    async fn compact_minutes(&self, settled_s: i64, until_s: i64) -> Result<(), StoreError> {
        let rows = sqlx::query("SELECT check_id, rolled_up_to_s FROM check_state").fetch_all(&self.pool).await?;
        let pending: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let thresholds = self.thresholds_by_id();
        for chunk in pending.chunks(CHUNK) {
            let mut tx = self.pool.begin().await?;
            for &(id, from_s) in chunk {
                let raw = sqlx::query(
                    "SELECT at_ms, ok, latency_us FROM results WHERE check_id = ? AND at_ms >= ? AND at_ms < ?",
                )
                .bind(id)
                .bind(from_s * 1000)
                .bind(until_s * 1000)
                .fetch_all(&mut *tx)
                .await?;
                let tracked = thresholds.get(&id).map_or(&[][..], Vec::as_slice);
                let mut minutes: BTreeMap<i64, Summary> = BTreeMap::new();
                for row in raw {
                    let minute = row.get::<i64, _>(0).div_euclid(60_000) * 60;
                    let latency = Duration::from_micros(row.get::<i64, _>(2).max(0) as u64);
                    minutes.entry(minute).or_insert_with(|| Summary::tracking(tracked)).record(row.get(1), latency);
                }
                // Running totals go on from the last settled one; provisional ones are redone.
                // A threshold newly tracked starts counting here.
                let mut running = totals::before(&mut tx, id, from_s).await?;
                running.track_only(tracked);
                sqlx::query("DELETE FROM totals WHERE check_id = ? AND at_s > ?")
                    .bind(id)
                    .bind(from_s)
                    .execute(&mut *tx)
                    .await?;
                for (start, summary) in minutes {
                    insert_rollup(&mut tx, MINUTE, start, id, &summary).await?;
                    running.merge(&summary);
                    totals::insert(&mut tx, id, start + MINUTE, &running).await?;
                }
                sqlx::query("UPDATE check_state SET rolled_up_to_s = ? WHERE check_id = ?")
                    .bind(settled_s.max(from_s))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Sums `finer` rows into `tier` rows for every whole `tier` period before `until_s`.
    async fn compact_tier(&self, tier: i64, finer: i64, until_s: i64) -> Result<(), StoreError> {
        let end = until_s.div_euclid(tier) * tier;
        let key = format!("compacted_{tier}");
        let done: Option<i64> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = ?").bind(&key).fetch_optional(&self.pool).await?;
        let start = match done {
            Some(done) => done,
            None => {
                let first: Option<i64> = sqlx::query_scalar("SELECT MIN(start_s) FROM rollups WHERE tier = ?")
                    .bind(finer)
                    .fetch_one(&self.pool)
                    .await?;
                match first {
                    Some(first) => first.div_euclid(tier) * tier,
                    None => end,
                }
            }
        };
        if start < end {
            let ids: Vec<i64> = self.all_ids().into_iter().map(|(_, id)| id).collect();
            for chunk in ids.chunks(CHUNK) {
                let mut tx = self.pool.begin().await?;
                for &id in chunk {
                    let rows = rollup_rows(&mut tx, finer, start, end, id).await?;
                    let mut periods: BTreeMap<i64, Summary> = BTreeMap::new();
                    for (at, summary) in rows {
                        periods.entry(at.div_euclid(tier) * tier).or_default().merge(&summary);
                    }
                    for (at, summary) in periods {
                        insert_rollup(&mut tx, tier, at, id, &summary).await?;
                    }
                }
                tx.commit().await?;
            }
        }
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(&key)
        .bind(end.max(start))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes raw results older than `raw`, minute rollups older than `raw` plus a day, and
    /// hour and day rollups, transitions and pings older than `rollups`; thins running totals
    /// older than `totals::FINE` to one an hour; then returns the freed pages to the file system.
    pub(crate) async fn prune(
        &self,
        now: jiff::Timestamp,
        raw: Duration,
        rollups: Duration,
    ) -> Result<Pruned, StoreError> {
        let before = |keep: Duration| now.as_millisecond() - keep.as_millis().min(i64::MAX as u128) as i64;
        let (raw_ms, rollup_ms) = (before(raw), before(rollups));
        let mut pruned = Pruned::default();
        let fine_s = (now.as_millisecond() - totals::FINE.as_millis() as i64) / 1000;
        let thinned_s = self.totals_thinned_until().await?;
        for (_, id) in self.all_ids() {
            let done = sqlx::query("DELETE FROM results WHERE check_id = ? AND at_ms < ?")
                .bind(id)
                .bind(raw_ms)
                .execute(&self.pool)
                .await?;
            pruned.results += done.rows_affected();
            pruned.totals += self.thin_totals(id, thinned_s, fine_s, rollup_ms / 1000).await?;
        }
        self.set_totals_thinned_until(fine_s.max(thinned_s)).await?;
        let minute_cutoff = (raw_ms - DAY * 1000) / 1000;
        for (tier, cutoff) in [(MINUTE, minute_cutoff), (HOUR, rollup_ms / 1000), (DAY, rollup_ms / 1000)] {
            let done = sqlx::query("DELETE FROM rollups WHERE tier = ? AND start_s < ?")
                .bind(tier)
                .bind(cutoff)
                .execute(&self.pool)
                .await?;
            pruned.rollups += done.rows_affected();
        }
        sqlx::query("DELETE FROM transitions WHERE at_ms < ?").bind(rollup_ms).execute(&self.pool).await?;
        sqlx::query("DELETE FROM alert_events WHERE at_ms < ?").bind(rollup_ms).execute(&self.pool).await?;
        sqlx::query("DELETE FROM silences WHERE ends_ms < ?").bind(rollup_ms).execute(&self.pool).await?;
        sqlx::query("DELETE FROM outbox WHERE state != 'pending' AND created_ms < ?")
            .bind(rollup_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM task_runs WHERE started_ms < ?").bind(rollup_ms).execute(&self.pool).await?;
        sqlx::query("DELETE FROM audit WHERE at_ms < ?").bind(rollup_ms).execute(&self.pool).await?;
        sqlx::query("DELETE FROM commits WHERE last_ms < ?").bind(raw_ms).execute(&self.pool).await?;
        sqlx::query("DELETE FROM pings WHERE at_ms < ?").bind(rollup_ms).execute(&self.pool).await?;
        self.delete_expired_sessions(now).await?;
        sqlx::query("PRAGMA incremental_vacuum").execute(&self.pool).await?;
        Ok(pruned)
    }
}

pub(crate) async fn insert_rollup(
    tx: &mut sqlx::SqliteConnection,
    tier: i64,
    start: i64,
    id: i64,
    s: &Summary,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO rollups (tier, start_s, check_id, total, ok, latency_sum_us, latency_max_us, histogram, thresholds)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(tier)
    .bind(start)
    .bind(id)
    .bind(s.total as i64)
    .bind(s.ok as i64)
    .bind(s.latency_sum_us as i64)
    .bind(s.latency_max_us.unwrap_or(0) as i64)
    .bind(s.histogram.encode())
    .bind(rollup::encode_thresholds(&s.thresholds))
    .execute(tx)
    .await?;
    Ok(())
}

/// One check's rollup rows of `tier` with start in `[start, end)`, in time order.
pub(crate) async fn rollup_rows(
    conn: &mut sqlx::SqliteConnection,
    tier: i64,
    start: i64,
    end: i64,
    id: i64,
) -> Result<Vec<(i64, Summary)>, StoreError> {
    let rows = sqlx::query(
        // One check's rows: without statistics the planner may pick the primary key (tier,
        // start) and read every check's rows in the range.
        "SELECT start_s, total, ok, latency_sum_us, latency_max_us, histogram, thresholds FROM rollups
         INDEXED BY rollups_by_check WHERE check_id = ? AND tier = ? AND start_s >= ? AND start_s < ? ORDER BY start_s",
    )
    .bind(id)
    .bind(tier)
    .bind(start)
    .bind(end)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|row| (row.get(0), rollup_summary(row, 1))).collect())
}

/// Reads `total, ok, latency_sum_us, latency_max_us, histogram, thresholds` from column `first`.
pub(crate) fn rollup_summary(row: &sqlx::sqlite::SqliteRow, first: usize) -> Summary {
    let count = |i: usize| row.get::<i64, _>(first + i).max(0) as u64;
    Summary {
        total: count(0),
        ok: count(1),
        latency_sum_us: count(2),
        latency_max_us: Some(count(3)),
        histogram: Histogram::decode(row.get::<&[u8], _>(first + 4)),
        thresholds: rollup::decode_thresholds(row.get::<Option<&[u8]>, _>(first + 5)),
    }
}
