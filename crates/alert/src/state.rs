//! The alert state machine, pure: given whether the condition holds now, and the time, it moves
//! an alert through inactive → pending → firing → resolved and says when a notification is due.
//!
//! - **pending** while the condition has held for less than `for` (a time, or a number of
//!   consecutive runs: a check's own down alert waits for `alert_after` failures);
//! - **firing** once it has held that long; it stays firing for `keep_firing_for` after the
//!   condition stops holding (or until `recover_after` passing runs), so a flapping value does
//!   not resolve and re-fire;
//! - **resolved** when it stops; resolved behaves as inactive and remembers when.
//!
//! Notifications: one when it fires, then every `repeat` while it fires; `cooldown` is the least
//! time between two firing notifications of one alert, so an alert that fires again soon after it
//! resolved waits before notifying again. A resolve is notified only when its firing was.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a condition must hold (or stop holding): a time, or a number of consecutive runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    Time(Duration),
    Runs(u32),
}

/// An alert's timing, from its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `for`: before pending becomes firing.
    pub pending: Hold,
    /// `keep_firing_for`: before a firing alert whose condition stopped resolves.
    pub keep_firing: Hold,
    /// `repeat`: between notifications while it fires, when the rule (or `[alerts]`) sets it.
    /// `None` leaves repeats to the notification route's `repeat_interval`.
    pub repeat: Option<Duration>,
    /// `cooldown`: the least time between two firing notifications.
    pub cooldown: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            pending: Hold::Time(Duration::ZERO),
            keep_firing: Hold::Time(Duration::ZERO),
            repeat: None,
            cooldown: Duration::ZERO,
        }
    }
}

/// Where an alert is. Kept in the store as JSON, so a restart resumes exactly here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum State {
    Inactive,
    Pending {
        since: Timestamp,
        /// Consecutive runs the condition has held.
        runs: u32,
    },
    Firing {
        since: Timestamp,
        /// When the condition last held (`keep_firing_for` counts from here).
        last_true: Timestamp,
        /// Consecutive runs the condition has not held (`recover_after` counts these).
        clear_runs: u32,
        /// Whether the condition has stopped holding (and `keep_firing_for` is running).
        #[serde(default)]
        clearing: bool,
        /// When the last firing notification of this episode was due; `None` while a cooldown
        /// holds it back.
        notified: Option<Timestamp>,
    },
    Resolved {
        at: Timestamp,
    },
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Pending { .. } => "pending",
            State::Firing { .. } => "firing",
            State::Resolved { .. } => "resolved",
        }
    }

    /// Since when it has been in this state, when that is known.
    pub fn since(&self) -> Option<Timestamp> {
        match self {
            State::Inactive => None,
            State::Pending { since, .. } | State::Firing { since, .. } => Some(*since),
            State::Resolved { at } => Some(*at),
        }
    }

    pub fn is_firing(&self) -> bool {
        matches!(self, State::Firing { .. })
    }
}

/// A notification that is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notice {
    /// It started firing (or its cooldown ended while it fires).
    Firing,
    /// It is still firing, `repeat` after the last notification.
    Repeat,
    Resolved,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Firing => "firing",
            Notice::Repeat => "repeat",
            Notice::Resolved => "resolved",
        }
    }
}

/// What an evaluation changed: a state change, a notification, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: &'static str,
    pub to: &'static str,
    pub notice: Option<Notice>,
}

/// One alert's memory: its state, and when it last notified firing (for `cooldown`, across
/// episodes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    #[serde(flatten)]
    pub state: State,
    #[serde(default)]
    pub last_fired: Option<Timestamp>,
}

impl Default for Memory {
    fn default() -> Self {
        Memory { state: State::Inactive, last_fired: None }
    }
}

