//! Window queries over 30 days of history for 1,000 checks: what `/api/v1/checks/{name}`, the
//! dashboard and SLO-style reports ask the store for.
//!
//! ```text
//! cargo bench -p upkeep-store --bench window_query
//! RESULTS_MD=bench/results-daemon.md cargo bench -p upkeep-store --bench window_query   # also write the report
//! ```
//!
//! Writing 30 days of raw results through `Store::write` would take hours, so the store is built
//! in two parts:
//! 1. The real path, through the API: a day of results every 10 s for a few checks
//!    (`Store::write` in batches, as the daemon's writer does), then `Store::compact`; the
//!    summaries and bars read back must agree with the raw results (asserted).
//! 2. The bulk: one real result per synthetic check through `Store::write` (so `check_names`
//!    holds every name and the store's id cache knows them), then synthetic rollup rows inserted
//!    with sqlx as compaction would leave them after 30 days: day rows for 30 full days, hour
//!    rows for the partial days at both edges, minute rows for the partial hours, and the
//!    `meta` rows `compacted_3600` / `compacted_86400`.
//!    With `WINDOW_QUERY_FULL=1`, also hour rows for every hour of the 30 days and minute rows for
//!    the last `raw` + 1 day (`WINDOW_QUERY_FULL_MINUTE_DAYS`, 8), which is what a store really
//!    holds (hour rollups are kept 400 days, minutes 8): the same rows are read, from a larger
//!    file. Inserting 8 days of minutes for 1,000 checks (11.5 M rows) takes about ten minutes.
//!
//! Then, over `WINDOW_QUERY_ITERATIONS` (50) timed iterations after a warm-up: `summaries(now - 30d,
//! now, None)` plus `availability()` and `quantile(0.95)` of every check (target < 50 ms at the
//! median and p99), a single check's `summaries`, `bars(86400, now - 90d, now, Some(name))`, and,
//! for context, what the dashboard overview and the API's check page load.
//!
//! Then the same ranges asked three ways through a plain sqlx pool (the store's statement, a bare
//! count, and one statement summing per check in SQL), to show where the time goes.
//!
//! Tunables: `WINDOW_QUERY_CHECKS` (1000), `WINDOW_QUERY_ITERATIONS` (50), `WINDOW_QUERY_FULL` (0),
//! `WINDOW_QUERY_FULL_MINUTE_DAYS` (8), `RESULTS_MD` (a markdown file whose `window_query` section
//! (or `window_query-full` with `WINDOW_QUERY_FULL=1`) is replaced by the report).

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};
use upkeep_store::rollup::{self, BUCKETS, COUNTERS, DAY, HOUR, MINUTE, Summary};
use upkeep_store::{ResultRecord, Store};

/// Seconds between runs of every check, synthetic and real.
const EVERY_S: i64 = 10;
/// The daemon's compaction grace with a 5-s timeout: results younger than this stay provisional.
const GRACE: Duration = Duration::from_secs(65);
const REAL_CHECKS: usize = 3;
const TARGET_MS: f64 = 50.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

/// splitmix64: a small, stable pseudo-random sequence from a seed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The rollup row compaction would have written for `check` over `[start, start + tier)` with a
/// run every 10 s: latencies of 1–50 ms spread over a few buckets, a failure now and then, and
/// one check in fifty noticeably flaky.
fn synthetic(tier: i64, start: i64, check: usize) -> Summary {
    let total = (tier / EVERY_S) as u64;
    let seed = mix(start as u64 ^ ((check as u64) << 40) ^ tier as u64);
    let fail_per_mille = if check.is_multiple_of(50) { 20 } else { 1 };
    // Expected failures, with the remainder decided by the seed so minute rows get some too.
    let expected = total * fail_per_mille;
    let failed = (expected / 1000 + u64::from(seed % 1000 < expected % 1000)).min(total);
    let mut s = Summary { total, ok: total - failed, ..Summary::default() };
    // Buckets 2..=6 are (1 ms, 2 ms] .. (20 ms, 50 ms]; weights from the seed, most in 2 and 3.
    let weights = [8 + (seed >> 8) % 8, 6 + (seed >> 16) % 6, 2 + (seed >> 24) % 3, 1, (seed >> 32) % 2];
    let sum: u64 = weights.iter().sum();
    let mut left = total;
    for (k, w) in weights.iter().enumerate() {
        let n = if k == weights.len() - 1 { left } else { (total * w / sum).min(left) };
        left -= n;
        let bucket = 2 + k;
        s.histogram[bucket] = n;
        let (lower, upper) = (BUCKETS[bucket - 1], BUCKETS[bucket]);
        s.latency_sum_us += (n as f64 * (lower + upper) / 2.0 * 1e6) as u64;
        if n > 0 {
            s.latency_max_us = s.latency_max_us.max((upper * 1e6) as u64 - (seed % 997));
        }
    }
    s
}

