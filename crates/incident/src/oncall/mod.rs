//! Who is on call: people with the channels that reach them, and schedules made of layered
//! rotations (a later layer wins where it has someone) and overrides (someone covers a span;
//! the newest override wins over everything). `shifts` lays a schedule out as the spans people
//! are on call, for `upkeep oncall` and the iCalendar feed (`ics.rs`).

mod ics;
mod rotation;

pub use ics::feed;
pub use rotation::Rotation;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub name: String,
    /// A display name for pages and calendars.
    pub full_name: Option<String>,
    /// The channels that reach them, in order (email, then SMS).
    pub channels: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub name: String,
    pub description: Option<String>,
    /// Bottom first: a later layer wins where it has someone.
    pub layers: Vec<Rotation>,
    /// Set in config; those set with the CLI or the API are stored and passed in.
    pub overrides: Vec<Override>,
}

/// Someone covers a span of a schedule instead of whoever the rotation says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub id: String,
    pub schedule: String,
    pub person: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub author: String,
    #[serde(default)]
    pub comment: Option<String>,
    pub created: Timestamp,
}

/// Who a schedule has at a time, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnCall {
    pub person: String,
    /// `layer 1` (counting from 1) or `override ID`.
    pub by: String,
}

/// A span someone is on call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shift {
    pub person: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub by: String,
}

impl Schedule {
    /// Who is on call at `at`, given the stored overrides as well as the configured ones.
    pub fn on_call(&self, at: Timestamp, stored: &[Override]) -> Option<OnCall> {
        let covering = self
            .overrides
            .iter()
            .chain(stored.iter().filter(|o| o.schedule == self.name))
            .filter(|o| o.start <= at && at < o.end)
            .max_by_key(|o| o.created);
        if let Some(o) = covering {
            return Some(OnCall { person: o.person.clone(), by: format!("override {}", o.id) });
        }
        self.layers.iter().enumerate().rev().find_map(|(i, layer)| {
            layer.on_call(at).map(|person| OnCall { person: person.to_string(), by: format!("layer {}", i + 1) })
        })
    }

    /// Who is on call over `[from, to)`, as spans; adjacent spans of one person by one source
    /// are joined, and spans with nobody are left out.
    pub fn shifts(&self, from: Timestamp, to: Timestamp, stored: &[Override]) -> Vec<Shift> {
        let mut moments = vec![from];
        for layer in &self.layers {
            moments.extend(layer.changes(from, to));
        }
        for o in self.overrides.iter().chain(stored.iter().filter(|o| o.schedule == self.name)) {
            moments.extend([o.start, o.end].into_iter().filter(|t| from < *t && *t < to));
        }
        moments.sort();
        moments.dedup();
        let mut out: Vec<Shift> = Vec::new();
        for (i, &start) in moments.iter().enumerate() {
            let end = moments.get(i + 1).copied().unwrap_or(to);
            let Some(who) = self.on_call(start, stored) else { continue };
            match out.last_mut() {
                Some(last) if last.end == start && last.person == who.person && last.by == who.by => last.end = end,
                _ => out.push(Shift { person: who.person, start, end, by: who.by }),
            }
        }
        out
    }

