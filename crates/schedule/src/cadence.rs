//! When a job is due: every interval, or at the times a cron expression names in a time zone.
//! Parsed once, at load. Interval jobs are spread by a stable jitter so ten thousand checks do
//! not fire in the same millisecond, keep their phase across restarts, and skip ticks that a
//! long run overran instead of running twice to catch up.

use jiff::{SignedDuration, Timestamp};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Cadence {
    Every(Duration),
    Cron(Cron),
}

/// A cron expression parsed once, with the zone its times are read in.
#[derive(Clone, Debug)]
pub struct Cron {
    text: String,
    cron: Arc<croner::Cron>,
    zone: jiff::tz::TimeZone,
}

impl PartialEq for Cadence {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Cadence::Every(a), Cadence::Every(b)) => a == b,
            (Cadence::Cron(a), Cadence::Cron(b)) => a.text == b.text && a.zone == b.zone,
            _ => false,
        }
    }
}

/// How soon after start every interval job has run once.
pub const FIRST_RUN_SPREAD: Duration = Duration::from_secs(5);

impl Cadence {
    /// A cron expression read in `zone`.
    pub fn cron(text: &str, zone: jiff::tz::TimeZone) -> Result<Cadence, String> {
        let cron = croner::Cron::from_str(text).map_err(|e| format!("`{text}` is not a valid cron expression: {e}"))?;
        Ok(Cadence::Cron(Cron { text: text.to_string(), cron: Arc::new(cron), zone }))
    }

    /// The cron expression as written, for messages.
    pub fn describe(&self) -> String {
        match self {
            Cadence::Every(every) => format!("every {}s", every.as_secs_f64()),
            Cadence::Cron(cron) => format!("\"{}\"", cron.text),
        }
    }

    /// The first time after `now` that a cron cadence names; for an interval, one interval on.
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Cadence::Every(every) => now.checked_add(signed(*every)).ok(),
            Cadence::Cron(cron) => cron.next_after(now),
        }
    }

    /// The latest time at or before `now` that a cron cadence names (`None` for intervals).
    pub fn previous_at_or_before(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Cadence::Every(_) => None,
            Cadence::Cron(cron) => {
                cron.cron.find_previous_occurrence(&now.to_zoned(cron.zone.clone()), true).ok().map(|z| z.timestamp())
            }
        }
    }
}

impl Cron {
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        self.cron.find_next_occurrence(&now.to_zoned(self.zone.clone()), false).ok().map(|z| z.timestamp())
    }

    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }
}

/// A job's due times from the moment its scheduler started.
#[derive(Debug)]
pub(crate) struct Timeline {
    cadence: Cadence,
    /// An interval job's stable phase, until its first regular run.
    phase: Option<Timestamp>,
}

impl Timeline {
    pub(crate) fn new(cadence: Cadence) -> Timeline {
        Timeline { cadence, phase: None }
    }

    /// The first due time: an interval job within a few seconds (so a new daemon shows data at
    /// once), a cron job at its next time.
    pub(crate) fn first(&mut self, name: &str, started: Timestamp) -> Option<Timestamp> {
        match &self.cadence {
            Cadence::Every(every) => {
                self.phase = started.checked_add(signed(jitter(name, *every))).ok();
                started.checked_add(signed(jitter(name, (*every).min(FIRST_RUN_SPREAD)))).ok()
            }
            Cadence::Cron(cron) => cron.next_after(started),
        }
    }

