//! Rollups: per-period aggregates of check results with a latency histogram, in three tiers
//! (minute, hour, day), for uptime bars and sparklines. The histogram's buckets are fixed, so
//! summing rows (or subtracting running totals, see `totals.rs`) is exact and cheap.

use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds; the last bucket is unbounded.
pub const BUCKETS: [f64; 16] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Number of histogram counters (the buckets plus +Inf).
pub const COUNTERS: usize = BUCKETS.len() + 1;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86400;

/// Results aggregated over some span: counts, latency sum and max, and a histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub total: u64,
    pub ok: u64,
    pub latency_sum_us: u64,
    /// The largest latency, when known: a rollup period knows it, a window taken as the
    /// difference of two running totals does not.
    pub latency_max_us: Option<u64>,
    pub histogram: [u64; COUNTERS],
}

impl Summary {
    pub fn record(&mut self, ok: bool, latency: Duration) {
        let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        self.latency_max_us = if self.total == 0 { Some(us) } else { self.latency_max_us.map(|max| max.max(us)) };
        self.total += 1;
        self.ok += u64::from(ok);
        self.latency_sum_us += us;
        self.histogram[bucket(latency.as_secs_f64())] += 1;
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
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
    }

    /// What was recorded after `earlier`, when both are running totals of one check (`earlier`
    /// taken first): the window between them. Its largest latency is not known.
    pub fn since(&self, earlier: &Summary) -> Summary {
        let mut histogram = self.histogram;
        for (a, b) in histogram.iter_mut().zip(earlier.histogram) {
            *a = a.saturating_sub(b);
        }
        Summary {
            total: self.total.saturating_sub(earlier.total),
            ok: self.ok.saturating_sub(earlier.ok),
            latency_sum_us: self.latency_sum_us.saturating_sub(earlier.latency_sum_us),
            latency_max_us: None,
            histogram,
        }
    }

    /// Share of good results, 0–1; `None` with no results (no data is not 0% available).
    pub fn availability(&self) -> Option<f64> {
        (self.total > 0).then(|| self.ok as f64 / self.total as f64)
    }

    pub fn mean_latency(&self) -> Option<Duration> {
        (self.total > 0).then(|| Duration::from_micros(self.latency_sum_us / self.total))
    }

    /// The latency at quantile `q` (0–1), interpolated within its bucket and never above the
    /// largest latency seen, when that is known. Without it, a quantile in the unbounded last
    /// bucket is that bucket's lower bound (as Prometheus' `histogram_quantile` does).
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let count: u64 = self.histogram.iter().sum();
        if count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * count as f64).max(1.0);
        let max = self.latency_max_us.map(|us| us as f64 / 1e6);
        let mut seen = 0.0;
        for (i, &n) in self.histogram.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if seen + n as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { BUCKETS[i - 1] };
                let bound = BUCKETS.get(i).copied().or(max).unwrap_or(lower);
                let upper = max.map_or(bound, |max| bound.min(max.max(lower)));
                let within = (rank - seen) / n as f64;
                return Some(Duration::from_secs_f64(lower + (upper - lower) * within));
            }
            seen += n as f64;
        }
        Some(Duration::from_secs_f64(max.unwrap_or(BUCKETS[BUCKETS.len() - 1])))
    }
}

/// The histogram bucket a latency (seconds) falls in.
pub fn bucket(secs: f64) -> usize {
    BUCKETS.iter().position(|&upper| secs <= upper).unwrap_or(BUCKETS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut s = Summary::default();
        for ms in 1..=100 {
            s.record(true, Duration::from_millis(ms));
        }
        assert_eq!(s.availability(), Some(1.0));
        let p50 = s.quantile(0.5).unwrap().as_secs_f64();
        let p95 = s.quantile(0.95).unwrap().as_secs_f64();
        assert!((0.02..=0.05).contains(&p50), "{p50}");
        assert!((0.05..=0.1).contains(&p95), "{p95}");
        assert_eq!(s.quantile(1.0), Some(Duration::from_millis(100)));
    }

    #[test]
    fn empty_windows_have_no_availability_rather_than_zero() {
        assert_eq!(Summary::default().availability(), None);
        assert_eq!(Summary::default().quantile(0.95), None);
    }

    #[test]
    fn merging_equals_recording_everything_once() {
        let (mut a, mut b, mut all) = (Summary::default(), Summary::default(), Summary::default());
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
    }

    #[test]
    fn a_window_is_the_difference_of_two_running_totals() {
        let (mut before, mut window) = (Summary::default(), Summary::default());
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
        // Without the largest latency, the unbounded bucket answers with its lower bound.
        assert_eq!(got.quantile(1.0), Some(Duration::from_secs(60)));
        assert_eq!(window.quantile(1.0), Some(Duration::from_secs(90)));
        // Bounded buckets answer alike: the lowest third is the 3-ms run, in (2 ms, 5 ms].
        let ms = |s: &Summary| s.quantile(1.0 / 3.0).unwrap().as_secs_f64() * 1e3;
        assert!((ms(&got) - 5.0).abs() < 1e-6 && (ms(&window) - 5.0).abs() < 1e-6, "{} {}", ms(&got), ms(&window));
    }
}