    /// When the answer of [`Schedule::on_call`] next changes after `at` (within 60 days): a
    /// hand-off to someone else, or the end of a shift with nobody after it.
    pub fn next_change(&self, at: Timestamp, stored: &[Override]) -> Option<Timestamp> {
        let horizon = at.checked_add(jiff::SignedDuration::from_hours(24 * 60)).ok()?;
        let now = self.on_call(at, stored).map(|w| w.person);
        let mut moments: Vec<Timestamp> =
            self.shifts(at, horizon, stored).iter().flat_map(|s| [s.start, s.end]).collect();
        moments.sort();
        moments
            .into_iter()
            .filter(|t| *t > at && *t < horizon)
            .find(|t| self.on_call(*t, stored).map(|w| w.person) != now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Time, Weekday};
    use jiff::tz::TimeZone;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn schedule() -> Schedule {
        let weekly = Rotation {
            people: vec!["ops-1".into(), "ops-2".into()],
            every_days: 7,
            handoff: Time::new(9, 0, 0, 0).unwrap(),
            handoff_day: Some(Weekday::Monday),
            zone: TimeZone::UTC,
            start: "2026-11-30".parse().unwrap(),
            restrict: None,
        };
        Schedule { name: "primary".into(), description: None, layers: vec![weekly], overrides: Vec::new() }
    }

    fn cover(id: &str, person: &str, start: &str, end: &str, created: &str) -> Override {
        Override {
            id: id.into(),
            schedule: "primary".into(),
            person: person.into(),
            start: at(start),
            end: at(end),
            author: "test".into(),
            comment: None,
            created: at(created),
        }
    }

    #[test]
    fn an_override_covers_tuesday_evening_and_the_newest_wins() {
        let s = schedule();
        let tue = cover("o1", "ops-3", "2026-12-01T18:00:00Z", "2026-12-01T22:00:00Z", "2026-11-01T00:00:00Z");
        assert_eq!(s.on_call(at("2026-12-01T19:00:00Z"), &[]).unwrap().person, "ops-1");
        let who = s.on_call(at("2026-12-01T19:00:00Z"), std::slice::from_ref(&tue)).unwrap();
        assert_eq!((who.person.as_str(), who.by.as_str()), ("ops-3", "override o1"));
        assert_eq!(s.on_call(at("2026-12-01T22:00:00Z"), std::slice::from_ref(&tue)).unwrap().person, "ops-1");
        let newer = cover("o2", "ops-4", "2026-12-01T20:00:00Z", "2026-12-01T21:00:00Z", "2026-11-02T00:00:00Z");
        assert_eq!(s.on_call(at("2026-12-01T20:30:00Z"), &[tue, newer]).unwrap().person, "ops-4");
    }

    #[test]
    fn shifts_are_the_spans_between_changes() {
        let s = schedule();
        let tue = cover("o1", "ops-3", "2026-12-01T18:00:00Z", "2026-12-01T22:00:00Z", "2026-11-01T00:00:00Z");
        let shifts = s.shifts(at("2026-11-30T00:00:00Z"), at("2026-12-14T00:00:00Z"), &[tue]);
        let spans: Vec<(&str, String, String)> =
            shifts.iter().map(|s| (s.person.as_str(), s.start.to_string(), s.end.to_string())).collect();
        assert_eq!(
            spans,
            vec![
                ("ops-2", "2026-11-30T00:00:00Z".into(), "2026-11-30T09:00:00Z".into()),
                ("ops-1", "2026-11-30T09:00:00Z".into(), "2026-12-01T18:00:00Z".into()),
                ("ops-3", "2026-12-01T18:00:00Z".into(), "2026-12-01T22:00:00Z".into()),
                ("ops-1", "2026-12-01T22:00:00Z".into(), "2026-12-07T09:00:00Z".into()),
                ("ops-2", "2026-12-07T09:00:00Z".into(), "2026-12-14T00:00:00Z".into()),
            ]
        );
        assert_eq!(s.next_change(at("2026-12-02T00:00:00Z"), &[]), Some(at("2026-12-07T09:00:00Z")));
        // A layer restricted to business hours: on call until 18:00, not until the hand-off.
        let mut business = schedule();
        business.layers[0].restrict = Some(upkeep_notify::TimeInterval {
            name: String::new(),
            weekdays: Vec::new(),
            times: vec![upkeep_notify::parse_times("09:00-18:00").unwrap()],
            zone: TimeZone::UTC,
        });
        assert_eq!(business.next_change(at("2026-12-02T10:00:00Z"), &[]), Some(at("2026-12-02T18:00:00Z")));
    }
}
