//! Thirty-one days of history for many checks, as compaction and retention leave a store:
//! shared by the benches that read history (`window_query` here, `alert_eval` in the daemon).
//! Writing 30 days of raw results through `Store::write` would take hours, so one real result
//! per check goes through `Store::write` (so `check_names` holds every name), then synthetic rows
//! are inserted with sqlx: running totals for every minute of the last 25 hours and the last
//! minute of every hour before; rollups by day for the 30 days, by hour for the last day, by
//! minute for the last hour; and the `meta` rows `compacted_3600` / `compacted_86400`.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};
use upkeep_result::Status;
use upkeep_store::histogram::index;
use upkeep_store::rollup::{DAY, HOUR, MINUTE, Summary};
use upkeep_store::{CheckResult, Store};

/// Seconds between runs of every check, synthetic and real.
pub const EVERY_S: i64 = 10;
/// The daemon's compaction grace with a 5-s timeout: results younger than this stay provisional.
pub const GRACE: Duration = Duration::from_secs(65);

/// What was built.
pub struct Bulk {
    /// A second connection to the store's file.
    pub pool: sqlx::SqlitePool,
    pub total_rows: u64,
    pub rollup_rows: u64,
    pub insert_time: Duration,
    pub db_bytes: u64,
}

/// splitmix64: a small, stable pseudo-random sequence from a seed.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The rollup row compaction would have written for `check` over `[start, start + tier)` with a
/// run every 10 s: latencies of 1–50 ms spread over a few dozen buckets, a failure now and then, and
/// one check in fifty noticeably flaky.
pub fn synthetic(tier: i64, start: i64, check: usize) -> Summary {
    let total = (tier / EVERY_S) as u64;
    let seed = mix(start as u64 ^ ((check as u64) << 40) ^ tier as u64);
    let fail_per_mille = if check.is_multiple_of(50) { 20 } else { 1 };
    // Expected failures, with the remainder decided by the seed so minute rows get some too.
    let expected = total * fail_per_mille;
    let failed = (expected / 1000 + u64::from(seed % 1000 < expected % 1000)).min(total);
    let mut s = Summary { total, ok: total - failed, ..Summary::default() };
    // Ranges (1 ms, 2 ms] .. (20 ms, 50 ms]; weights from the seed, most in the first two.
    const RANGES: [f64; 6] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05];
    let weights = [8 + (seed >> 8) % 8, 6 + (seed >> 16) % 6, 2 + (seed >> 24) % 3, 1, (seed >> 32) % 2];
    let sum: u64 = weights.iter().sum();
    let mut left = total;
    for (k, w) in weights.iter().enumerate() {
        let n = if k == weights.len() - 1 { left } else { (total * w / sum).min(left) };
        left -= n;
        let (lower, upper) = (RANGES[k], RANGES[k + 1]);
        // Four latencies across the range, as a real check's spread.
        for j in 0..4u64 {
            let us = ((lower + (upper - lower) * (j as f64 + 0.5) / 4.0) * 1e6) as u64;
            s.histogram.add(index(us), n / 4 + u64::from(j < n % 4));
        }
        s.latency_sum_us += (n as f64 * (lower + upper) / 2.0 * 1e6) as u64;
        if n > 0 {
            s.latency_max_us = Some(s.latency_max_us.unwrap_or(0).max((upper * 1e6) as u64 - (seed % 997)));
        }
    }
    s
}

const ROLLUP: &str =
    "INSERT OR REPLACE INTO rollups (tier, start_s, check_id, total, ok, latency_sum_us, latency_max_us, histogram)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

const TOTAL: &str = "INSERT OR REPLACE INTO totals (check_id, at_s, total, ok, latency_sum_us) VALUES (?, ?, ?, ?, ?)";

async fn insert_rollup(conn: &mut sqlx::SqliteConnection, tier: i64, start: i64, id: i64, s: &Summary) {
    sqlx::query(ROLLUP)
        .bind(tier)
        .bind(start)
        .bind(id)
        .bind(s.total as i64)
        .bind(s.ok as i64)
        .bind(s.latency_sum_us as i64)
        .bind(s.latency_max_us.unwrap_or(0) as i64)
        .bind(s.histogram.encode())
        .execute(conn)
        .await
        .expect("insert a rollup row");
}

