//! Prometheus metrics, named as DESIGN.md's contract says. The registry is shared; each
//! component registers its own metrics (the scheduler its lag, the writer its writes); the
//! check metrics `upkeep_check_up{check}` and `upkeep_check_duration_seconds{check}` are a
//! consumer of committed results.

use crate::stream::{Committed, ConsumeFuture, Consumer};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabels {
    pub check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub check: String,
    /// `ok` or `error`.
    pub status: &'static str,
}

/// Upper bounds (seconds) of the exposed histogram's buckets: Prometheus' usual spread from
/// 0.5 ms to a minute. The store's own histogram is far finer (within 2%).
const BUCKETS: [f64; 16] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ThresholdLabels {
    pub check: String,
    /// Seconds, as Prometheus' `le` is written.
    pub threshold: String,
}

type Counter = prometheus_client::metrics::counter::Counter;

type HistogramFamily = Family<CheckLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS.iter().copied())
}

/// The daemon's metrics registry. Each component registers its own metrics in it at start;
/// after that it only encodes.
pub struct Metrics {
    registry: Registry,
    /// The length of the last exposition: the next one is written into a string that size,
    /// not one doubled again and again (at 10,000 checks it is about 15 MB).
    last_len: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(registry: Registry) -> Self {
        Metrics { registry, last_len: Default::default() }
    }

    /// The OpenMetrics text exposition, as Prometheus asks for it.
    pub fn encode(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let last = self.last_len.load(Relaxed);
        let mut text = String::with_capacity(last + last / 16);
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        self.last_len.store(text.len(), Relaxed);
        text
    }

    /// The classic Prometheus text format (0.0.4), for clients that do not ask for OpenMetrics
    /// (curl, promtool, older scrapers): counters' HELP and TYPE name the `_total` series, and
    /// there is no `# EOF`.
    pub fn encode_classic(&self) -> String {
        classic(&self.encode())
    }
}

/// `upkeep_check_up{check}`, `upkeep_check_duration_seconds{check}`,
/// `upkeep_check_runs_total{check,status}` (the events of an availability SLO, for Prometheus'
/// own burn-rate rules: `upkeep slo export prometheus`) and
/// `upkeep_check_runs_within_threshold_total{check,threshold}` (a latency SLO's good events:
/// passing runs at or under its threshold), from committed results.
pub struct CheckMetrics {
    up: Family<CheckLabels, Gauge>,
    duration: HistogramFamily,
    runs: Family<RunLabels, Counter>,
    within: Family<ThresholdLabels, Counter>,
    /// Check → its latency SLOs' thresholds, with their label.
    thresholds: std::sync::RwLock<std::collections::HashMap<String, Vec<(Duration, String)>>>,
    /// Checks with series, so removed checks' series can be dropped.
    known: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl CheckMetrics {
    pub fn register(registry: &mut Registry) -> CheckMetrics {
        let up = Family::<CheckLabels, Gauge>::default();
        registry.register("check_up", "1 when the check's latest run passed, 0 when it failed", up.clone());
        let duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "check_duration_seconds",
            "Each run's latency as the probe measures it (request, query round trip, handshake)",
            duration.clone(),
        );
        let runs = Family::<RunLabels, Counter>::default();
        registry.register("check_runs", "Runs of the check since the daemon started, by status", runs.clone());
        let within = Family::<ThresholdLabels, Counter>::default();
        registry.register(
            "check_runs_within_threshold",
            "Passing runs at or under a latency SLO's threshold since the daemon started",
            within.clone(),
        );
        CheckMetrics { up, duration, runs, within, thresholds: Default::default(), known: Default::default() }
    }

