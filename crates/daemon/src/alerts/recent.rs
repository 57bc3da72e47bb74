//! Recent history in memory, for the checks that alert rules and SLOs read over windows: a
//! minute per bucket for the last 6 hours and an hour per bucket for the last 3 days, fed by
//! every committed result and seeded from the store's rollups at start. A timer round then
//! reads its windows from here, not from the store (which costs a query per window over every
//! check); only longer windows (a 30-day budget) go to the store. Minute windows count every
//! minute the window overlaps and hour windows every hour, as the store's running totals do.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use upkeep_alert::{Condition, Rules, WindowStats, Windows};
use upkeep_expr::{Function, Target};
use upkeep_slo::Events;
use upkeep_store::histogram::Histogram;
use upkeep_store::rollup::{HOUR, MINUTE, Summary, Threshold};
use upkeep_store::{Store, StoreError};

/// How far back each tier reaches.
const MINUTES_KEPT: i64 = 6 * HOUR;
const HOURS_KEPT: i64 = 3 * 24 * HOUR;

#[derive(Clone, Debug)]
struct Bucket {
    start: i64,
    total: u32,
    ok: u32,
    /// Latency counts, for checks whose rules ask for percentiles.
    histogram: Option<Histogram>,
    /// Runs against each latency SLO threshold of the check.
    thresholds: Vec<Threshold>,
}

impl Bucket {
    fn new(start: i64, what: &What) -> Bucket {
        let thresholds = Summary::tracking(&what.thresholds).thresholds;
        Bucket { start, total: 0, ok: 0, histogram: what.quantiles().then(Histogram::default), thresholds }
    }

    fn add(&mut self, summary: &Summary) {
        self.total = self.total.saturating_add(summary.total as u32);
        self.ok = self.ok.saturating_add(summary.ok as u32);
        if let Some(h) = &mut self.histogram {
            h.merge(&summary.histogram);
        }
        Threshold::add_tracked(&mut self.thresholds, &summary.thresholds);
    }
}

/// What a check's series keeps beyond counts.
#[derive(Clone, Debug, Default, PartialEq)]
struct What {
    /// The windows (seconds) over which rules read the check's percentiles.
    quantile_windows: Vec<i64>,
    /// Latency SLO thresholds (µs).
    thresholds: Vec<u64>,
}

impl What {
    fn quantiles(&self) -> bool {
        !self.quantile_windows.is_empty()
    }
}

#[derive(Debug, Default)]
struct Series {
    minutes: VecDeque<Bucket>,
    hours: VecDeque<Bucket>,
    what: What,
}

impl Series {
    fn add(&mut self, at_s: i64, summary: &Summary) {
        bucket(&mut self.minutes, at_s.div_euclid(MINUTE) * MINUTE, &self.what).add(summary);
        bucket(&mut self.hours, at_s.div_euclid(HOUR) * HOUR, &self.what).add(summary);
    }

    fn forget_before(&mut self, now_s: i64) {
        while self.minutes.front().is_some_and(|b| b.start < now_s - MINUTES_KEPT) {
            self.minutes.pop_front();
        }
        while self.hours.front().is_some_and(|b| b.start < now_s - HOURS_KEPT - HOUR) {
            self.hours.pop_front();
        }
    }

    /// The runs in `[from_s, to_s)`, with percentiles when `quantiles` and a rule reads this
    /// check's over a window of this length (summing histograms is most of a round's work).
    fn window(&self, from_s: i64, to_s: i64, now_s: i64, quantiles: bool) -> Option<WindowStats> {
        let quantiles = quantiles && self.what.quantile_windows.contains(&(to_s - 1 - from_s));
        let (tier, span) = if from_s >= now_s - MINUTES_KEPT + MINUTE {
            (&self.minutes, MINUTE)
        } else if from_s >= now_s - HOURS_KEPT {
            (&self.hours, HOUR)
        } else {
            return None;
        };
        let (first, end) = (from_s.div_euclid(span) * span, to_s);
        let mut summary = Summary::tracking(&self.what.thresholds);
        // Whole hours from the hour buckets, minutes only at the edges: a 6-hour window is
        // about 66 buckets, not 360 (both tiers hold the same runs).
        let (h0, h1) = ((first + HOUR - 1).div_euclid(HOUR) * HOUR, end.div_euclid(HOUR) * HOUR);
        let pieces: [(&VecDeque<Bucket>, i64, i64); 3] = if span == MINUTE && h0 < h1 {
            [(tier, first, h0), (&self.hours, h0, h1), (tier, h1, end)]
        } else {
            [(tier, first, end), (tier, 0, 0), (tier, 0, 0)]
        };
        let buckets = || pieces.iter().flat_map(|&(t, a, b)| within(t, a, b));
        for b in buckets() {
            summary.total += u64::from(b.total);
            summary.ok += u64::from(b.ok);
            Threshold::add_tracked(&mut summary.thresholds, &b.thresholds);
        }
        if quantiles {
            summary.histogram = Histogram::sum(buckets().filter_map(|b| b.histogram.as_ref()));
        }
        if summary.total == 0 {
            return Some(WindowStats::default());
        }
        let quantiles = if quantiles { upkeep_expr::Quantile::ALL.map(|q| summary.quantile(q.q())) } else { [None; 4] };
        Some(WindowStats {
            total: summary.total,
            ok: summary.ok,
            quantiles,
            latency: latency_events(&summary.thresholds),
        })
    }
}

