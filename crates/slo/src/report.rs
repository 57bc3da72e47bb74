//! Where an SLO stands now: its SLI and budget over its window, and its burn rate over each of the
//! windows its default alerts watch. Events come through [`SliSource`], so another source of
//! events (requests from access logs) needs no change to the math.

use crate::{Budget, Events, Slo, burn_alerts};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type EventsFuture<'a> = Pin<Box<dyn Future<Output = Result<Events, String>> + Send + 'a>>;

/// Where an SLO's events come from: today its check's runs, from the store's running totals.
pub trait SliSource: Send + Sync {
    fn events<'a>(&'a self, slo: &'a Slo, from: jiff::Timestamp, to: jiff::Timestamp) -> EventsFuture<'a>;
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub slo: Slo,
    pub events: Events,
    /// `None` while the window holds no events.
    pub budget: Option<Budget>,
    /// Burn rate per window (the default alerts' windows), `None` for a window without events.
    pub burn: BTreeMap<Duration, Option<f64>>,
}

impl Report {
    /// How long until the budget is gone at the burn rate of the last hour (the shortest long
    /// window of the default alerts).
    pub fn exhausted_in(&self) -> Option<Duration> {
        let hourly = self.burn.iter().find(|(w, _)| **w >= self.hour()).and_then(|(_, b)| *b)?;
        self.budget?.exhausted_in(hourly)
    }

    fn hour(&self) -> Duration {
        burn_alerts(self.window_length())[0].window.long
    }

    fn window_length(&self) -> Duration {
        self.budget.map_or(Duration::from_secs(30 * 86_400), |b| b.window)
    }

    /// The report as JSON, for `--json` and the API.
    pub fn to_json(&self) -> serde_json::Value {
        let secs = |d: Duration| d.as_secs_f64();
        serde_json::json!({
            "name": self.slo.name,
            "check": self.slo.check,
            "kind": self.slo.kind.name(),
            "threshold_seconds": self.slo.kind.threshold().map(secs),
            "objective": self.slo.objective.ratio(),
            "window": self.slo.window.describe(),
            "events": {"good": self.events.good, "valid": self.events.valid},
            "sli": self.budget.map(|b| b.sli),
            "error_budget": self.slo.objective.budget(),
            "error_budget_seconds": self.budget.map(|b| secs(b.budget_time())),
            "budget_consumed": self.budget.map(|b| b.consumed),
            "budget_remaining": self.budget.map(|b| b.remaining),
            "budget_remaining_seconds": self.budget.map(|b| secs(b.remaining_time())),
            "exhausted_in_seconds": self.exhausted_in().map(secs),
            "burn_rates": self.burn.iter().map(|(w, b)| (upkeep_expr::Value::duration(*w).to_string(), serde_json::json!(b))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// The report for `slo` as of `now`.
pub async fn report(slo: &Slo, source: &dyn SliSource, now: jiff::Timestamp) -> Result<Report, String> {
    let (from, length) = slo.window.span(now);
    let events = source.events(slo, from, now).await?;
    let budget = Budget::of(slo.objective, length, events);
    let mut burn = BTreeMap::new();
    for alert in burn_alerts(length) {
        for window in [alert.window.long, alert.window.short] {
            if burn.contains_key(&window) {
                continue;
            }
            let since = now.checked_sub(jiff::SignedDuration::try_from(window).unwrap_or_default()).unwrap_or(now);
            let events = source.events(slo, since, now).await?;
            burn.insert(window, events.burn_rate(slo.objective));
        }
    }
    Ok(Report { slo: slo.clone(), events, budget, burn })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Objective, Window};

    /// A check failing 1% of the time for the last 10 minutes, and never before.
    struct Outage {
        now: jiff::Timestamp,
    }

    impl SliSource for Outage {
        fn events<'a>(&'a self, _slo: &'a Slo, from: jiff::Timestamp, to: jiff::Timestamp) -> EventsFuture<'a> {
            let minutes = (to.duration_since(from).as_secs() / 60) as u64;
            let recent = minutes.min(10);
            let start_of_outage = self.now - jiff::SignedDuration::from_mins(10);
            assert!(to == self.now && from <= self.now && start_of_outage <= self.now);
            // 100 runs a minute; 1 of them fails each minute of the outage.
            Box::pin(std::future::ready(Ok(Events { good: minutes * 100 - recent, valid: minutes * 100 })))
        }
    }

    #[tokio::test]
    async fn a_report_has_the_budget_and_every_burn_window() {
        let now: jiff::Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let slo = Slo {
            name: "api-availability".into(),
            check: "api".into(),
            objective: Objective::new(0.999).unwrap(),
            window: Window::Rolling(Duration::from_secs(30 * 86_400)),
            kind: Kind::Availability,
        };
        let report = report(&slo, &Outage { now }, now).await.unwrap();
        assert_eq!(report.events, Events { good: 4_319_990, valid: 4_320_000 });
        let budget = report.budget.unwrap();
        assert!((budget.consumed - 10.0 / 4_320.0).abs() < 1e-9, "{}", budget.consumed);
        // The 5-minute window is all outage: 1% failing burns a 0.1% budget at 10x.
        assert!((report.burn[&Duration::from_secs(300)].unwrap() - 10.0).abs() < 1e-9);
        // The hour: 10 failures in 6,000 runs.
        assert!((report.burn[&Duration::from_secs(3600)].unwrap() - 10.0 / 6.0).abs() < 1e-9);
        assert_eq!(report.burn.len(), 7, "1h, 5m, 6h, 30m, 1d, 2h, 3d (6h shared)");
        let json = report.to_json();
        assert_eq!(json["error_budget_seconds"], 2592.0);
        assert_eq!(json["window"], "30d");
    }

    #[test]
    fn a_calendar_month_runs_from_its_first_day() {
        let now: jiff::Timestamp = "2026-02-10T12:00:00Z".parse().unwrap();
        let (from, length) = Window::Month(jiff::tz::TimeZone::UTC).span(now);
        assert_eq!(from.to_string(), "2026-02-01T00:00:00Z");
        assert_eq!(length, Duration::from_secs(28 * 86_400));
    }
}
