//! Maintenance windows from config (`[[maintenance]]`): a one-off `start`..`end`, or a cron
//! `schedule` with a `duration`. While one lasts, the alerts of the checks and components it
//! covers are muted (shown, not notified). Beyond muting, a window is announced ahead of time
//! and when it starts and ends, and may switch the app's maintenance mode for its length: what
//! of that is due at a moment is [`MaintenanceWindow::due`].

use jiff::{SignedDuration, Timestamp};
use std::time::Duration;
use upkeep_schedule::Cadence;

#[derive(Clone, Debug)]
pub struct MaintenanceWindow {
    pub name: String,
    pub when: When,
    /// Its `zone`: the one its times are written and announced in.
    pub zone: jiff::tz::TimeZone,
    /// Covered checks and components; both empty covers every alert.
    pub checks: Vec<String>,
    pub components: Vec<String>,
    /// How long before it starts that it is announced (default 48 h, seed 003's notice).
    pub notice: Duration,
    /// What happens in it, for the announcement and the status page.
    pub description: Option<String>,
    /// The notification channels its announcements go to.
    pub announce: Vec<upkeep_config::Spanned<String>>,
    /// `mode = true`: the app's maintenance mode is on for its length (where it is written).
    pub mode: Option<std::ops::Range<usize>>,
}

/// A moment in a window's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Announced `notice` ahead.
    Scheduled,
    Started,
    Ended,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scheduled => "scheduled",
            Phase::Started => "started",
            Phase::Ended => "ended",
        }
    }
}

/// One phase of one occurrence that is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    pub phase: Phase,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Whether it switches the app's mode (a start or end a pass has not handled yet), as
    /// opposed to an announcement alone, which the outbox takes once by its key.
    pub switch: bool,
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

    /// When its notice of an occurrence starting at `start` goes out.
    pub fn notice_at(&self, start: Timestamp) -> Timestamp {
        start.checked_sub(SignedDuration::try_from(self.notice).unwrap_or_default()).unwrap_or(start)
    }

    /// What is due in a pass at `now`, the one before having been at `last` (`None`: this is
    /// the first pass ever, so nothing past is replayed). A notice is due from its time until
    /// the start, even late (a window added inside its notice period is still announced); a
    /// start while the occurrence lasts, switching the mode only if no pass saw it begin; an
    /// end once, and only when a pass saw the occurrence running — a window that came and went
    /// while Upkeep was down is neither started nor ended.
    pub fn due(&self, last: Option<Timestamp>, now: Timestamp) -> Vec<Due> {
        let horizon = now + SignedDuration::try_from(self.notice).unwrap_or_default() + SignedDuration::from_secs(1);
        let from = last.unwrap_or(now).min(now);
        let mut out = Vec::new();
        for (start, end) in self.upcoming(from, horizon) {
            let seen_running = last.is_some_and(|last| start <= last && last < end);
            let due = |phase, switch| Due { phase, start, end, switch };
            if self.notice > Duration::ZERO && self.notice_at(start) <= now && now < start {
                out.push(due(Phase::Scheduled, false));
            }
            if start <= now && now < end {
                out.push(due(Phase::Started, last.is_some_and(|last| last < start)));
            }
            if end <= now && seen_running {
                out.push(due(Phase::Ended, true));
            }
        }
        out
    }

    /// When `due` next has something new to say after `now`: the next notice, start or end.
    pub fn next_phase(&self, now: Timestamp) -> Option<Timestamp> {
        let notice = SignedDuration::try_from(self.notice).unwrap_or_default();
        let candidates = match &self.when {
            When::Once { start, end } => vec![self.notice_at(*start), *start, *end],
            When::Every { schedule, duration } => {
                let length = SignedDuration::try_from(*duration).unwrap_or_default();
                let end_of = |start: Timestamp| start.checked_add(length).ok();
                let current = schedule.previous_at_or_before(now).and_then(end_of);
                let next = schedule.next_after(now);
                // The next notice belongs to the first start more than `notice` away.
                let next_notice =
                    now.checked_add(notice).ok().and_then(|t| schedule.next_after(t)).map(|s| self.notice_at(s));
                [current, next, next.and_then(end_of), next_notice].into_iter().flatten().collect()
            }
        };
        candidates.into_iter().filter(|t| *t > now).min()
    }

    pub fn covers(&self, labels: &crate::Labels) -> bool {
        if self.checks.is_empty() && self.components.is_empty() {
            return true;
        }
        let has = |label: &str, names: &[String]| labels.get(label).is_some_and(|v| names.iter().any(|n| n == v));
        has("check", &self.checks) || has("component", &self.components)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 003's monthly window: the first Sunday of the month 02:00–04:00, 48 hours' notice.
    fn monthly() -> MaintenanceWindow {
        MaintenanceWindow {
            name: "monthly".into(),
            when: When::Every {
                schedule: Cadence::cron("0 2 * * SUN#1", jiff::tz::TimeZone::UTC).unwrap(),
                duration: Duration::from_secs(2 * 3600),
            },
            zone: jiff::tz::TimeZone::UTC,
            checks: Vec::new(),
            components: Vec::new(),
            notice: Duration::from_secs(48 * 3600),
            description: None,
            announce: Vec::new(),
            mode: None,
        }
    }

    fn t(s: &str) -> Timestamp {
        format!("2026-12-{s}:00Z").parse().unwrap()
    }

    fn phases(w: &MaintenanceWindow, last: Option<&str>, now: &str) -> Vec<(Phase, bool)> {
        w.due(last.map(t), t(now)).into_iter().map(|d| (d.phase, d.switch)).collect()
    }

    #[test]
    fn notice_start_and_end_fall_due_once_each_in_order() {
        let w = monthly();
        assert_eq!(w.next_phase(t("01T00:00")), Some(t("04T02:00")), "48 h before Sunday the 6th");
        assert_eq!(phases(&w, Some("01T00:00"), "03T00:00"), []);
        assert_eq!(phases(&w, Some("03T00:00"), "04T02:00"), [(Phase::Scheduled, false)]);
        assert_eq!(w.next_phase(t("04T02:00")), Some(t("06T02:00")));
        assert_eq!(phases(&w, Some("04T02:00"), "06T02:00"), [(Phase::Started, true)]);
        assert_eq!(w.next_phase(t("06T02:00")), Some(t("06T04:00")));
        assert_eq!(phases(&w, Some("06T02:00"), "06T03:00"), [(Phase::Started, false)], "a restart mid-window");
        assert_eq!(phases(&w, Some("06T03:00"), "06T04:00"), [(Phase::Ended, true)]);
        assert_eq!(phases(&w, Some("06T04:00"), "06T05:00"), [], "the end is said once");
        let january = "2027-01-01T02:00:00Z".parse().unwrap();
        assert_eq!(w.next_phase(t("06T04:00")), Some(january), "notice of Sunday 3 January");
    }

    #[test]
    fn a_window_missed_while_down_is_neither_started_nor_ended_and_a_late_notice_still_goes_out() {
        let w = monthly();
        assert_eq!(phases(&w, Some("05T00:00"), "06T05:00"), [], "down from before the start to after the end");
        assert_eq!(phases(&w, Some("05T00:00"), "06T03:00"), [(Phase::Started, true)], "back inside the window");
        assert_eq!(phases(&w, None, "05T00:00"), [(Phase::Scheduled, false)], "first start inside the notice");
        assert_eq!(phases(&w, None, "06T03:00"), [(Phase::Started, false)], "first start mid-window: no switch");
    }
}
