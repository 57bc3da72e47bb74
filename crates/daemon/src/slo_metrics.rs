//! The SLO metrics of the design's contract, computed from the store when `/metrics` is scraped
//! (each SLO costs a few two-seek window queries): `upkeep_slo_objective_ratio{slo}`,
//! `upkeep_slo_sli_ratio{slo,window}`, `upkeep_slo_error_budget_remaining_ratio{slo}` and
//! `upkeep_slo_burn_rate{slo,window}`, the last two windows being the SLO's own and those its
//! default burn-rate alerts watch.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use upkeep_slo::Report;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SloLabel {
    slo: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SloWindow {
    slo: String,
    window: String,
}

type Ratio = Gauge<f64, AtomicU64>;

#[derive(Debug)]
pub struct SloMetrics {
    objective: Family<SloLabel, Ratio>,
    sli: Family<SloWindow, Ratio>,
    remaining: Family<SloLabel, Ratio>,
    burn: Family<SloWindow, Ratio>,
}

impl SloMetrics {
    pub fn register(registry: &mut Registry) -> SloMetrics {
        let metrics = SloMetrics {
            objective: Family::default(),
            sli: Family::default(),
            remaining: Family::default(),
            burn: Family::default(),
        };
        registry.register(
            "slo_objective_ratio",
            "The share of good events the SLO promises",
            metrics.objective.clone(),
        );
        registry.register("slo_sli_ratio", "Good events over valid events in the window", metrics.sli.clone());
        registry.register(
            "slo_error_budget_remaining_ratio",
            "1 - (1 - SLI) / (1 - objective) over the SLO's window; below 0 once overspent",
            metrics.remaining.clone(),
        );
        registry.register("slo_burn_rate", "(1 - SLI over the window) / (1 - objective)", metrics.burn.clone());
        metrics
    }

    /// Replaces every series with those of `reports` (so a removed SLO's series go).
    pub fn set(&self, reports: &[Report]) {
        self.objective.clear();
        self.sli.clear();
        self.remaining.clear();
        self.burn.clear();
        for report in reports {
            let slo = report.slo.name.clone();
            self.objective.get_or_create(&SloLabel { slo: slo.clone() }).set(report.slo.objective.ratio());
            if let Some(budget) = report.budget {
                let window = SloWindow { slo: slo.clone(), window: report.slo.window.describe() };
                self.sli.get_or_create(&window).set(budget.sli);
                self.remaining.get_or_create(&SloLabel { slo: slo.clone() }).set(budget.remaining);
            }
            for (length, rate) in &report.burn {
                let Some(rate) = rate else { continue };
                let window = SloWindow { slo: slo.clone(), window: upkeep_expr::Value::duration(*length).to_string() };
                self.burn.get_or_create(&window).set(*rate);
                self.sli.get_or_create(&window).set(1.0 - rate * report.slo.objective.budget());
            }
        }
    }
}