impl Memory {
    /// Moves the alert on. `holds`: whether the condition holds; `run`: whether this is a new
    /// decision (a committed result) rather than time passing over the last one — only runs
    /// count towards a hold counted in runs.
    pub fn advance(&mut self, holds: bool, run: bool, now: Timestamp, timing: &Timing) -> Option<Step> {
        let from = self.state.name();
        let mut notice = None;
        let counted = u32::from(run);
        self.state = match std::mem::replace(&mut self.state, State::Inactive) {
            State::Inactive | State::Resolved { .. } if holds => self.pend(now, 1, timing),
            same @ (State::Inactive | State::Resolved { .. }) => same,
            State::Pending { .. } if !holds => State::Inactive,
            State::Pending { since, runs } => {
                let runs = runs.saturating_add(counted);
                if held(timing.pending, since, runs, now) { fire(now) } else { State::Pending { since, runs } }
            }
            State::Firing { since, notified, .. } if holds => {
                State::Firing { since, last_true: now, clear_runs: 0, clearing: false, notified }
            }
            State::Firing { since, last_true, clear_runs, notified, .. } => {
                let clear_runs = clear_runs.saturating_add(counted);
                if held(timing.keep_firing, last_true, clear_runs, now) {
                    notice = notified.map(|_| Notice::Resolved);
                    State::Resolved { at: now }
                } else {
                    State::Firing { since, last_true, clear_runs, clearing: true, notified }
                }
            }
        };
        if notice.is_none() {
            notice = self.due(now, timing);
        }
        let to = self.state.name();
        (from != to || notice.is_some()).then_some(Step { from, to, notice })
    }

    /// Pending from `now`, or straight to firing when `for` is already met.
    fn pend(&self, now: Timestamp, runs: u32, timing: &Timing) -> State {
        if held(timing.pending, now, runs, now) { fire(now) } else { State::Pending { since: now, runs } }
    }

    /// The firing notification that is due now, if any, and records it.
    fn due(&mut self, now: Timestamp, timing: &Timing) -> Option<Notice> {
        let State::Firing { notified, .. } = &mut self.state else { return None };
        let notice = match *notified {
            None if self.last_fired.is_none_or(|at| elapsed(at, now) >= timing.cooldown) => Notice::Firing,
            Some(at) if timing.repeat.is_some_and(|every| elapsed(at, now) >= every) => Notice::Repeat,
            _ => return None,
        };
        *notified = Some(now);
        self.last_fired = Some(now);
        Some(notice)
    }

    /// When time alone will next change something (pending → firing after `for`, a
    /// `keep_firing_for` running out, a cooldown ending, a repeat), so a timer can be set.
    pub fn next_change(&self, timing: &Timing) -> Option<Timestamp> {
        let after = |at: Timestamp, d: Duration| at.checked_add(SignedDuration::try_from(d).ok()?).ok();
        match &self.state {
            State::Pending { since, .. } => match timing.pending {
                Hold::Time(d) => after(*since, d),
                Hold::Runs(_) => None,
            },
            State::Firing { last_true, notified, clearing, .. } => {
                let keep = match timing.keep_firing {
                    Hold::Time(d) if *clearing => after(*last_true, d),
                    _ => None,
                };
                let notify = match notified {
                    None => self.last_fired.and_then(|at| after(at, timing.cooldown)),
                    Some(at) => timing.repeat.and_then(|every| after(*at, every)),
                };
                [keep, notify].into_iter().flatten().min()
            }
            _ => None,
        }
    }
}

fn fire(now: Timestamp) -> State {
    State::Firing { since: now, last_true: now, clear_runs: 0, clearing: false, notified: None }
}

