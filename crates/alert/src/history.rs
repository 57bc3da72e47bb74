//! What alert rules read from stored history, fetched before they are evaluated: one read per
//! distinct window covers every check (and every SLO on it), so 1,000 rules over five windows
//! cost five reads of the running totals, not 1,000.

use crate::rule::{Condition, Rules};
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use upkeep_expr::{Call, Function, Value};
use upkeep_slo::Events;

pub type HistoryFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// One check's runs over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowStats {
    pub total: u64,
    pub ok: u64,
    /// Each of [`upkeep_expr::Quantile::ALL`], when there were runs.
    pub quantiles: [Option<Duration>; 4],
    /// Per latency threshold the store counts this check's runs against: valid and good runs.
    pub latency: Vec<(Duration, Events)>,
}

impl WindowStats {
    /// An SLO's events among these runs (none for a latency threshold not counted here).
    pub fn events(&self, slo: &upkeep_slo::Slo) -> Events {
        match slo.kind.threshold() {
            None => Events { good: self.ok, valid: self.total },
            Some(threshold) => {
                self.latency.iter().find(|(t, _)| *t == threshold).map_or(Events::default(), |(_, events)| *events)
            }
        }
    }
}

/// Where history comes from: the store's running totals and transitions.
/// Each check's runs over one window, by check (shared names: one map per window, every round).
pub type Windows = HashMap<std::sync::Arc<str>, WindowStats>;

pub trait HistorySource: Send + Sync {
    /// Every check's runs in `[from, to)`; their percentiles only when `quantiles` (they cost
    /// a read of rollups where counts cost two index seeks).
    fn windows<'a>(&'a self, from: jiff::Timestamp, to: jiff::Timestamp, quantiles: bool)
    -> HistoryFuture<'a, Windows>;

    /// How many times `check` changed state in `[from, to)`.
    fn changes<'a>(&'a self, check: &'a str, from: jiff::Timestamp, to: jiff::Timestamp) -> HistoryFuture<'a, u64>;
}

/// Everything the rules read from history as of one moment.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    pub calls: HashMap<Call, Value>,
    /// Burn rate per (SLO, window); `None` for a window without runs.
    pub burn: HashMap<(String, Duration), Option<f64>>,
}

/// Reads what `rules` need as of `now`.
pub async fn fetch(rules: &Rules, source: &dyn HistorySource, now: jiff::Timestamp) -> Result<Fetched, String> {
    let mut windows: BTreeSet<Duration> = BTreeSet::new();
    let mut quantile_windows: BTreeSet<Duration> = BTreeSet::new();
    let mut calls: BTreeSet<&Call> = BTreeSet::new();
    let mut slos = HashMap::new();
    for rule in &rules.rules {
        match &rule.condition {
            Condition::When(program) => {
                for call in program.calls() {
                    calls.insert(call);
                    windows.extend(call.window);
                    if matches!(call.function, Function::Quantile(_)) {
                        quantile_windows.extend(call.window);
                    }
                }
            }
            Condition::SloBurn { slo, alert } => {
                windows.insert(alert.window.long);
                windows.insert(alert.window.short);
                slos.insert(slo.name.clone(), slo);
            }
            _ => {}
        }
    }
    let mut by_window = HashMap::new();
    for window in windows {
        let quantiles = quantile_windows.contains(&window);
        by_window.insert(window, source.windows(ago(now, window), now, quantiles).await?);
    }
    let stats =
        |check: &str, window: Duration| by_window.get(&window).and_then(|w| w.get(check)).cloned().unwrap_or_default();
    // An SLO's own window (for `budget_remaining`) is read once per distinct start.
    let mut by_start: HashMap<jiff::Timestamp, Windows> = HashMap::new();
    let mut fetched = Fetched::default();
    for call in calls {
        let value = match call.function {
            Function::BurnRate | Function::BudgetRemaining => {
                let Some(slo) = rules_slo(rules, &call.target) else { continue };
                match call.window {
                    Some(w) => number(stats(&slo.check, w).events(slo).burn_rate(slo.objective)),
                    None => {
                        let (from, length) = slo.window.span(now);
                        let window = match by_start.entry(from) {
                            std::collections::hash_map::Entry::Occupied(read) => read.into_mut(),
                            std::collections::hash_map::Entry::Vacant(unread) => {
                                unread.insert(source.windows(from, now, false).await?)
                            }
                        };
                        let events = window.get(slo.check.as_str()).map_or(Events::default(), |s| s.events(slo));
                        let budget = upkeep_slo::Budget::of(slo.objective, length, events);
                        budget.map_or(Value::Null, |b| Value::Percent(b.remaining * 100.0))
                    }
                }
            }
            Function::Changes => {
                let w = call.window.unwrap_or_default();
                Value::Number(source.changes(&call.target, ago(now, w), now).await? as f64)
            }
            function => check_value(function, stats(&call.target, call.window.unwrap_or_default())),
        };
        fetched.calls.insert(call.clone(), value);
    }
    for (name, slo) in slos {
        for alert in upkeep_slo::burn_alerts(slo.window.span(now).1) {
            for window in [alert.window.long, alert.window.short] {
                let burn = stats(&slo.check, window).events(slo).burn_rate(slo.objective);
                fetched.burn.insert((name.clone(), window), burn);
            }
        }
    }
    Ok(fetched)
}

fn rules_slo<'a>(rules: &'a Rules, name: &str) -> Option<&'a std::sync::Arc<upkeep_slo::Slo>> {
    rules.slos.iter().find(|s| s.name == name)
}

/// A check function's value over one window's runs; no runs is no value, not 0%.
fn check_value(function: Function, s: WindowStats) -> Value {
    if s.total == 0 {
        return if function == Function::Count { Value::Number(0.0) } else { Value::Null };
    }
    let share = |n: u64| Value::Percent(n as f64 * 100.0 / s.total as f64);
    match function {
        Function::Availability => share(s.ok),
        Function::ErrorRate => share(s.total - s.ok),
        Function::Count => Value::Number(s.total as f64),
        Function::Quantile(q) => s.quantiles[q.index()].map_or(Value::Null, Value::duration),
        _ => Value::Null,
    }
}

fn number(n: Option<f64>) -> Value {
    n.map_or(Value::Null, Value::Number)
}

fn ago(now: jiff::Timestamp, window: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(window).ok().and_then(|w| now.checked_sub(w).ok()).unwrap_or(jiff::Timestamp::MIN)
}
