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
//!    windows and bars read back must agree with the raw results (asserted).
//! 2. The bulk: one real result per synthetic check through `Store::write` (so `check_names`
//!    holds every name), then synthetic rows inserted with sqlx as compaction and retention
//!    would leave them after 31 days: running totals for every minute of the last 25 hours and
//!    the last minute of every hour before; rollups by day for the 30 days, by hour for the
//!    last day, by minute for the last hour; and the `meta` rows `compacted_3600` /
//!    `compacted_86400`.
//!
//! Then, over `WINDOW_QUERY_ITERATIONS` (50) timed iterations after a warm-up: `summaries(now -
//! 30d, now, None)` plus `availability()` and `quantile(0.95)` of every check (target < 50 ms at
//! the median and p99), the same for a 1-hour window (a burn-rate window), a single check's
//! windows, and for context the bars that the dashboard loads.
//!
//! Tunables: `WINDOW_QUERY_CHECKS` (1000), `WINDOW_QUERY_ITERATIONS` (50), `RESULTS_MD` (a
//! markdown file whose `window_query` section is replaced by the report).

#[path = "support/history.rs"]
mod history;

use history::{EVERY_S, GRACE, mix};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};
use upkeep_result::Status;
use upkeep_store::rollup::{DAY, HOUR, MINUTE};
use upkeep_store::{CheckResult, Store};

const REAL_CHECKS: usize = 3;
const TARGET_MS: f64 = 50.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

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

