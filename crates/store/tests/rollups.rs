//! Results roll up into minutes, hours and days and into running totals; windows taken from the
//! totals equal what the raw results say; retention removes raw rows without changing the
//! long-term numbers.

use std::time::Duration;
use upkeep_result::Status;
use upkeep_store::{CheckResult, Store, Summary};

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// Two days and an hour of a check every 10 s, failing from day 1 10:00 to 10:05.
fn history() -> Vec<CheckResult> {
    let start = at("2026-11-01T00:00:00Z");
    let outage = (at("2026-11-02T10:00:00Z"), at("2026-11-02T10:05:00Z"));
    (0..(49 * 360))
        .map(|i| {
            let t = start + jiff::SignedDuration::from_secs(i * 10);
            let ok = !(t >= outage.0 && t < outage.1);
            CheckResult {
                check: "api".into(),
                at: t,
                status: Status::from_ok(ok),
                latency: Duration::from_millis(if i % 2 == 0 { 10 } else { 120 }),
                message: (!ok).then(|| "expected status == 200, got 503".into()),
                observations: Default::default(),
            }
        })
        .collect()
}

/// What the raw results say about `[from, to)`; a window from running totals does not know
/// its largest latency and has no histogram (percentiles come from rollups).
fn brute_force(records: &[CheckResult], from: jiff::Timestamp, to: jiff::Timestamp) -> Summary {
    let s = raw(records, from, to, &[]);
    Summary { latency_max_us: None, histogram: Default::default(), ..s }
}

/// Everything the raw results in `[from, to)` say, counted against `thresholds` (µs).
fn raw(records: &[CheckResult], from: jiff::Timestamp, to: jiff::Timestamp, thresholds: &[u64]) -> Summary {
    let mut s = Summary::tracking(thresholds);
    for r in records.iter().filter(|r| r.at >= from && r.at < to) {
        s.record(r.is_ok(), r.latency);
    }
    s
}

