//! The one verdict on the watched system, shared by `/health`, the API, the dashboard and
//! (later) the status page: each check is pending, ok or failing, and the whole is healthy,
//! degraded (only non-critical checks fail) or unhealthy (a critical check fails).

use crate::live::{Live, LiveCheck};
use std::sync::Arc;
use upkeep_probe::Check;

/// A check as every view shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckState {
    /// It has not run since it was added.
    Pending,
    Ok,
    Failing,
}

impl CheckState {
    pub fn of(live: Option<&LiveCheck>) -> CheckState {
        match live {
            None => CheckState::Pending,
            Some(l) if l.result.is_ok() => CheckState::Ok,
            Some(_) => CheckState::Failing,
        }
    }

    /// As the API and `/health` write it.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Pending => "pending",
            CheckState::Ok => "ok",
            CheckState::Failing => "error",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overall {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Healthy => "healthy",
            Overall::Degraded => "degraded",
            Overall::Unhealthy => "unhealthy",
        }
    }
}

/// Every check with its latest result, and the verdict on them all.
#[derive(Debug)]
pub struct Health {
    pub overall: Overall,
    pub checks: Vec<(Arc<Check>, Option<LiveCheck>)>,
}

impl Health {
    pub fn failing(&self) -> usize {
        self.checks.iter().filter(|(_, live)| CheckState::of(live.as_ref()) == CheckState::Failing).count()
    }
}

/// The verdict on `checks` as `live` has them now. Checks that have not run yet count for
/// nothing.
pub fn health(checks: &[Arc<Check>], live: &Live) -> Health {
    // Tasks and backups are not the app's health: a failed weekly VACUUM or nightly backup
    // alerts, and shows on its panel, without making `/health` degraded.
    let checks: Vec<(Arc<Check>, Option<LiveCheck>)> =
        checks.iter().filter(|c| c.is_probe()).map(|c| (Arc::clone(c), live.get(&c.name))).collect();
    let failing = |critical: bool| {
        checks.iter().any(|(c, l)| c.critical == critical && CheckState::of(l.as_ref()) == CheckState::Failing)
    };
    let overall = if failing(true) {
        Overall::Unhealthy
    } else if failing(false) {
        Overall::Degraded
    } else {
        Overall::Healthy
    };
    Health { overall, checks }
}