    /// Counts runs against these thresholds (check → its latency SLOs' thresholds) from now on;
    /// series of thresholds no longer configured go.
    pub fn track_thresholds(&self, thresholds: std::collections::HashMap<String, Vec<Duration>>) {
        let labelled: std::collections::HashMap<String, Vec<(Duration, String)>> = thresholds
            .into_iter()
            .map(|(check, t)| (check, t.into_iter().map(|d| (d, d.as_secs_f64().to_string())).collect()))
            .collect();
        let mut current = self.thresholds.write().unwrap_or_else(|e| e.into_inner());
        for (check, old) in current.iter() {
            for (_, threshold) in old {
                let kept = labelled.get(check).is_some_and(|new| new.iter().any(|(_, t)| t == threshold));
                if !kept {
                    self.within.remove(&ThresholdLabels { check: check.clone(), threshold: threshold.clone() });
                }
            }
        }
        for (check, new) in &labelled {
            for (_, threshold) in new {
                let _ =
                    self.within.get_or_create(&ThresholdLabels { check: check.clone(), threshold: threshold.clone() });
            }
        }
        *current = labelled;
    }

    pub fn record(&self, check: &str, ok: bool, latency: Duration) {
        let labels = CheckLabels { check: check.to_string() };
        let new = self.known.lock().unwrap_or_else(|e| e.into_inner()).insert(check.to_string());
        if new {
            // Both series from the start: an error ratio over a check that never failed is 0,
            // not absent.
            for status in ["ok", "error"] {
                let _ = self.runs.get_or_create(&RunLabels { check: check.to_string(), status });
            }
        }
        self.up.get_or_create(&labels).set(i64::from(ok));
        self.duration.get_or_create(&labels).observe(latency.as_secs_f64());
        if ok && let Some(thresholds) = self.thresholds.read().unwrap_or_else(|e| e.into_inner()).get(check) {
            for (at, threshold) in thresholds {
                if latency <= *at {
                    self.within
                        .get_or_create(&ThresholdLabels { check: check.to_string(), threshold: threshold.clone() })
                        .inc();
                }
            }
        }
        let status = if ok { "ok" } else { "error" };
        self.runs.get_or_create(&RunLabels { check: labels.check, status }).inc();
    }

    /// The `up` gauge from the stored state at start; durations are not observed twice.
    pub fn restore(&self, check: &str, ok: bool) {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).insert(check.to_string());
        for status in ["ok", "error"] {
            let _ = self.runs.get_or_create(&RunLabels { check: check.to_string(), status });
        }
        self.up.get_or_create(&CheckLabels { check: check.to_string() }).set(i64::from(ok));
    }

    /// Drops the series of checks that are no longer configured.
    pub fn retain(&self, names: &[String]) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.retain(|name| {
            let keep = names.contains(name);
            if !keep {
                let label = CheckLabels { check: name.clone() };
                self.up.remove(&label);
                self.duration.remove(&label);
                for status in ["ok", "error"] {
                    self.runs.remove(&RunLabels { check: name.clone(), status });
                }
            }
            keep
        });
    }
}

impl Consumer for CheckMetrics {
    fn name(&self) -> &'static str {
        "check metrics"
    }

    fn consume<'a>(&'a self, batch: &'a Committed) -> ConsumeFuture<'a> {
        for result in &batch.results {
            self.record(&result.check, result.is_ok(), result.latency);
        }
        Box::pin(std::future::ready(()))
    }
}

fn classic(openmetrics: &str) -> String {
    let counters: Vec<&str> =
        openmetrics.lines().filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    // A `_total` more per counter's HELP and TYPE lines, fewer for `# EOF` and `# UNIT`.
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_format_names_counters_by_their_series() {
        let mut registry = Registry::with_prefix("upkeep");
        let written = prometheus_client::metrics::counter::Counter::<u64>::default();
        registry.register("store_results_written", "Check results written to the store", written.clone());
        written.inc_by(3);
        let metrics = Metrics::new(registry);
        let text = metrics.encode_classic();
        assert!(
            text.contains("# TYPE upkeep_store_results_written_total counter\nupkeep_store_results_written_total 3\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
        assert!(metrics.encode().ends_with("# EOF\n"));
    }
}