/// Threshold counts as the alert rules read them: a latency SLO's events per threshold.
pub fn latency_events(thresholds: &[Threshold]) -> Vec<(Duration, Events)> {
    thresholds.iter().map(|t| (Duration::from_micros(t.at_us), Events { good: t.good, valid: t.valid })).collect()
}

/// The buckets of `tier` starting in `[a, b)`.
fn within(tier: &VecDeque<Bucket>, a: i64, b: i64) -> impl Iterator<Item = &Bucket> {
    let at = if a >= b { tier.len() } else { tier.partition_point(|x| x.start < a) };
    tier.range(at..).take_while(move |x| x.start < b)
}

/// The bucket starting at `start`, made if needed; results arrive in about time order, so it is
/// nearly always the last one.
fn bucket<'a>(tier: &'a mut VecDeque<Bucket>, start: i64, what: &What) -> &'a mut Bucket {
    let at = tier.iter().rposition(|b| b.start <= start);
    match at {
        Some(i) if tier[i].start == start => &mut tier[i],
        Some(i) => {
            tier.insert(i + 1, Bucket::new(start, what));
            &mut tier[i + 1]
        }
        None => {
            tier.push_front(Bucket::new(start, what));
            &mut tier[0]
        }
    }
}

/// The recent history of the checks the rules read over windows.
#[derive(Debug, Default)]
pub struct Recent {
    series: HashMap<Arc<str>, Series>,
}

impl Recent {
    /// Tracks the checks `rules` read over windows, seeded from the store as of `now`.
    pub async fn seed(rules: &Rules, store: &Store, now: jiff::Timestamp) -> Result<Recent, StoreError> {
        let mut recent = Recent::tracking(rules);
        if recent.series.is_empty() {
            return Ok(recent);
        }
        let ago = |secs: i64| now - jiff::SignedDuration::from_secs(secs);
        for (span, from) in [(MINUTE, ago(MINUTES_KEPT)), (HOUR, ago(HOURS_KEPT + HOUR))] {
            let bars = store.bars(span, from, now, None).await?;
            for (check, series) in &mut recent.series {
                for (at, summary) in bars.get(&**check).into_iter().flatten() {
                    let start = at.as_second();
                    let tier = if span == MINUTE { &mut series.minutes } else { &mut series.hours };
                    bucket(tier, start, &series.what).add(summary);
                }
            }
        }
        Ok(recent)
    }

    /// Empty series for the checks `rules` read over windows, keeping what is known of those
    /// that stay (on reload).
    pub fn tracking(rules: &Rules) -> Recent {
        let series =
            read_over_windows(rules).into_iter().map(|(c, what)| (Arc::from(c), Series { what, ..Series::default() }));
        Recent { series: series.collect() }
    }

    pub fn keep_from(&mut self, old: Recent) {
        for (check, series) in old.series {
            if let Some(new) = self.series.get_mut(&*check)
                && new.what == series.what
            {
                *new = series;
            }
        }
    }

    pub fn record(&mut self, result: &upkeep_result::CheckResult) {
        if let Some(series) = self.series.get_mut(result.check.as_str()) {
            let mut one = Summary::tracking(&series.what.thresholds);
            one.record(result.is_ok(), result.latency);
            series.add(result.at.as_second(), &one);
        }
    }

    /// The checks whose percentiles rules read.
    pub fn quantile_checks(&self) -> Vec<String> {
        self.series.iter().filter(|(_, s)| s.what.quantiles()).map(|(c, _)| c.to_string()).collect()
    }

    pub fn forget_before(&mut self, now: jiff::Timestamp) {
        for series in self.series.values_mut() {
            series.forget_before(now.as_second());
        }
    }

