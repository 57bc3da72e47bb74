//! Rollups: per-period aggregates of check results with a latency histogram, in three tiers
//! (minute, hour, day), so availability and percentiles over any window are a sum of a few
//! rows. The histogram's buckets are fixed, so summing rows is exact and cheap.

use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds; the last bucket is unbounded.
pub const BUCKETS: [f64; 16] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Number of histogram counters (the buckets plus +Inf).
pub const COUNTERS: usize = BUCKETS.len() + 1;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86400;
pub const TIERS: [i64; 3] = [MINUTE, HOUR, DAY];

/// Results aggregated over some span: counts, latency sum and max, and a histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub total: u64,
    pub ok: u64,
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    pub histogram: [u64; COUNTERS],
}

impl Summary {
    pub fn record(&mut self, ok: bool, latency: Duration) {
        let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        self.total += 1;
        self.ok += u64::from(ok);
        self.latency_sum_us += us;
        self.latency_max_us = self.latency_max_us.max(us);
        self.histogram[bucket(latency.as_secs_f64())] += 1;
    }

    pub fn merge(&mut self, other: &Summary) {
        self.total += other.total;
        self.ok += other.ok;
        self.latency_sum_us += other.latency_sum_us;
        self.latency_max_us = self.latency_max_us.max(other.latency_max_us);
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
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
    /// largest latency seen.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let count: u64 = self.histogram.iter().sum();
        if count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * count as f64).max(1.0);
        let max = self.latency_max_us as f64 / 1e6;
        let mut seen = 0.0;
        for (i, &n) in self.histogram.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if seen + n as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { BUCKETS[i - 1] };
                let upper = BUCKETS.get(i).copied().unwrap_or(max).min(max.max(lower));
                let within = (rank - seen) / n as f64;
                return Some(Duration::from_secs_f64(lower + (upper - lower) * within));
            }
            seen += n as f64;
        }
        Some(Duration::from_secs_f64(max))
    }
}

/// The histogram bucket a latency (seconds) falls in.
pub fn bucket(secs: f64) -> usize {
    BUCKETS.iter().position(|&upper| secs <= upper).unwrap_or(BUCKETS.len())
}

/// Splits `[from, to)` (Unix seconds) into whole periods of the coarsest tier that covers them,
/// finer tiers at the edges: `(tier, start, end)` ranges whose union is the window. `complete`
/// gives, per tier, the time before which that tier's rows exist.
pub fn cover(from: i64, to: i64, complete: impl Fn(i64) -> i64) -> Vec<(i64, i64, i64)> {
    let mut ranges = Vec::new();
    cover_into(from, to, TIERS.len() - 1, &complete, &mut ranges);
    ranges
}

fn cover_into(from: i64, to: i64, tier_index: usize, complete: &impl Fn(i64) -> i64, out: &mut Vec<(i64, i64, i64)>) {
    if from >= to {
        return;
    }
    let tier = TIERS[tier_index];
    let start = from.div_euclid(tier) * tier + if from.rem_euclid(tier) == 0 { 0 } else { tier };
    let end = (to.div_euclid(tier) * tier).min(complete(tier).div_euclid(tier) * tier);
    if tier_index == 0 || start >= end {
        if tier_index == 0 {
            // Minutes are the finest tier: take every minute that overlaps.
            let first = from.div_euclid(tier) * tier;
            out.push((tier, first, to));
            return;
        }
        cover_into(from, to, tier_index - 1, complete, out);
        return;
    }
    cover_into(from, start, tier_index - 1, complete, out);
    out.push((tier, start, end));
    cover_into(end, to, tier_index - 1, complete, out);
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
    fn cover_uses_days_inside_and_finer_tiers_at_the_edges() {
        let day = DAY;
        // From 23:30 on day 1 to 00:30 on day 4, every tier complete up to `to`.
        let from = day + 23 * HOUR + 30 * MINUTE;
        let to = 4 * day + 30 * MINUTE;
        let ranges = cover(from, to, |_| to);
        assert_eq!(ranges, vec![(MINUTE, from, 2 * day), (DAY, 2 * day, 4 * day), (MINUTE, 4 * day, to)]);
        // A day not yet compacted is covered by hours, and the current hour by minutes.
        let ranges = cover(2 * day, 3 * day + 2 * HOUR + 5 * MINUTE, |tier| {
            if tier == DAY {
                3 * day
            } else if tier == HOUR {
                3 * day + 2 * HOUR
            } else {
                i64::MAX
            }
        });
        assert_eq!(
            ranges,
            vec![
                (DAY, 2 * day, 3 * day),
                (HOUR, 3 * day, 3 * day + 2 * HOUR),
                (MINUTE, 3 * day + 2 * HOUR, 3 * day + 2 * HOUR + 5 * MINUTE)
            ]
        );
    }
}