async fn insert_total(conn: &mut sqlx::SqliteConnection, id: i64, at_s: i64, s: &Summary) {
    sqlx::query(TOTAL)
        .bind(id)
        .bind(at_s)
        .bind(s.total as i64)
        .bind(s.ok as i64)
        .bind(s.latency_sum_us as i64)
        .execute(conn)
        .await
        .expect("insert a totals row");
}

/// Builds 31 days of history for `names` in `store` (whose files are in `dir`), as of `now`.
pub async fn bulk(store: &Store, dir: &Path, names: &[String], now: jiff::Timestamp) -> Bulk {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    let now_s = now.as_second();
    let checks = names.len();
    let first_results: Vec<CheckResult> = names
        .iter()
        .map(|name| CheckResult {
            check: name.clone(),
            at: now - jiff::SignedDuration::from_secs(30),
            status: Status::Ok,
            latency: Duration::from_millis(3),
            message: None,
            observations: Default::default(),
        })
        .collect();
    store.write(&first_results).await.expect("Store::write of one result per check");

    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.join("upkeep.db"))
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10)),
        )
        .await
        .expect("a second connection to the store");
    let mut ids: Vec<i64> = Vec::with_capacity(checks);
    for name in names {
        ids.push(
            sqlx::query_scalar("SELECT id FROM check_names WHERE name = ?")
                .bind(name)
                .fetch_one(&pool)
                .await
                .expect("id"),
        );
    }

    // Where compaction and retention would stand now (see compact.rs and totals.rs).
    let settled = (now_s - GRACE.as_secs() as i64).div_euclid(MINUTE) * MINUTE;
    let hours_done = settled.div_euclid(HOUR) * HOUR;
    let days_done = hours_done.div_euclid(DAY) * DAY;
    let minute_now = now_s.div_euclid(MINUTE) * MINUTE;
    let fine_from = (now_s - upkeep_store::FINE_TOTALS.as_secs() as i64).div_euclid(HOUR) * HOUR;
    let history_from = (now_s - 31 * DAY).div_euclid(HOUR) * HOUR;
    let insert_start = Instant::now();
    let (mut rollup_rows, mut total_rows) = (0u64, 0u64);
    let mut tx = pool.begin().await.expect("a transaction");
    for (index, &id) in ids.iter().enumerate() {
        // Running totals: the last minute of each hour, then every minute of the last 25 hours.
        let mut running = Summary::default();
        let mut hour = history_from;
        while hour < fine_from {
            running.merge(&synthetic(HOUR, hour, index));
            insert_total(&mut tx, id, hour + HOUR, &running).await;
            total_rows += 1;
            hour += HOUR;
        }
        let mut minute = fine_from;
        while minute <= minute_now {
            running.merge(&synthetic(MINUTE, minute, index));
            insert_total(&mut tx, id, minute + MINUTE, &running).await;
            total_rows += 1;
            minute += MINUTE;
        }
        // Rollups, for bars: days of the last 30 days, hours of today, minutes of this hour.
        let spans = [
            (DAY, days_done - 30 * DAY, days_done),
            (HOUR, days_done, hours_done),
            (MINUTE, hours_done, minute_now + MINUTE),
        ];
        for (tier, begin, end) in spans {
            let mut start = begin;
            while start < end {
                insert_rollup(&mut tx, tier, start, id, &synthetic(tier, start, index)).await;
                rollup_rows += 1;
                start += tier;
            }
        }
        if index % 100 == 99 {
            tx.commit().await.expect("commit");
            tx = pool.begin().await.expect("a transaction");
        }
    }
    tx.commit().await.expect("commit");
    for (key, value) in [("compacted_3600", hours_done), ("compacted_86400", days_done)] {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&pool)
        .await
        .expect("meta");
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.expect("checkpoint");
    let insert_time = insert_start.elapsed();
    let db_bytes = std::fs::metadata(dir.join("upkeep.db")).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "bulk: {total_rows} totals and {rollup_rows} rollup rows in {:.1} s; store {:.1} MB",
        insert_time.as_secs_f64(),
        db_bytes as f64 / 1e6
    );
    Bulk { pool, total_rows, rollup_rows, insert_time, db_bytes }
}