const INSERT: &str =
    "INSERT OR REPLACE INTO rollups (tier, start_s, check_id, total, ok, latency_sum_us, latency_max_us,
    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

struct Timing {
    label: String,
    samples: Vec<Duration>,
}

impl Timing {
    fn sorted(&self) -> Vec<f64> {
        let mut ms: Vec<f64> = self.samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        ms
    }
    /// Nearest rank: with 50 samples, p99 is the slowest.
    fn quantile(&self, q: f64) -> f64 {
        let ms = self.sorted();
        let rank = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
        ms[rank - 1]
    }
    fn median(&self) -> f64 {
        let ms = self.sorted();
        let n = ms.len();
        if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 }
    }
}

async fn time<F, Fut>(label: &str, warmup: usize, iterations: usize, mut f: F) -> Timing
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        f().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        f().await;
        samples.push(start.elapsed());
    }
    Timing { label: label.to_string(), samples }
}

/// The same statement `Store::rollup_rows` runs (crates/store/src/results.rs), for EXPLAIN.
fn rollup_rows_sql(one_check: bool) -> String {
    format!(
        "SELECT check_id, start_s AS period, SUM(total), SUM(ok), SUM(latency_sum_us), MAX(latency_max_us), {} FROM rollups
         WHERE tier = ? AND start_s >= ? AND start_s < ? {} GROUP BY check_id, period",
        (0..COUNTERS).map(|i| format!("SUM(b{i})")).collect::<Vec<_>>().join(", "),
        if one_check { "AND check_id = ?" } else { "" }
    )
}

async fn query_plan(pool: &SqlitePool, one_check: bool) -> String {
    let sql = format!("EXPLAIN QUERY PLAN {}", rollup_rows_sql(one_check));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(DAY).bind(0i64).bind(i64::MAX);
    if one_check {
        query = query.bind(1i64);
    }
    match query.fetch_all(pool).await {
        Ok(rows) => rows.iter().map(|r| r.get::<String, _>(3)).collect::<Vec<_>>().join("; "),
        Err(e) => format!("(EXPLAIN failed: {e})"),
    }
}

