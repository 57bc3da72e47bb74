//! Rollups: per-period aggregates of check results with a latency histogram, in three tiers
//! (minute, hour, day), for uptime bars, sparklines and percentiles. Every histogram has the
//! same log-linear buckets (`histogram.rs`), so summing periods is exact and a percentile is
//! within 2% of the exact one. Running totals (`totals.rs`) carry the counts without the
//! histogram, plus exact counts of the runs at or under each latency SLO's threshold.

use crate::histogram::{self, Histogram};
use std::time::Duration;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86400;

/// A duration in whole microseconds, as latencies and thresholds are counted.
pub fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

/// Runs counted against one latency threshold since it was first tracked: a latency SLO's
/// events, counted exactly as each result is rolled up rather than estimated from buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Threshold {
    pub at_us: u64,
    /// Runs counted since the threshold was tracked.
    pub valid: u64,
    /// Of those, the passing runs at or under the threshold (a failed run is never good).
    pub good: u64,
}

impl Threshold {
    /// Adds the counts of `more` to those of the same thresholds in `into`; thresholds `into`
    /// does not track are left out.
    pub fn add_tracked(into: &mut [Threshold], more: &[Threshold]) {
        for t in into {
            if let Some(m) = more.iter().find(|m| m.at_us == t.at_us) {
                t.valid += m.valid;
                t.good += m.good;
            }
        }
    }
}

/// Results aggregated over some span: counts, latency sum and max, a histogram, and the counts
/// against each tracked latency threshold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub total: u64,
    pub ok: u64,
    pub latency_sum_us: u64,
    /// The largest latency, when known: a rollup period knows it, a window taken as the
    /// difference of two running totals does not.
    pub latency_max_us: Option<u64>,
    /// Empty for a window taken from running totals.
    pub histogram: Histogram,
    /// Sorted by threshold.
    pub thresholds: Vec<Threshold>,
}

impl Summary {
    /// An empty summary that counts runs against each of `thresholds` (µs).
    pub fn tracking(thresholds: &[u64]) -> Summary {
        let mut thresholds: Vec<Threshold> =
            thresholds.iter().map(|&at_us| Threshold { at_us, ..Threshold::default() }).collect();
        thresholds.sort_by_key(|t| t.at_us);
        thresholds.dedup_by_key(|t| t.at_us);
        Summary { thresholds, ..Summary::default() }
    }

    pub fn record(&mut self, ok: bool, latency: Duration) {
        let us = micros(latency);
        self.latency_max_us = if self.total == 0 { Some(us) } else { self.latency_max_us.map(|max| max.max(us)) };
        self.total += 1;
        self.ok += u64::from(ok);
        self.latency_sum_us += us;
        self.histogram.record(us);
        for t in &mut self.thresholds {
            t.valid += 1;
            t.good += u64::from(ok && us <= t.at_us);
        }
    }

    pub fn merge(&mut self, other: &Summary) {
        self.latency_max_us = match (self.total, other.total) {
            (_, 0) => self.latency_max_us,
            (0, _) => other.latency_max_us,
            _ => self.latency_max_us.zip(other.latency_max_us).map(|(a, b)| a.max(b)),
        };
        self.total += other.total;
        self.ok += other.ok;
        self.latency_sum_us += other.latency_sum_us;
        self.histogram.merge(&other.histogram);
        for t in &other.thresholds {
            match self.thresholds.binary_search_by_key(&t.at_us, |m| m.at_us) {
                Ok(at) => {
                    self.thresholds[at].valid += t.valid;
                    self.thresholds[at].good += t.good;
                }
                Err(at) => self.thresholds.insert(at, *t),
            }
        }
    }

    /// What was recorded after `earlier`, when both are running totals of one check (`earlier`
    /// taken first): the window between them. Its largest latency is not known; a threshold
    /// tracked only since inside the window counts from when it was tracked.
    pub fn since(&self, earlier: &Summary) -> Summary {
        let thresholds = self
            .thresholds
            .iter()
            .map(|t| match earlier.thresholds.iter().find(|e| e.at_us == t.at_us) {
                Some(e) => {
                    Threshold { valid: t.valid.saturating_sub(e.valid), good: t.good.saturating_sub(e.good), ..*t }
                }
                None => *t,
            })
            .collect();
        Summary {
            total: self.total.saturating_sub(earlier.total),
            ok: self.ok.saturating_sub(earlier.ok),
            latency_sum_us: self.latency_sum_us.saturating_sub(earlier.latency_sum_us),
            latency_max_us: None,
            histogram: self.histogram.since(&earlier.histogram),
            thresholds,
        }
    }

    /// Keeps only the counts against `thresholds` (µs), adding those not tracked yet at zero.
    pub fn track_only(&mut self, thresholds: &[u64]) {
        let mut kept = Summary::tracking(thresholds).thresholds;
        for t in &mut kept {
            if let Some(known) = self.thresholds.iter().find(|k| k.at_us == t.at_us) {
                *t = *known;
            }
        }
        self.thresholds = kept;
    }

    /// The counts against a threshold, when it is tracked.
    pub fn threshold(&self, at: Duration) -> Option<Threshold> {
        let us = micros(at);
        self.thresholds.iter().find(|t| t.at_us == us).copied()
    }

    /// Share of good results, 0–1; `None` with no results (no data is not 0% available).
    pub fn availability(&self) -> Option<f64> {
        (self.total > 0).then(|| self.ok as f64 / self.total as f64)
    }