/// The exact nearest-rank percentile of the raw latencies in `[from, to)`.
fn exact_percentile(records: &[CheckResult], from: jiff::Timestamp, to: jiff::Timestamp, q: f64) -> Duration {
    let mut latencies: Vec<Duration> =
        records.iter().filter(|r| r.at >= from && r.at < to).map(|r| r.latency).collect();
    latencies.sort();
    latencies[((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1]
}

/// Two days of a check every 10 s whose latency wanders from 1 ms to 2 s, as a real app's does.
fn spread_history() -> Vec<CheckResult> {
    let start = at("2026-11-01T00:00:00Z");
    (0..(49 * 360u64))
        .map(|i| {
            let wobble = (i.wrapping_mul(2_654_435_761) >> 7) % 10_000;
            let latency_us = 1_000 + wobble * wobble / 50 + (i % 360) * 37;
            CheckResult {
                check: "api".into(),
                at: start + jiff::SignedDuration::from_secs(i as i64 * 10),
                status: Status::from_ok(i % 97 != 0),
                latency: Duration::from_micros(latency_us),
                message: None,
                observations: Default::default(),
            }
        })
        .collect()
}

async fn store_with_history() -> (tempfile::TempDir, Store, Vec<CheckResult>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let records = history();
    for batch in records.chunks(500) {
        store.write(batch).await.unwrap();
    }
    (dir, store, records)
}

#[tokio::test]
async fn windows_from_rollups_equal_the_raw_results() {
    let (_dir, store, records) = store_with_history().await;
    store.compact(at("2026-11-03T01:00:00Z"), Duration::ZERO).await.unwrap();
    for (from, to) in [
        ("2026-11-01T00:00:00Z", "2026-11-03T01:00:00Z"),
        ("2026-11-01T23:30:00Z", "2026-11-03T00:30:00Z"),
        ("2026-11-02T09:59:00Z", "2026-11-02T10:07:00Z"),
        ("2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z"),
    ] {
        let (from, to) = (at(from), at(to));
        let got = store.summaries(from, to, Some("api")).await.unwrap().remove("api").unwrap();
        assert_eq!(got, brute_force(&records, from, to), "window {from} .. {to}");
    }
    let day = store.summaries(at("2026-11-02T00:00:00Z"), at("2026-11-03T00:00:00Z"), None).await.unwrap();
    assert_eq!(day["api"].total, 8640);
    assert_eq!(day["api"].ok, 8640 - 30);
    assert_eq!(day["api"].availability(), Some((8640.0 - 30.0) / 8640.0));
}

#[tokio::test]
async fn compaction_in_steps_equals_compaction_at_once() {
    let (_dir, store, records) = store_with_history().await;
    for until in ["2026-11-01T12:00:30Z", "2026-11-02T00:00:00Z", "2026-11-02T10:02:00Z", "2026-11-03T01:00:00Z"] {
        store.compact(at(until), Duration::ZERO).await.unwrap();
    }
    store.compact(at("2026-11-03T01:00:00Z"), Duration::ZERO).await.unwrap(); // again: idempotent
    let (from, to) = (at("2026-11-01T00:00:00Z"), at("2026-11-03T01:00:00Z"));
    let got = store.summaries(from, to, None).await.unwrap().remove("api").unwrap();
    assert_eq!(got, brute_force(&records, from, to));
}

#[tokio::test]
async fn transitions_record_when_a_check_went_down_and_up() {
    let (_dir, store, _) = store_with_history().await;
    let changes = store.transitions("api", at("2026-11-01T00:00:00Z"), at("2026-11-04T00:00:00Z")).await.unwrap();
    let shown: Vec<(String, bool)> = changes.iter().map(|(t, ok, _)| (t.to_string(), *ok)).collect();
    assert_eq!(
        shown,
        [
            ("2026-11-01T00:00:00Z".to_string(), true),
            ("2026-11-02T10:00:00Z".to_string(), false),
            ("2026-11-02T10:05:00Z".to_string(), true)
        ]
    );
    assert_eq!(changes[1].2.as_deref(), Some("expected status == 200, got 503"));
    let statuses = store.statuses();
    assert_eq!(statuses.len(), 1);
    assert!(statuses[0].ok);
    assert_eq!(statuses[0].since, at("2026-11-02T10:05:00Z"));
}

#[tokio::test]
async fn bars_show_the_outage_in_its_hour_and_day() {
    let (_dir, store, _) = store_with_history().await;
    store.compact(at("2026-11-03T01:00:00Z"), Duration::ZERO).await.unwrap();
    let hours = store
        .bars(3600, at("2026-11-02T09:00:00Z"), at("2026-11-02T12:00:00Z"), Some("api"))
        .await
        .unwrap()
        .remove("api")
        .unwrap();
    let shown: Vec<(String, u64, u64)> = hours.iter().map(|(t, s)| (t.to_string(), s.total, s.ok)).collect();
    assert_eq!(
        shown,
        [
            ("2026-11-02T09:00:00Z".to_string(), 360, 360),
            ("2026-11-02T10:00:00Z".to_string(), 360, 330),
            ("2026-11-02T11:00:00Z".to_string(), 360, 360)
        ]
    );
    let days = store
        .bars(86400, at("2026-11-01T00:00:00Z"), at("2026-11-03T01:00:00Z"), None)
        .await
        .unwrap()
        .remove("api")
        .unwrap();
    let totals: Vec<(u64, u64)> = days.iter().map(|(_, s)| (s.total, s.ok)).collect();
    // The last day is not compacted yet: its hour comes from minutes.
    assert_eq!(totals, [(8640, 8640), (8640, 8610), (360, 360)]);
}

#[tokio::test]
async fn pruning_raw_results_keeps_long_term_numbers_and_survives_reopen() {
    let (dir, store, records) = store_with_history().await;
    let end = at("2026-11-03T01:00:00Z");
    store.compact(end, Duration::ZERO).await.unwrap();
    let whole = store.summaries(at("2026-11-01T00:00:00Z"), end, None).await.unwrap();
    let pruned = store.prune(end, Duration::from_secs(86400), Duration::from_secs(400 * 86400)).await.unwrap();
    // Everything before 2026-11-02T01:00: 25 hours of results.
    assert_eq!(pruned.results, 360 * 25);
    assert!(store.results("api", at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"), 10).await.unwrap().is_empty());
    drop(store);
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.summaries(at("2026-11-01T00:00:00Z"), end, None).await.unwrap(), whole);
    // Totals older than a day are thinned to one an hour: a window starting then is widened back
    // to the start of its hour; a recent one stays exact to the minute.
    let old = store.summaries(at("2026-11-01T10:30:00Z"), end, Some("api")).await.unwrap().remove("api");
    assert_eq!(old, Some(brute_force(&records, at("2026-11-01T10:00:00Z"), end)));
    let recent = store.summaries(at("2026-11-02T09:58:00Z"), end, Some("api")).await.unwrap().remove("api");
    assert_eq!(recent, Some(brute_force(&records, at("2026-11-02T09:58:00Z"), end)));
    assert_eq!(store.statuses().len(), 1);
    // Failures keep their message; healthy runs do not repeat it.
    let recent = store.results("api", at("2026-11-02T10:04:50Z"), at("2026-11-02T10:05:20Z"), 10).await.unwrap();
    let details: Vec<(bool, Option<&str>)> = recent.iter().map(|r| (r.is_ok(), r.message.as_deref())).collect();
    assert_eq!(details, [(true, None), (true, None), (false, Some("expected status == 200, got 503"))]);
    let _ = records;
}

#[tokio::test]
async fn windows_older_than_retention_count_from_where_retention_starts() {
    let (_dir, store, records) = store_with_history().await;
    let end = at("2026-11-03T01:00:00Z");
    store.compact(end, Duration::ZERO).await.unwrap();
    let day = Duration::from_secs(86400);
    store.prune(end, day, day).await.unwrap();
    // Retention starts at 2026-11-02T01:00: the totals up to then are the baseline.
    let kept = brute_force(&records, at("2026-11-02T01:00:00Z"), end);
    for from in ["2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-02T00:30:00Z"] {
        let got = store.summaries(at(from), end, None).await.unwrap().remove("api");
        assert_eq!(got, Some(kept.clone()), "window from {from}");
    }
    // Pruning again changes nothing.
    store.prune(end, day, day).await.unwrap();
    assert_eq!(store.summaries(at("2026-11-01T00:00:00Z"), end, None).await.unwrap().remove("api"), Some(kept));
}

#[tokio::test]
async fn a_new_check_counts_from_its_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let records = history();
    store.write(&records[..360]).await.unwrap(); // the first hour
    store.compact(at("2026-11-01T01:00:00Z"), Duration::ZERO).await.unwrap();
    let got = store.summaries(at("2026-10-01T00:00:00Z"), at("2026-11-01T01:00:00Z"), None).await.unwrap();
    assert_eq!(got.get("api").map(|s| s.total), Some(360));
    assert!(store.summaries(at("2026-10-01T00:00:00Z"), at("2026-10-02T00:00:00Z"), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn each_prune_thins_only_what_the_last_one_left() {
    let (_dir, store, records) = store_with_history().await;
    let end = at("2026-11-03T01:00:00Z");
    store.compact(end, Duration::ZERO).await.unwrap();
    let (day, long) = (Duration::from_secs(86400), Duration::from_secs(400 * 86400));
    // Totals before 2026-11-01T11:00, then before 2026-11-02T00:00, become one an hour.
    store.prune(at("2026-11-02T12:00:00Z"), day, long).await.unwrap();
    store.prune(end, day, long).await.unwrap();
    for (from, widened) in [
        ("2026-11-01T10:30:00Z", "2026-11-01T10:00:00Z"),
        ("2026-11-01T20:30:00Z", "2026-11-01T20:00:00Z"),
        ("2026-11-02T09:58:00Z", "2026-11-02T09:58:00Z"),
    ] {
        let got = store.summaries(at(from), end, Some("api")).await.unwrap().remove("api");
        assert_eq!(got, Some(brute_force(&records, at(widened), end)), "window from {from}");
    }
}

/// Percentiles over any window, from the rollups that cover it (days, hours, minutes at the
/// edges), are within 2% of the exact percentile of the raw results; the histogram itself is
/// exactly the raw results' (000-02, 004-02: latency objectives need true percentiles).
#[tokio::test]
async fn percentiles_from_the_store_are_within_two_percent_of_the_raw_results() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let records = spread_history();
    for batch in records.chunks(500) {
        store.write(batch).await.unwrap();
    }
    for until in ["2026-11-01T12:00:30Z", "2026-11-02T10:02:00Z", "2026-11-03T01:00:00Z"] {
        store.compact(at(until), Duration::ZERO).await.unwrap();
    }
    for (from, to) in [
        ("2026-11-01T00:00:00Z", "2026-11-03T01:00:00Z"),
        ("2026-11-01T07:13:00Z", "2026-11-02T19:41:00Z"),
        ("2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z"),
        ("2026-11-02T23:55:00Z", "2026-11-03T00:20:00Z"),
    ] {
        let (from, to) = (at(from), at(to));
        let got = store.latencies(from, to, Some("api")).await.unwrap().remove("api").unwrap();
        let want = raw(&records, from, to, &[]);
        assert_eq!(got.histogram, want.histogram, "window {from} .. {to}");
        assert_eq!((got.total, got.ok, got.latency_max_us), (want.total, want.ok, want.latency_max_us));
        for q in [0.5, 0.95, 0.99] {
            let exact = exact_percentile(&records, from, to, q).as_secs_f64();
            let stored = got.quantile(q).unwrap().as_secs_f64();
            assert!((stored - exact).abs() / exact <= 0.02, "p{} {from} .. {to}: {stored} vs {exact}", q * 100.0);
        }
    }
}

/// A latency SLO's good events are counted exactly against its threshold as results roll up,
/// from when the threshold is first tracked: windows from the running totals and bars agree
/// with the raw results, and a window reaching back before the threshold was tracked counts
/// only from then (no made-up history).
#[tokio::test]
async fn latency_thresholds_are_counted_exactly_from_when_they_are_tracked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let records = spread_history();
    let tracked_from = at("2026-11-01T12:00:00Z");
    let (before, after): (Vec<_>, Vec<_>) = records.iter().cloned().partition(|r| r.at < tracked_from);
    store.write(&before).await.unwrap();
    store.compact(tracked_from, Duration::ZERO).await.unwrap();
    let threshold = Duration::from_millis(200);
    store.track_thresholds([("api".to_string(), vec![threshold])].into());
    for batch in after.chunks(500) {
        store.write(batch).await.unwrap();
    }
    let end = at("2026-11-03T01:00:00Z");
    store.compact(at("2026-11-02T10:02:00Z"), Duration::ZERO).await.unwrap();
    store.compact(end, Duration::ZERO).await.unwrap();
    for from in ["2026-11-01T00:00:00Z", "2026-11-01T12:00:00Z", "2026-11-02T09:58:00Z"] {
        let from = at(from);
        let got = store.summaries(from, end, Some("api")).await.unwrap().remove("api").unwrap();
        let counted = got.threshold(threshold).unwrap();
        let want = raw(&records, from.max(tracked_from), end, &[200_000]).threshold(threshold).unwrap();
        assert_eq!(counted, want, "window from {from}");
        assert!(want.good > 0 && want.good < want.valid, "the threshold splits the runs: {want:?}");
    }
    let hours = store.bars(3600, at("2026-11-02T00:00:00Z"), end, Some("api")).await.unwrap().remove("api").unwrap();
    let good: u64 = hours.iter().filter_map(|(_, s)| s.threshold(threshold)).map(|t| t.good).sum();
    assert_eq!(good, raw(&records, at("2026-11-02T00:00:00Z"), end, &[200_000]).thresholds[0].good);
    // Opened again (the daemon tells the store its thresholds at start), the counts go on.
    drop(store);
    let store = Store::open(dir.path()).await.unwrap();
    let got = store.summaries(tracked_from, end, Some("api")).await.unwrap().remove("api").unwrap();
    assert_eq!(got.threshold(threshold).map(|t| t.valid), Some(raw(&records, tracked_from, end, &[]).total));
}
