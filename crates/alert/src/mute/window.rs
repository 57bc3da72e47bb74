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
    /// How long before it starts that it is announced (default 48 h, seed 003's notice).
    pub notice: Duration,
    /// What happens in it, for the announcement and the status page.
    pub description: Option<String>,
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

    /// Its occurrences that have not ended by `now` and start before `until`, in order: a
    /// one-off window once, a recurring one at each start its schedule names.
    pub fn upcoming(&self, now: Timestamp, until: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        match &self.when {
            When::Once { start, end } => {
                if *end > now && *start < until {
                    vec![(*start, *end)]
                } else {
                    Vec::new()
                }
            }
            When::Every { schedule, duration } => {
                let length = SignedDuration::try_from(*duration).unwrap_or_default();
                let mut found = Vec::new();
                // A window that began before `now` and lasts still counts.
                let mut at =
                    schedule.previous_at_or_before(now).filter(|s| s.checked_add(length).is_ok_and(|e| e > now));
                if at.is_none() {
                    at = schedule.next_after(now);
                }
                while let Some(start) = at {
                    if start >= until || found.len() >= 1000 {
                        break;
                    }
                    found.push((start, start.checked_add(length).unwrap_or(start)));
                    at = schedule.next_after(start);
                }
                found
            }
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