/// Whether a hold that began at `since` (or has counted `runs`) is met at `now`.
fn held(hold: Hold, since: Timestamp, runs: u32, now: Timestamp) -> bool {
    match hold {
        Hold::Time(d) => elapsed(since, now) >= d,
        Hold::Runs(n) => runs >= n,
    }
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    now.duration_since(since).try_into().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn timing(for_: u64) -> Timing {
        Timing { pending: Hold::Time(Duration::from_secs(for_)), ..Timing::default() }
    }

    fn step(from: &'static str, to: &'static str, notice: Option<Notice>) -> Option<Step> {
        Some(Step { from, to, notice })
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved() {
        let timing = timing(300);
        let mut m = Memory::default();
        assert_eq!(m.advance(false, true, t(0), &timing), None);
        assert_eq!(m.advance(true, true, t(10), &timing), step("inactive", "pending", None));
        assert_eq!(m.advance(true, true, t(200), &timing), None, "for has not passed");
        assert_eq!(m.advance(true, false, t(310), &timing), step("pending", "firing", Some(Notice::Firing)));
        assert_eq!(m.advance(true, true, t(400), &timing), None);
        assert_eq!(m.advance(false, true, t(500), &timing), step("firing", "resolved", Some(Notice::Resolved)));
        assert_eq!(m.state, State::Resolved { at: t(500) });
    }

    #[test]
    fn a_pending_alert_whose_condition_stops_goes_back_without_a_notice() {
        let timing = timing(300);
        let mut m = Memory::default();
        m.advance(true, true, t(0), &timing);
        assert_eq!(m.advance(false, true, t(60), &timing), step("pending", "inactive", None));
        assert_eq!(m.next_change(&timing), None);
    }

    #[test]
    fn for_zero_fires_at_once() {
        let mut m = Memory::default();
        assert_eq!(m.advance(true, true, t(0), &timing(0)), step("inactive", "firing", Some(Notice::Firing)));
    }

    #[test]
    fn keep_firing_for_rides_out_a_flap() {
        let timing = Timing { keep_firing: Hold::Time(Duration::from_secs(120)), ..timing(0) };
        let mut m = Memory::default();
        m.advance(true, true, t(0), &timing);
        assert_eq!(m.advance(false, true, t(30), &timing), None, "still firing");
        assert_eq!(m.advance(true, true, t(60), &timing), None, "holds again: the clock restarts");
        assert_eq!(m.advance(false, true, t(100), &timing), None);
        assert_eq!(m.next_change(&timing), Some(t(180)));
        assert_eq!(m.advance(false, false, t(180), &timing), step("firing", "resolved", Some(Notice::Resolved)));
    }

    #[test]
    fn repeats_every_repeat_while_firing() {
        let timing = Timing { repeat: Some(Duration::from_secs(3600)), ..timing(0) };
        let mut m = Memory::default();
        m.advance(true, true, t(0), &timing);
        assert_eq!(m.next_change(&timing), Some(t(3600)));
        assert_eq!(m.advance(true, false, t(3599), &timing), None);
        assert_eq!(m.advance(true, false, t(3600), &timing), step("firing", "firing", Some(Notice::Repeat)));
        assert_eq!(m.next_change(&timing), Some(t(7200)));
    }

    #[test]
    fn cooldown_holds_back_a_second_firing_notice() {
        let timing = Timing { cooldown: Duration::from_secs(1800), ..timing(0) };
        let mut m = Memory::default();
        m.advance(true, true, t(0), &timing);
        m.advance(false, true, t(60), &timing);
        // Fires again 2 minutes after the first notice: shown as firing, notified later.
        assert_eq!(m.advance(true, true, t(120), &timing), step("resolved", "firing", None));
        assert!(m.state.is_firing());
        assert_eq!(m.next_change(&timing), Some(t(1800)));
        assert_eq!(m.advance(true, false, t(1800), &timing), step("firing", "firing", Some(Notice::Firing)));
        // Had it resolved before the cooldown ended, nobody would hear of the resolve either.
        let mut quiet = Memory::default();
        quiet.advance(true, true, t(0), &timing);
        quiet.advance(false, true, t(60), &timing);
        quiet.advance(true, true, t(120), &timing);
        assert_eq!(quiet.advance(false, true, t(180), &timing), step("firing", "resolved", None));
    }

    #[test]
    fn holds_counted_in_runs_ignore_time_passing() {
        // A check's own down alert: 3 failures to fire, 2 passes to recover.
        let timing = Timing { pending: Hold::Runs(3), keep_firing: Hold::Runs(2), ..Timing::default() };
        let mut m = Memory::default();
        assert_eq!(m.advance(true, true, t(0), &timing), step("inactive", "pending", None));
        assert_eq!(m.advance(true, false, t(1000), &timing), None, "time alone is not a run");
        m.advance(true, true, t(30), &timing);
        assert_eq!(m.advance(true, true, t(60), &timing), step("pending", "firing", Some(Notice::Firing)));
        assert_eq!(m.advance(false, true, t(90), &timing), None, "one pass is not enough");
        m.advance(true, true, t(120), &timing);
        m.advance(false, true, t(150), &timing);
        assert_eq!(m.advance(false, true, t(180), &timing), step("firing", "resolved", Some(Notice::Resolved)));
    }

    #[test]
    fn the_state_survives_a_round_trip_through_json() {
        let timing = timing(0);
        let mut m = Memory::default();
        m.advance(true, true, t(0), &timing);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["state"], "firing");
        let back: Memory = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }
}
