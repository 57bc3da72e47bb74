//! Service level objectives: the math, exactly as the design states it. An SLI is good events
//! over valid events in a window (a check run is an event; for a latency SLO a run at or under
//! the threshold is good). The error budget is `1 − objective`; the budget consumed is
//! `(1 − SLI) / (1 − objective)` and may exceed 1; what remains is `1 − consumed` and may go
//! below zero; the burn rate over a window is `(1 − SLI over it) / (1 − objective)`. The default
//! alerts are the SRE Workbook's multi-window, multi-burn-rate pairs, scaled to the SLO's
//! window.
//!
//! Seed 000's `error_budget = max(0, target − availability)` is not an error budget: it is zero
//! while the budget is half spent and positive once it is overspent (see the tests).

mod budget;
mod burn;
mod export;
mod report;
mod section;

pub use budget::{Budget, Events, Objective};
pub use burn::{BurnAlert, BurnWindow, Urgency, burn_alerts};
pub use export::prometheus_rules;
pub use report::{EventsFuture, Report, SliSource, report};
pub use section::{Kind, Slo, Window, latency_thresholds, read_slos};