    /// Every tracked check's runs in `[from, to)`, when the window is recent enough to be here;
    /// with percentiles when `quantiles`, for the checks rules read them of over such a window.
    pub fn windows(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        now: jiff::Timestamp,
        quantiles: bool,
    ) -> Option<Windows> {
        let (to_s, now_s) = (to.as_second() + 1, now.as_second());
        // Whole seconds back from `to`, so the length matches the rule's window exactly.
        let from_s = to.as_second() - to.duration_since(from).as_secs();
        let mut windows = Windows::with_capacity(self.series.len());
        for (check, s) in &self.series {
            windows.insert(Arc::clone(check), s.window(from_s, to_s, now_s, quantiles)?);
        }
        Some(windows)
    }
}

/// The checks rules read over windows, and what beyond counts: percentiles, latency SLOs.
fn read_over_windows(rules: &Rules) -> HashMap<String, What> {
    let mut checks: HashMap<String, What> = HashMap::new();
    for rule in &rules.rules {
        match &rule.condition {
            Condition::When(program) => {
                for call in program.calls() {
                    match call.function.target() {
                        Target::Check => {
                            let what = checks.entry(call.target.clone()).or_default();
                            if let (Function::Quantile(_), Some(w)) = (call.function, call.window) {
                                let w = w.as_secs() as i64;
                                if !what.quantile_windows.contains(&w) {
                                    what.quantile_windows.push(w);
                                }
                            }
                        }
                        Target::Slo => {
                            if let Some(s) = rules.slos.iter().find(|s| s.name == call.target) {
                                track_slo(s, &mut checks);
                            }
                        }
                    }
                }
            }
            Condition::SloBurn { slo: s, .. } => track_slo(s, &mut checks),
            _ => {}
        }
    }
    checks
}

/// An SLO's check counts, and the threshold of a latency SLO too.
fn track_slo(slo: &upkeep_slo::Slo, checks: &mut HashMap<String, What>) {
    let what = checks.entry(slo.check.clone()).or_default();
    if let Some(threshold) = slo.kind.threshold() {
        let us = upkeep_store::rollup::micros(threshold);
        if !what.thresholds.contains(&us) {
            what.thresholds.push(us);
            what.thresholds.sort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_the_minutes_and_hours_they_overlap() {
        let mut s =
            Series { what: What { quantile_windows: vec![5 * MINUTE], thresholds: vec![10_000] }, ..Series::default() };
        let now = 1_800_000_000 / HOUR * HOUR + 30 * MINUTE;
        let ok = |ms: u64| {
            let mut one = Summary::tracking(&[10_000]);
            one.record(true, std::time::Duration::from_millis(ms));
            one
        };
        let mut failed = Summary::tracking(&[10_000]);
        failed.record(false, std::time::Duration::from_millis(5));
        // A run every 10 s for 2 hours; every tenth fails.
        let passed = ok(20);
        for i in 0..720 {
            let at = now - 2 * HOUR + i * 10;
            s.add(at, if i % 10 == 0 { &failed } else { &passed });
        }
        let w = s.window(now - 5 * MINUTE, now + 1, now, true).unwrap();
        let counts_only = s.window(now - 15 * MINUTE, now + 1, now, true).unwrap();
        assert_eq!((counts_only.total, counts_only.quantiles), (90, [None; 4]), "no rule reads p95 over 15m");
        assert_eq!((w.total, w.ok), (30, 27));
        assert!(w.quantiles[2].is_some());
        // Beyond 6 hours, hours: the window widens back to the start of its hour.
        let long = s.window(now - 7 * HOUR, now + 1, now, false).unwrap();
        assert_eq!(long.total, 720);
        assert!(s.window(now - 4 * 24 * HOUR, now + 1, now, false).is_none(), "older than 3 days: the store's");
        // 5h45m on, minutes older than 6 hours go: the last 15 of the 120 stay; hours stay 3 days.
        s.forget_before(now + 5 * HOUR + 45 * MINUTE);
        assert_eq!(s.minutes.len(), 15);
        assert_eq!(s.minutes.front().unwrap().start, now - 15 * MINUTE);
        assert_eq!(s.hours.len(), 3);
        let p95 = w.quantiles[2].unwrap().as_secs_f64();
        assert!((p95 - 0.02).abs() / 0.02 <= 0.02, "{p95}");
        // Every passing run took 20 ms, over a 10 ms threshold; the failed ones 5 ms: none good.
        assert_eq!(w.latency, vec![(Duration::from_millis(10), Events { good: 0, valid: 30 })]);
    }
}