    /// The due time after a run that was due at `due`, now that it is `now`.
    pub(crate) fn after(&mut self, due: Timestamp, now: Timestamp) -> Option<Timestamp> {
        match &self.cadence {
            Cadence::Every(every) => Some(match self.phase.take() {
                Some(on_phase) if on_phase > now => on_phase,
                Some(on_phase) => next_due(on_phase, *every, now),
                None => next_due(due, *every, now),
            }),
            Cadence::Cron(cron) => cron.next_after(now.max(due)),
        }
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// A stable offset in `[0, every)` from the job's name: the same job keeps its phase across
/// restarts, and many jobs spread evenly over the interval.
pub fn jitter(name: &str, every: Duration) -> Duration {
    // FNV-1a: tiny, stable across builds and platforms (unlike the std hasher).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let span = every.as_micros().max(1) as u64;
    Duration::from_micros(hash % span)
}

/// The due time after `due`: one interval later, skipping ticks that a long run overran, so a
/// job never runs twice to catch up and never overlaps itself.
fn next_due(due: Timestamp, every: Duration, now: Timestamp) -> Timestamp {
    let step = signed(every);
    let next = due.checked_add(step).unwrap_or(Timestamp::MAX);
    if next > now {
        return next;
    }
    let behind = now.duration_since(next).as_nanos();
    let skipped = behind / (every.as_nanos().max(1) as i128) + 1;
    let ahead = SignedDuration::from_nanos_i128(skipped.saturating_mul(every.as_nanos() as i128));
    next.checked_add(ahead).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn jitter_spreads_jobs_over_the_interval() {
        let every = Duration::from_secs(10);
        let mut per_second = [0u32; 10];
        for i in 0..10_000 {
            let offset = jitter(&format!("check-{i}"), every);
            assert!(offset < every);
            per_second[offset.as_secs() as usize] += 1;
        }
        // Even spread: each second gets roughly a tenth.
        assert!(per_second.iter().all(|&n| (800..1200).contains(&n)), "{per_second:?}");
        assert_eq!(jitter("api", every), jitter("api", every));
    }

    #[test]
    fn next_due_skips_overrun_ticks_keeping_phase() {
        let t0 = at("2026-12-01T10:00:00Z");
        let every = Duration::from_secs(10);
        let plus = |s: i64| t0 + SignedDuration::from_secs(s);
        assert_eq!(next_due(t0, every, plus(1)), plus(10));
        // A run that took 25 s: the ticks at 10 s and 20 s are skipped, not run late.
        assert_eq!(next_due(t0, every, plus(25)), plus(30));
        assert_eq!(next_due(t0, every, plus(10)), plus(20));
    }

    #[test]
    fn an_interval_job_runs_first_within_seconds_then_on_its_phase() {
        let started = at("2026-12-01T10:00:00Z");
        let mut timeline = Timeline::new(Cadence::Every(Duration::from_secs(60)));
        let first = timeline.first("api", started).unwrap();
        assert!(first >= started && first < started + SignedDuration::from_secs(5));
        let phase = started + SignedDuration::try_from(jitter("api", Duration::from_secs(60))).unwrap();
        let second = timeline.after(first, first).unwrap();
        if phase > first {
            assert_eq!(second, phase);
        } else {
            assert_eq!(second, phase + SignedDuration::from_secs(60));
        }
        assert_eq!(timeline.after(second, second).unwrap(), second + SignedDuration::from_secs(60));
    }

    #[test]
    fn cron_finds_the_next_time_in_its_zone() {
        let utc = Cadence::cron("0 2 * * *", jiff::tz::TimeZone::UTC).unwrap();
        assert_eq!(utc.next_after(at("2026-11-25T01:59:59Z")).unwrap().to_string(), "2026-11-25T02:00:00Z");
        assert_eq!(utc.next_after(at("2026-11-25T02:00:00Z")).unwrap().to_string(), "2026-11-26T02:00:00Z");
        let berlin = Cadence::cron("0 2 * * *", jiff::tz::TimeZone::get("Europe/Berlin").unwrap()).unwrap();
        // 00:30 UTC is 01:30 in Berlin (CET, UTC+1): 02:00 there comes half an hour later.
        assert_eq!(berlin.next_after(at("2026-11-25T00:30:00Z")).unwrap().to_string(), "2026-11-25T01:00:00Z");
        assert_eq!(berlin.next_after(at("2026-11-25T01:00:00Z")).unwrap().to_string(), "2026-11-26T01:00:00Z");
        assert_eq!(
            berlin.previous_at_or_before(at("2026-11-25T01:00:00Z")).unwrap().to_string(),
            "2026-11-25T01:00:00Z"
        );
    }
}