async fn run() {
    let checks = env_usize("WINDOW_QUERY_CHECKS", 1000);
    let iterations = env_usize("WINDOW_QUERY_ITERATIONS", 50).max(1);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).await.expect("Store::open");
    let now = jiff::Timestamp::now();
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
            batch.push(CheckResult {
                check: name.clone(),
                at,
                status: Status::from_ok(ok),
                latency: Duration::from_micros(latency_us),
                message: (!ok).then(|| "HTTP 503".to_string()),
                observations: Default::default(),
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
        assert_eq!(summary.total, n, "{name}: total from running totals vs raw results");
        assert_eq!(summary.ok, raw_ok[i], "{name}: ok from running totals vs raw results");
        let mut sorted = raw_latencies[i].clone();
        sorted.sort_unstable();
        let exact = sorted[((0.95 * n as f64).ceil() as usize).clamp(1, sorted.len()) - 1] as f64 / 1e6;
        let latencies =
            store.latencies(day_ago, now, Some(name)).await.expect("latencies").remove(name).unwrap_or_default();
        assert_eq!(latencies.total, n, "{name}: total from rollups vs raw results");
        let estimated = latencies.quantile(0.95).expect("a p95").as_secs_f64();
        // The histogram is log-linear: within 2% of the exact nearest-rank percentile.
        assert!((estimated - exact).abs() / exact <= 0.02, "{name}: p95 {exact} s vs {estimated} s");
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
        "real path: {written} results through Store::write in {:.2} s ({:.0}/s), compact {:.2} s; windows and bars agree",
        write_time.as_secs_f64(),
        written as f64 / write_time.as_secs_f64(),
        compact_time.as_secs_f64()
    );

    // ------------------------------------------------------------ 2. the bulk: 31 days, `checks` checks
    let names: Vec<String> = (0..checks).map(|i| format!("c-{i:04}")).collect();
    let history::Bulk { pool, total_rows, rollup_rows, insert_time, db_bytes } =
        history::bulk(&store, dir.path(), &names, now).await;

    // Sanity: every check has a 30-day window of about 30 days of runs, and a 1-hour one.
    let from = now - days(30);
    let hour_ago = now - jiff::SignedDuration::from_secs(HOUR);
    let windows = store.summaries(from, now, None).await.expect("summaries");
    let expected = (30 * DAY / EVERY_S) as u64;
    let short = names
        .iter()
        .filter(|n| windows.get(*n).is_none_or(|s| s.total.abs_diff(expected) > 2 * (HOUR / EVERY_S) as u64));
    assert_eq!(short.count(), 0, "every check has about 30 days of runs");
    let probe = names[checks / 2].as_str();
    let sample = &windows[probe];
    notes.push(format!(
        "{probe}: {} runs in the 30-day window, availability {:.5}, p95 {:.2} ms",
        sample.total,
        sample.availability().unwrap_or(0.0),
        sample.quantile(0.95).unwrap_or_default().as_secs_f64() * 1e3
    ));
    let last_hour =
        store.summaries(hour_ago, now, Some(probe)).await.expect("summaries").remove(probe).unwrap_or_default();
    let overlapped =
        ((now.as_millisecond() + 59_999).div_euclid(60_000) - hour_ago.as_millisecond().div_euclid(60_000)) as u64;
    assert_eq!(
        last_hour.total,
        overlapped * (MINUTE / EVERY_S) as u64,
        "a 1-hour window counts the minutes it overlaps"
    );

    // ------------------------------------------------------------ 3. timings
    let warmup = 3;
    let store = &store;
    let every_check = |label: &'static str, from: jiff::Timestamp| {
        time(label, warmup, iterations, move || async move {
            let mut acc = 0.0;
            for summary in store.summaries(from, now, None).await.expect("summaries").values() {
                acc += summary.availability().unwrap_or(0.0);
            }
            black_box(acc);
        })
    };
    let all = every_check("`summaries(now − 30d, now, None)` + `availability()` for every check", from).await;
    let p95_all = time(
        "`latencies(now − 30d, now, None)` + `quantile(0.95)` for every check (rollups)",
        warmup,
        iterations,
        move || async move {
            let mut acc = 0.0;
            for summary in store.latencies(from, now, None).await.expect("latencies").values() {
                acc += summary.quantile(0.95).map_or(0.0, |d| d.as_secs_f64());
            }
            black_box(acc);
        },
    )
    .await;
    let all_hour = every_check("the same over 1 hour (a burn-rate window)", hour_ago).await;
    let one = time("one check: `summaries(now − 30d, now, Some(name))`", warmup, iterations, move || async move {
        black_box(store.summaries(from, now, Some(probe)).await.expect("summaries"));
    })
    .await;
    let api_page =
        time("API check page: `latencies` over 24h, 7d, 30d for one check", warmup, iterations, move || async move {
            for d in [1, 7, 30] {
                black_box(store.latencies(now - days(d), now, Some(probe)).await.expect("latencies"));
            }
        })
        .await;
    let one_bars =
        time("one check: `bars(86400, now − 90d, now, Some(name))`", warmup, iterations, move || async move {
            black_box(store.bars(DAY, now - days(90), now, Some(probe)).await.expect("bars"));
        })
        .await;
    let overview = time(
        "dashboard overview's loads: `bars` 60 s × 1h, 3600 s × 24h, 86400 s × 90d, all checks",
        warmup,
        iterations.min(20),
        move || async move {
            black_box(store.bars(MINUTE, hour_ago, now, None).await.expect("bars"));
            black_box(store.bars(HOUR, now - days(1), now, None).await.expect("bars"));
            black_box(store.bars(DAY, now - days(90), now, None).await.expect("bars"));
        },
    )
    .await;

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
        "Store: {checks} checks × 31 days at one run every {EVERY_S} s, as compaction and retention leave it: {total_rows} running totals (every minute of the last 25 h, the last of each hour before) and {rollup_rows} rollup rows (30 day rows, today's hours, this hour's minutes per check), inserted in {:.1} s; plus {REAL_CHECKS} checks with a real day of results ({written} through `Store::write` in {:.2} s = {:.0}/s; `compact` {:.2} s); {:.1} MB file.",
        insert_time.as_secs_f64(),
        write_time.as_secs_f64(),
        written as f64 / write_time.as_secs_f64(),
        compact_time.as_secs_f64(),
        db_bytes as f64 / 1e6,
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
    for t in [&p95_all, &all_hour, &one, &api_page, &one_bars, &overview] {
        let _ = writeln!(md, "| {} | {:.2} / {:.2} ms | — | |", t.label, t.median(), t.quantile(0.99));
    }
    let _ = writeln!(md);
    for note in &notes {
        let _ = writeln!(md, "Check: {note}.");
    }
    println!("{md}");
    if let Ok(path) = std::env::var("RESULTS_MD") {
        write_section(std::path::Path::new(&path), "window_query", &md);
        eprintln!("written to {path} (section window_query)");
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