    pub fn mean_latency(&self) -> Option<Duration> {
        (self.total > 0).then(|| Duration::from_micros(self.latency_sum_us / self.total))
    }

    /// The latency at quantile `q` (0–1) by nearest rank, within 2% (see `histogram.rs`), never
    /// above the largest latency seen when that is known; `None` without a histogram.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        self.histogram.quantile(q, self.latency_max_us).map(Duration::from_micros)
    }
}

/// Threshold counts as stored: per threshold, its µs, valid and good counts as varints.
pub fn encode_thresholds(thresholds: &[Threshold]) -> Option<Vec<u8>> {
    if thresholds.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(thresholds.len() * 8);
    for t in thresholds {
        for v in [t.at_us, t.valid, t.good] {
            histogram::varint(&mut out, v);
        }
    }
    Some(out)
}

/// Reads what [`encode_thresholds`] wrote; a damaged blob yields what could be read.
pub fn decode_thresholds(bytes: Option<&[u8]>) -> Vec<Threshold> {
    let Some(bytes) = bytes else { return Vec::new() };
    let mut out: Vec<Threshold> = Vec::new();
    let mut at = 0;
    while let (Some(at_us), Some(valid), Some(good)) = (
        histogram::read_varint(bytes, &mut at),
        histogram::read_varint(bytes, &mut at),
        histogram::read_varint(bytes, &mut at),
    ) {
        if out.last().is_some_and(|t| t.at_us >= at_us) {
            break;
        }
        out.push(Threshold { at_us, valid, good: good.min(valid) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_within_two_percent() {
        let mut s = Summary::default();
        for ms in 1..=100 {
            s.record(true, Duration::from_millis(ms));
        }
        assert_eq!(s.availability(), Some(1.0));
        for (q, exact) in [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0)] {
            let ms = s.quantile(q).unwrap().as_secs_f64() * 1e3;
            assert!((ms - exact).abs() / exact <= 0.02, "q{q}: {ms} ms");
        }
        assert_eq!(s.quantile(1.0), Some(Duration::from_millis(100)));
    }

    #[test]
    fn empty_windows_have_no_availability_rather_than_zero() {
        assert_eq!(Summary::default().availability(), None);
        assert_eq!(Summary::default().quantile(0.95), None);
    }

    #[test]
    fn merging_equals_recording_everything_once() {
        let (mut a, mut b, mut all) =
            (Summary::tracking(&[100_000]), Summary::tracking(&[100_000]), Summary::tracking(&[100_000]));
        for (i, ms) in [3u64, 70, 900, 4, 12000].iter().enumerate() {
            let ok = i % 2 == 0;
            if i < 2 {
                a.record(ok, Duration::from_millis(*ms))
            } else {
                b.record(ok, Duration::from_millis(*ms))
            }
            all.record(ok, Duration::from_millis(*ms));
        }
        a.merge(&b);
        assert_eq!(a, all);
        // 3 ms passed, 70 ms failed, 4 ms failed: one good run at or under 100 ms of five.
        assert_eq!(all.threshold(Duration::from_millis(100)), Some(Threshold { at_us: 100_000, valid: 5, good: 1 }));
    }

    #[test]
    fn a_window_is_the_difference_of_two_running_totals() {
        let (mut before, mut window) = (Summary::tracking(&[10_000]), Summary::tracking(&[10_000]));
        for ms in [5, 7, 400] {
            before.record(true, Duration::from_millis(ms));
        }
        let mut after = before.clone();
        for (ok, ms) in [(false, 3), (true, 90_000), (true, 8)] {
            after.record(ok, Duration::from_millis(ms));
            window.record(ok, Duration::from_millis(ms));
        }
        let got = after.since(&before);
        assert_eq!(got, Summary { latency_max_us: None, ..window.clone() });
        assert_eq!(got.threshold(Duration::from_millis(10)).map(|t| (t.valid, t.good)), Some((3, 1)));
    }

    #[test]
    fn a_threshold_tracked_later_counts_from_when_it_was_tracked() {
        let mut running = Summary::default();
        running.record(true, Duration::from_millis(5));
        let before = running.clone();
        running.track_only(&[20_000]);
        let mut minute = Summary::tracking(&[20_000]);
        minute.record(true, Duration::from_millis(30));
        minute.record(true, Duration::from_millis(10));
        running.merge(&minute);
        let window = running.since(&before);
        assert_eq!(window.total, 2);
        assert_eq!(window.threshold(Duration::from_millis(20)), Some(Threshold { at_us: 20_000, valid: 2, good: 1 }));
        // No longer tracked: no longer carried.
        running.track_only(&[]);
        assert!(running.thresholds.is_empty());
    }

    #[test]
    fn threshold_counts_read_back_from_their_stored_form() {
        let t =
            vec![Threshold { at_us: 200_000, valid: 90, good: 88 }, Threshold { at_us: 500_000, valid: 9, good: 9 }];
        let bytes = encode_thresholds(&t).unwrap();
        assert_eq!(decode_thresholds(Some(&bytes)), t);
        assert_eq!(encode_thresholds(&[]), None);
        assert_eq!(decode_thresholds(None), vec![]);
        assert_eq!(decode_thresholds(Some(&bytes[..bytes.len() - 1])), t[..1].to_vec());
    }
}
