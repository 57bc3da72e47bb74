//! Maintenance windows from config (`[[maintenance]]`): a one-off `start`..`end`, or a cron
//! `schedule` with a `duration`. While one lasts, the alerts of the checks and components it
//! covers are muted (shown, not notified).

use jiff::{SignedDuration, Timestamp};
use std::time::Duration;
use upkeep_schedule::Cadence;

#[derive(Clone, Debug)]
pub struct MaintenanceWindow {
    pub name: String,
    pub when: When,
    /// Covered checks and components; both empty covers every alert.
    pub checks: Vec<String>,
    pub components: Vec<String>,
}

#[derive(Clone, Debug)]
pub enum When {
    Once { start: Timestamp, end: Timestamp },
    Every { schedule: Cadence, duration: Duration },
}

impl MaintenanceWindow {
    /// Whether the window lasts at `now`: a recurring one, when its latest start is less than
    /// `duration` ago.
    pub fn is_active(&self, now: Timestamp) -> bool {
        match &self.when {
            When::Once { start, end } => *start <= now && now < *end,
            When::Every { schedule, duration } => schedule.previous_at_or_before(now).is_some_and(|start| {
                let end = start.checked_add(SignedDuration::try_from(*duration).unwrap_or_default());
                end.is_ok_and(|end| now < end)
            }),
        }
    }

    pub fn covers(&self, labels: &crate::Labels) -> bool {
        if self.checks.is_empty() && self.components.is_empty() {
            return true;
        }
        let has = |label: &str, names: &[String]| labels.get(label).is_some_and(|v| names.iter().any(|n| n == v));
        has("check", &self.checks) || has("component", &self.components)
    }
}