async fn run() {
    let checks = env_usize("WINDOW_QUERY_CHECKS", 1000);
    let iterations = env_usize("WINDOW_QUERY_ITERATIONS", 50).max(1);
    let full = env_usize("WINDOW_QUERY_FULL", 0) == 1;
    let full_minute_days = env_usize("WINDOW_QUERY_FULL_MINUTE_DAYS", 8) as i64;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).await.expect("Store::open");
    let now = jiff::Timestamp::now();
    let now_s = now.as_second();
    let days = |n: i64| jiff::SignedDuration::from_secs(n * DAY);
    let mut notes: Vec<String> = Vec::new();

    // ------------------------------------------------------------ 1. the real path
    let real_names: Vec<String> = (0..REAL_CHECKS).map(|i| format!("real-{i}")).collect();
    let day_ago = now - days(1);
    let mut raw_latencies: Vec<Vec<u64>> = vec![Vec::new(); REAL_CHECKS];
    let mut raw_ok = [0u64; REAL_CHECKS];
    let mut batch = Vec::with_capacity(2000);
    let mut written = 0usize;
    let write_start = Instant::now();
    for k in 0..(DAY / EVERY_S) {
        let at = day_ago + jiff::SignedDuration::from_secs(k * EVERY_S);
        for (i, name) in real_names.iter().enumerate() {
            let r = mix((k as u64) << 8 | i as u64);
            let latency_us = 500 + r % 30_000 + if r.is_multiple_of(97) { 400_000 } else { 0 };
            // real-1 fails 3 runs in 99, three in a row (so there are transitions too).
            let ok = !(i == 1 && (k / 3) % 33 == 0);
            raw_latencies[i].push(latency_us);
            raw_ok[i] += u64::from(ok);
            batch.push(ResultRecord {
                check: name.clone(),
                at,
                ok,
                latency: Duration::from_micros(latency_us),
                message: (!ok).then(|| "HTTP 503".to_string()),
                observations: None,
            });
            if batch.len() == 2000 {
                store.write(&batch).await.expect("Store::write");
                written += batch.len();
                batch.clear();
            }
        }
    }
    store.write(&batch).await.expect("Store::write");
    written += batch.len();
    batch.clear();
    let write_time = write_start.elapsed();
    let compact_start = Instant::now();
    store.compact(now, GRACE).await.expect("Store::compact");
    let compact_time = compact_start.elapsed();
    for (i, name) in real_names.iter().enumerate() {
        let summary =
            store.summaries(day_ago, now, Some(name)).await.expect("summaries").remove(name).unwrap_or_default();
        let n = raw_latencies[i].len() as u64;
        assert_eq!(summary.total, n, "{name}: total from rollups vs raw results");
        assert_eq!(summary.ok, raw_ok[i], "{name}: ok from rollups vs raw results");
        let mut sorted = raw_latencies[i].clone();
        sorted.sort_unstable();
        let exact = sorted[((0.95 * n as f64).ceil() as usize).clamp(1, sorted.len()) - 1] as f64 / 1e6;
        let estimated = summary.quantile(0.95).expect("a p95").as_secs_f64();
        // Same bucket (or the next, when the interpolation lands on a bound).
        assert!(
            rollup::bucket(exact).abs_diff(rollup::bucket(estimated)) <= 1,
            "{name}: p95 {exact} s vs {estimated} s"
        );
        let bars =
            store.bars(DAY, now - days(90), now, Some(name)).await.expect("bars").remove(name).unwrap_or_default();
        let bar_total: u64 = bars.iter().map(|(_, s)| s.total).sum();
        assert_eq!(bar_total, n, "{name}: day bars vs raw results");
        if i == 1 {
            notes.push(format!(
                "real path: {name} availability {:.4} (raw {:.4}), p95 {:.1} ms (raw {:.1} ms)",
                summary.availability().unwrap_or(0.0),
                raw_ok[i] as f64 / n as f64,
                estimated * 1e3,
                exact * 1e3
            ));
        }
    }
    eprintln!(
        "real path: {written} results through Store::write in {:.2} s ({:.0}/s), compact {:.2} s; summaries and bars agree",
        write_time.as_secs_f64(),
        written as f64 / write_time.as_secs_f64(),
        compact_time.as_secs_f64()
    );

    // ------------------------------------------------------------ 2. the bulk: 30 days, `checks` checks
    let names: Vec<String> = (0..checks).map(|i| format!("c-{i:04}")).collect();
    let first_results: Vec<ResultRecord> = names
        .iter()
        .map(|name| ResultRecord {
            check: name.clone(),
            at: now - jiff::SignedDuration::from_secs(30),
            ok: true,
            latency: Duration::from_millis(3),
            message: None,
            observations: None,
        })
        .collect();
    store.write(&first_results).await.expect("Store::write of one result per check");

    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.path().join("upkeep.db"))
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10)),
        )
        .await
        .expect("a second connection to the store");
    let mut ids: Vec<i64> = Vec::with_capacity(checks);
    for name in &names {
        ids.push(
            sqlx::query_scalar("SELECT id FROM check_names WHERE name = ?")
                .bind(name)
                .fetch_one(&pool)
                .await
                .expect("id"),
        );
    }

    // Where compaction would stand now (see compact.rs): minutes settled up to now - grace, hours
    // compacted up to that hour, days up to that day.
    let settled = (now_s - GRACE.as_secs() as i64).div_euclid(MINUTE) * MINUTE;
    let hours_done = settled.div_euclid(HOUR) * HOUR;
    let days_done = hours_done.div_euclid(DAY) * DAY;
    let from_s = now_s - 30 * DAY;
    let first_day = days_done - 30 * DAY; // day rows: 30 full days before `days_done`
    let start_day = from_s.div_euclid(DAY) * DAY; // the partial day at the start
    let start_hour = from_s.div_euclid(HOUR) * HOUR; // the partial hour at the start
    let mut spans: Vec<(i64, i64, i64)> = vec![
        (DAY, first_day, days_done),
        // Hours of the partial days at both edges (whole days, as compaction leaves them).
        (HOUR, start_day, start_day + DAY),
        (HOUR, days_done, hours_done),
        // Minutes of the partial hours at both edges, up to the current minute.
        (MINUTE, start_hour, start_hour + HOUR),
        (MINUTE, hours_done, now_s.div_euclid(MINUTE) * MINUTE + MINUTE),
    ];
    if full {
        spans.push((HOUR, start_day + DAY, days_done));
        spans.push((MINUTE, hours_done - full_minute_days * DAY, hours_done));
    }
    let insert_start = Instant::now();
    let mut inserted = 0u64;
    let mut seen: std::collections::HashSet<(i64, i64)> = std::collections::HashSet::new();
    for &(tier, begin, end) in &spans {
        let mut tx = pool.begin().await.expect("a transaction");
        let mut start = begin;
        while start < end {
            if seen.insert((tier, start)) {
                for (index, &id) in ids.iter().enumerate() {
                    let s = synthetic(tier, start, index);
                    let mut query = sqlx::query(INSERT)
                        .bind(tier)
                        .bind(start)
                        .bind(id)
                        .bind(s.total as i64)
                        .bind(s.ok as i64)
                        .bind(s.latency_sum_us as i64)
                        .bind(s.latency_max_us as i64);
                    for n in s.histogram {
                        query = query.bind(n as i64);
                    }
                    query.execute(&mut *tx).await.expect("insert a rollup row");
                    inserted += 1;
                }
            }
            start += tier;
        }
        tx.commit().await.expect("commit");
    }
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
    sqlx::query("ANALYZE").execute(&pool).await.ok();
    let insert_time = insert_start.elapsed();
    let db_bytes = std::fs::metadata(dir.path().join("upkeep.db")).map(|m| m.len()).unwrap_or(0);
    let tier_rows: Vec<(i64, i64)> = sqlx::query_as("SELECT tier, COUNT(*) FROM rollups GROUP BY tier ORDER BY tier")
        .fetch_all(&pool)
        .await
        .expect("row counts");
    eprintln!(
        "bulk: {inserted} synthetic rollup rows in {:.1} s; store {:.1} MB; rows per tier {tier_rows:?}",
        insert_time.as_secs_f64(),
        db_bytes as f64 / 1e6
    );
    // `ANALYZE` gives the planner statistics, as a long-running store that ran `PRAGMA optimize`
    // would have; the store itself never runs it. Note which plan is used either way.
    let plan_all = query_plan(&pool, false).await;
    let plan_one = query_plan(&pool, true).await;

    // Rows the window reads: the ranges `Store::summaries` covers, counted. (`store` becomes a
    // reference further down; this is the owned one.)
    let complete = store.compacted_until().await.expect("compacted_until");
    let from = now - days(30);
    let ranges = rollup::cover(from.as_second(), now_s, |tier| complete.get(&tier).copied().unwrap_or(i64::MAX));
    let probe = &names[checks / 2];
    let probe_id = ids[checks / 2];
    let mut scanned: Vec<(i64, i64, i64, i64, i64)> = Vec::new(); // tier, start, end, rows, rows of one check
    for &(tier, start, end) in &ranges {
        let all: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM rollups WHERE tier = ? AND start_s >= ? AND start_s < ?")
                .bind(tier)
                .bind(start)
                .bind(end)
                .fetch_one(&pool)
                .await
                .expect("count");
        let one: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rollups WHERE tier = ? AND start_s >= ? AND start_s < ? AND check_id = ?",
        )
        .bind(tier)
        .bind(start)
        .bind(end)
        .bind(probe_id)
        .fetch_one(&pool)
        .await
        .expect("count");
        scanned.push((tier, start, end, all, one));
    }
    let rows_all: i64 = scanned.iter().map(|r| r.3).sum();
    let rows_one: i64 = scanned.iter().map(|r| r.4).sum();

    // Sanity: every check has a 30-day summary with about 30 days of runs.
    let summaries = store.summaries(from, now, None).await.expect("summaries");
    let expected_runs = 30 * DAY / EVERY_S;
    let short: Vec<&String> = names
        .iter()
        .filter(|n| summaries.get(*n).is_none_or(|s| s.total.abs_diff(expected_runs as u64) > (HOUR / EVERY_S) as u64))
        .collect();
    assert!(short.is_empty(), "{} checks lack about 30 days of runs, e.g. {:?}", short.len(), short.first());
    let sample = &summaries[probe];
    notes.push(format!(
        "{probe}: {} runs in the window, availability {:.5}, p95 {:.2} ms",
        sample.total,
        sample.availability().unwrap_or(0.0),
        sample.quantile(0.95).unwrap_or_default().as_secs_f64() * 1e3
    ));

    // ------------------------------------------------------------ 3. timings
    let warmup = 3;
    let (store, probe) = (&store, probe.as_str());
    let parts = std::cell::RefCell::new((Vec::new(), Vec::new())); // (query, compute) per iteration
    let parts_ref = &parts;
    let all = time(
        "`summaries(now − 30d, now, None)` + `availability()` + `quantile(0.95)` for every check",
        warmup,
        iterations,
        move || async move {
            let start = Instant::now();
            let map = store.summaries(from, now, None).await.expect("summaries");
            let queried = Instant::now();
            let mut acc = 0.0;
            for summary in map.values() {
                acc += summary.availability().unwrap_or(0.0);
                acc += summary.quantile(0.95).map_or(0.0, |d| d.as_secs_f64());
            }
            black_box(acc);
            let mut parts = parts_ref.borrow_mut();
            parts.0.push(queried - start);
            parts.1.push(queried.elapsed());
        },
    )
    .await;
    // The warm-up iterations pushed too; keep the timed ones.
    let (mut query_samples, mut compute_samples) = parts.into_inner();
    let query_part = Timing { label: "of which `summaries`".into(), samples: query_samples.split_off(warmup) };
    let compute_part = Timing {
        label: "of which `availability()` + `quantile(0.95)` of every check".into(),
        samples: compute_samples.split_off(warmup),
    };
    let one = time("one check: `summaries(now − 30d, now, Some(name))`", warmup, iterations, move || async move {
        black_box(store.summaries(from, now, Some(probe)).await.expect("summaries"));
    })
    .await;
    let one_bars =
        time("one check: `bars(86400, now − 90d, now, Some(name))`", warmup, iterations, move || async move {
            black_box(store.bars(DAY, now - days(90), now, Some(probe)).await.expect("bars"));
        })
        .await;
    let api_page =
        time("API check page: `summaries` over 24h, 7d, 30d for one check", warmup, iterations, move || async move {
            for d in [1, 7, 30] {
                black_box(store.summaries(now - days(d), now, Some(probe)).await.expect("summaries"));
            }
        })
        .await;
    let all_bars = time("all checks: `bars(86400, now − 90d, now, None)`", warmup, iterations, move || async move {
        black_box(store.bars(DAY, now - days(90), now, None).await.expect("bars"));
    })
    .await;
    let overview = time(
        "dashboard overview's loads: `bars` 60 s × 1h, 3600 s × 24h, 86400 s × 90d, all checks",
        warmup,
        iterations.min(20),
        move || async move {
            black_box(store.bars(MINUTE, now - jiff::SignedDuration::from_secs(HOUR), now, None).await.expect("bars"));
            black_box(store.bars(HOUR, now - days(1), now, None).await.expect("bars"));
            black_box(store.bars(DAY, now - days(90), now, None).await.expect("bars"));
        },
    )
    .await;

    // ------------------------------------------------------------ diagnosis: where the window's time goes
    // The same ranges, asked three ways through a plain sqlx pool: (a) what `Store::summaries`
    // runs (one statement per range, a row per rollup row back to Rust), (b) only counting the
    // rows (SQLite's scan alone), (c) one statement that sums per check in SQL (1,000 rows back).
    let diag_iterations = iterations.min(20);
    let ranges_ref = &ranges;
    let pool_ref = &pool;
    let per_row = time(
        "(a) `rollup_rows`' statement per range, every row to Rust (what `summaries` does)",
        1,
        diag_iterations,
        move || async move {
            let mut n = 0;
            for &(tier, start, end) in ranges_ref {
                let rows = sqlx::query(sqlx::AssertSqlSafe(rollup_rows_sql(false)))
                    .bind(tier)
                    .bind(start)
                    .bind(end)
                    .fetch_all(pool_ref)
                    .await
                    .expect("rollup rows");
                n += rows.len();
            }
            black_box(n);
        },
    )
    .await;
    let count_only =
        time("(b) `SELECT COUNT(*)` per range (SQLite's scan only)", 1, diag_iterations, move || async move {
            for &(tier, start, end) in ranges_ref {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM rollups WHERE tier = ? AND start_s >= ? AND start_s < ?")
                        .bind(tier)
                        .bind(start)
                        .bind(end)
                        .fetch_one(pool_ref)
                        .await
                        .expect("count");
                black_box(n);
            }
        })
        .await;
    let sums = (0..COUNTERS).map(|i| format!("SUM(b{i})")).collect::<Vec<_>>().join(", ");
    let union = ranges
        .iter()
        .map(|_| "SELECT * FROM rollups WHERE tier = ? AND start_s >= ? AND start_s < ?")
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let grouped_sql = format!(
        "SELECT check_id, SUM(total), SUM(ok), SUM(latency_sum_us), MAX(latency_max_us), {sums} FROM ({union}) GROUP BY check_id"
    );
    let grouped_sql_ref = &grouped_sql;
    let grouped = time(
        "(c) one statement over all ranges, summed per check in SQL (1 row per check to Rust)",
        1,
        diag_iterations,
        move || async move {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(grouped_sql_ref.clone()));
            for &(tier, start, end) in ranges_ref {
                query = query.bind(tier).bind(start).bind(end);
            }
            let rows = query.fetch_all(pool_ref).await.expect("grouped");
            let mut acc = 0.0;
            for row in &rows {
                let mut summary = Summary {
                    total: row.get::<i64, _>(1) as u64,
                    ok: row.get::<i64, _>(2) as u64,
                    latency_sum_us: row.get::<i64, _>(3) as u64,
                    latency_max_us: row.get::<i64, _>(4) as u64,
                    histogram: [0; COUNTERS],
                };
                for (i, counter) in summary.histogram.iter_mut().enumerate() {
                    *counter = row.get::<i64, _>(5 + i) as u64;
                }
                acc += summary.availability().unwrap_or(0.0) + summary.quantile(0.95).map_or(0.0, |d| d.as_secs_f64());
            }
            black_box((rows.len(), acc));
        },
    )
    .await;
    // (d) As (c), over a window whose edges are whole hours (no minute rows: the start rounded
    // to its hour, the end at the last compacted hour), to show what the minute edges cost.
    let ceil_hour = |t: i64| t.div_euclid(HOUR) * HOUR + if t.rem_euclid(HOUR) == 0 { 0 } else { HOUR };
    let hour_ranges =
        rollup::cover(ceil_hour(from.as_second()), hours_done, |tier| complete.get(&tier).copied().unwrap_or(i64::MAX));
    let hour_rows: i64 = {
        let mut n = 0;
        for &(tier, start, end) in &hour_ranges {
            let c: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM rollups WHERE tier = ? AND start_s >= ? AND start_s < ?")
                    .bind(tier)
                    .bind(start)
                    .bind(end)
                    .fetch_one(&pool)
                    .await
                    .expect("count");
            n += c;
        }
        n
    };
    let hour_union = hour_ranges
        .iter()
        .map(|_| "SELECT * FROM rollups WHERE tier = ? AND start_s >= ? AND start_s < ?")
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let hour_sql = format!(
        "SELECT check_id, SUM(total), SUM(ok), SUM(latency_sum_us), MAX(latency_max_us), {sums} FROM ({hour_union}) GROUP BY check_id"
    );
    let (hour_sql_ref, hour_ranges_ref) = (&hour_sql, &hour_ranges);
    let hour_grouped = time(
        "(d) as (c), window edges rounded to whole hours (no minute rows)",
        1,
        diag_iterations,
        move || async move {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(hour_sql_ref.clone()));
            for &(tier, start, end) in hour_ranges_ref {
                query = query.bind(tier).bind(start).bind(end);
            }
            black_box(query.fetch_all(pool_ref).await.expect("grouped").len());
        },
    )
    .await;
    let hour_per_row = time(
        "(e) as (a), window edges rounded to whole hours (no minute rows)",
        1,
        diag_iterations,
        move || async move {
            let mut n = 0;
            for &(tier, start, end) in hour_ranges_ref {
                let rows = sqlx::query(sqlx::AssertSqlSafe(rollup_rows_sql(false)))
                    .bind(tier)
                    .bind(start)
                    .bind(end)
                    .fetch_all(pool_ref)
                    .await
                    .expect("rollup rows");
                n += rows.len();
            }
            black_box(n);
        },
    )
    .await;
    // (a) range by range: what each tier's statement costs per row.
    let mut per_range: Vec<(i64, i64, f64)> = Vec::new(); // tier, rows, median ms
    for &(tier, start, end) in &ranges {
        let rows_back = std::cell::Cell::new(0i64);
        let rows_back_ref = &rows_back;
        let t = time("range", 1, diag_iterations, move || async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(rollup_rows_sql(false)))
                .bind(tier)
                .bind(start)
                .bind(end)
                .fetch_all(pool_ref)
                .await
                .expect("rollup rows");
            rows_back_ref.set(rows.len() as i64);
        })
        .await;
        per_range.push((tier, rows_back.get(), t.median()));
    }
    let grouped_plan = {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {grouped_sql}")));
        for &(tier, start, end) in &ranges {
            query = query.bind(tier).bind(start).bind(end);
        }
        query
            .fetch_all(&pool)
            .await
            .map(|rows| rows.iter().map(|r| r.get::<String, _>(3)).collect::<Vec<_>>().join("; "))
            .unwrap_or_else(|e| format!("(EXPLAIN failed: {e})"))
    };

    // ------------------------------------------------------------ report
    let sqlite_version: String =
        sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&pool).await.unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(": ").nth(1)).map(str::to_string)
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## store window queries (`cargo bench -p upkeep-store --bench window_query`) — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Machine: {cores} cores, {cpu}; shared and noisy. SQLite {sqlite_version} (bundled by sqlx), release profile (`cargo bench`), tokio multi-thread runtime."
    );
    let _ = writeln!(
        md,
        "Store: {checks} checks × 30 days at one run every {EVERY_S} s: {} synthetic rollup rows ({}) + {REAL_CHECKS} checks with a real day of results ({written} through `Store::write` in {:.2} s = {:.0}/s; `compact` {:.2} s); {:.1} MB file; {}.",
        inserted,
        tier_rows
            .iter()
            .map(|(t, n)| format!(
                "{}: {n}",
                match *t {
                    MINUTE => "minute",
                    HOUR => "hour",
                    DAY => "day",
                    _ => "?",
                }
            ))
            .collect::<Vec<_>>()
            .join(", "),
        write_time.as_secs_f64(),
        written as f64 / write_time.as_secs_f64(),
        compact_time.as_secs_f64(),
        db_bytes as f64 / 1e6,
        if full {
            format!(
                "full layout: hour rows for all 30 days and minute rows for {full_minute_days} days (WINDOW_QUERY_FULL=1)"
            )
        } else {
            "lean layout: only the rows the window reads (day rows, hours and minutes at the edges)".to_string()
        },
    );
    let _ = writeln!(
        md,
        "Timed: {iterations} iterations after {warmup} warm-up ones (overview: {}); p99 is nearest-rank, i.e. the slowest of 50.",
        iterations.min(20)
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "| metric | measured (median / p99) | target | met? |");
    let _ = writeln!(md, "| --- | ---: | ---: | :---: |");
    let met = |t: &Timing| if t.median() < TARGET_MS && t.quantile(0.99) < TARGET_MS { "yes" } else { "**no**" };
    let _ = writeln!(
        md,
        "| {} ({checks} checks) | {:.2} / {:.2} ms | < {TARGET_MS} ms | {} |",
        all.label,
        all.median(),
        all.quantile(0.99),
        met(&all)
    );
    for t in [&query_part, &compute_part, &one, &one_bars, &api_page, &all_bars, &overview] {
        let _ = writeln!(md, "| {} | {:.2} / {:.2} ms | — | |", t.label, t.median(), t.quantile(0.99));
    }
    let _ = writeln!(md, "| rows read by the 30-day window, all checks / one check | {rows_all} / {rows_one} | — | |");
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Where the all-checks window's time goes: the same {} ranges through a plain sqlx pool, {diag_iterations} iterations each:",
        ranges.len()
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "| variant | median / p99 | rows to Rust |");
    let _ = writeln!(md, "| --- | ---: | ---: |");
    let _ =
        writeln!(md, "| {} | {:.2} / {:.2} ms | {rows_all} |", per_row.label, per_row.median(), per_row.quantile(0.99));
    let _ = writeln!(
        md,
        "| {} | {:.2} / {:.2} ms | {} |",
        count_only.label,
        count_only.median(),
        count_only.quantile(0.99),
        ranges.len()
    );
    let _ = writeln!(
        md,
        "| {} + `availability()` + `quantile(0.95)` | {:.2} / {:.2} ms | {checks_plus} |",
        grouped.label,
        grouped.median(),
        grouped.quantile(0.99),
        checks_plus = checks + REAL_CHECKS
    );
    let _ = writeln!(
        md,
        "| {} | {:.2} / {:.2} ms | {checks_plus} (of {hour_rows} read) |",
        hour_grouped.label,
        hour_grouped.median(),
        hour_grouped.quantile(0.99),
        checks_plus = checks + REAL_CHECKS
    );
    let _ = writeln!(
        md,
        "| {} | {:.2} / {:.2} ms | {hour_rows} |",
        hour_per_row.label,
        hour_per_row.median(),
        hour_per_row.quantile(0.99)
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "Plan of (c): `{grouped_plan}`.");
    let _ = writeln!(
        md,
        "(a) range by range (tier: rows, median): {}.",
        per_range
            .iter()
            .map(|(tier, rows, ms)| format!(
                "{tier} s: {rows} rows, {ms:.1} ms = {:.1} µs/row",
                ms * 1e3 / (*rows).max(1) as f64
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );

    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Ranges `rollup::cover` picks for the 30-day window (tier, start → end, rows for all checks, rows for `{probe}`):"
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "```");
    for (tier, start, end, all_rows, one_rows) in &scanned {
        let t =
            |s: i64| jiff::Timestamp::from_second(s).map(|t| t.strftime("%m-%d %H:%M").to_string()).unwrap_or_default();
        let _ = writeln!(
            md,
            "tier {tier:>5}: {} → {}  {all_rows:>6} rows  {one_rows:>3} for one check",
            t(*start),
            t(*end)
        );
    }
    let _ = writeln!(md, "```");
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Query plans (after `ANALYZE`) of the statement `rollup_rows` runs: all checks: `{plan_all}`; one check: `{plan_one}`."
    );
    for note in &notes {
        let _ = writeln!(md, "Check: {note}.");
    }
    println!("{md}");
    if let Ok(path) = std::env::var("RESULTS_MD") {
        let section = if full { "window_query-full" } else { "window_query" };
        write_section(std::path::Path::new(&path), section, &md);
        eprintln!("written to {path} (section {section})");
    }
}

/// Replaces the section between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in the file, or
/// appends it; the rest is kept.
fn write_section(path: &std::path::Path, name: &str, body: &str) {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(&format!("{begin}\n")), old.find(&format!("{end}\n")).or_else(|| old.find(&end))) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{body}{}", &old[..b], &old[e..]),
        _ => {
            let sep = if old.is_empty() || old.ends_with("\n\n") {
                ""
            } else if old.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{old}{sep}{begin}\n{body}{end}\n")
        }
    };
    if let Err(e) = std::fs::write(path, new) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
