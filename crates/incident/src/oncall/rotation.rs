//! One rotation (a layer of a schedule): an ordered list of people taking turns, handing off
//! every N days at a wall-clock time in a time zone, so the hand-off stays at 09:00 local across
//! a daylight-saving change (that shift is an hour shorter or longer). A restriction limits the
//! layer to some weekdays and hours (weekdays 09:00–18:00); outside it the layer has nobody and
//! the layers below answer.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};
use upkeep_notify::TimeInterval;

#[derive(Clone, Debug)]
pub struct Rotation {
    pub people: Vec<String>,
    /// Days per turn: 1 daily, 7 weekly.
    pub every_days: i32,
    /// The wall-clock time of the hand-off.
    pub handoff: Time,
    /// For turns of whole weeks: the weekday of the hand-off.
    pub handoff_day: Option<Weekday>,
    pub zone: TimeZone,
    /// The first turn (of `people[0]`) starts at the first hand-off on or after this day.
    pub start: Date,
    /// When the layer has someone at all; `None` is always.
    pub restrict: Option<TimeInterval>,
}

impl Rotation {
    /// The day of the first hand-off.
    fn anchor(&self) -> Date {
        let Some(day) = self.handoff_day else { return self.start };
        let ahead = (day.to_monday_zero_offset() - self.start.weekday().to_monday_zero_offset()).rem_euclid(7);
        self.start.checked_add(i32::from(ahead).days()).unwrap_or(self.start)
    }

    /// When turn `n` starts (turn 0 is `people[0]`'s first); `None` past the calendar's ends.
    pub fn turn_start(&self, n: i64) -> Option<Timestamp> {
        let days = Span::new().try_days(n.checked_mul(i64::from(self.every_days.max(1)))?).ok()?;
        let day = self.anchor().checked_add(days).ok()?;
        // A hand-off in a DST gap moves forward by the gap, as the clock on the wall does.
        self.zone.to_ambiguous_zoned(day.to_datetime(self.handoff)).compatible().ok().map(|z| z.timestamp())
    }

    /// The turn that covers `at`; `None` where no turn can be computed (the calendar's ends).
    pub fn turn_at(&self, at: Timestamp) -> Option<i64> {
        let local = at.to_zoned(self.zone.clone()).date();
        let days = self.anchor().until(local).map(|s| i64::from(s.get_days())).ok()?;
        let mut n = days.div_euclid(i64::from(self.every_days.max(1)));
        // The estimate by dates is off by at most one turn (a hand-off later in the day).
        for _ in 0..3 {
            if self.turn_start(n)? > at {
                n -= 1;
            } else if self.turn_start(n + 1)? <= at {
                n += 1;
            } else {
                return Some(n);
            }
        }
        None
    }

    /// Who this layer has at `at`.
    pub fn on_call(&self, at: Timestamp) -> Option<&str> {
        if self.people.is_empty() || self.restrict.as_ref().is_some_and(|r| !r.contains(at)) {
            return None;
        }
        let n = self.turn_at(at)?;
        Some(&self.people[n.rem_euclid(self.people.len() as i64) as usize])
    }

    /// Every moment in `[from, to)` at which this layer's answer may change: hand-offs and the
    /// edges of its restriction.
    pub fn changes(&self, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let mut out = Vec::new();
        if let Some(first) = self.turn_at(from) {
            for n in first + 1.. {
                match self.turn_start(n) {
                    Some(t) if t < to => out.push(t),
                    _ => break,
                }
            }
        }
        if let Some(r) = &self.restrict {
            out.extend(restriction_edges(r, from, to));
        }
        out
    }
}

/// Starts and ends of a restriction's hours on each day in `[from, to)`: the moments at which
/// it may begin or stop covering.
fn restriction_edges(r: &TimeInterval, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
    let mut out = Vec::new();
    let mut day = from.to_zoned(r.zone.clone()).date();
    let last = to.to_zoned(r.zone.clone()).date();
    let minutes: Vec<u16> =
        if r.times.is_empty() { vec![0] } else { r.times.iter().flat_map(|&(a, b)| [a, b]).collect() };
    while day <= last {
        for &m in &minutes {
            let (h, min) = ((m / 60) as i8, (m % 60) as i8);
            let moment = if h >= 24 {
                day.tomorrow().ok().map(|d| d.to_datetime(Time::midnight()))
            } else {
                Time::new(h, min, 0, 0).ok().map(|t| day.to_datetime(t))
            };
            let Some(moment) = moment else { continue };
            if let Ok(z) = r.zone.to_ambiguous_zoned(moment).compatible() {
                let t = z.timestamp();
                if from < t && t < to {
                    out.push(t);
                }
            }
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use upkeep_notify::{parse_times, parse_weekdays};

    fn weekly(zone: &str) -> Rotation {
        Rotation {
            people: vec!["ops-1".into(), "ops-2".into(), "ops-3".into()],
            every_days: 7,
            handoff: Time::new(9, 0, 0, 0).unwrap(),
            handoff_day: Some(Weekday::Monday),
            zone: TimeZone::get(zone).unwrap(),
            start: "2026-01-01".parse().unwrap(),
            restrict: None,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_handoff_on_monday_at_nine_local() {
        // 003-13: a weekly rotation. 2026-01-01 is a Thursday, so the first turn starts on
        // Monday 2026-01-05 at 09:00 in Berlin (08:00 UTC).
        let r = weekly("Europe/Berlin");
        assert_eq!(r.turn_start(0), Some(at("2026-01-05T08:00:00Z")));
        assert_eq!(r.on_call(at("2026-01-05T08:00:00Z")), Some("ops-1"));
        assert_eq!(r.on_call(at("2026-01-12T07:59:59Z")), Some("ops-1"), "until the next hand-off");
        assert_eq!(r.on_call(at("2026-01-12T08:00:00Z")), Some("ops-2"));
        assert_eq!(r.on_call(at("2026-01-19T08:00:00Z")), Some("ops-3"));
        assert_eq!(r.on_call(at("2026-01-26T08:00:00Z")), Some("ops-1"), "round again");
        // Before the first turn, the turns count backwards: the last person had the week before.
        assert_eq!(r.on_call(at("2026-01-04T12:00:00Z")), Some("ops-3"));
    }

    #[test]
    fn the_handoff_stays_at_nine_across_daylight_saving() {
        // Berlin moves to summer time on Sunday 2026-03-29: Monday's hand-off at 09:00 is 08:00
        // UTC before and 07:00 UTC after; the week across the change is an hour shorter.
        let r = weekly("Europe/Berlin");
        let n = r.turn_at(at("2026-03-25T12:00:00Z")).unwrap();
        assert_eq!(r.turn_start(n), Some(at("2026-03-23T08:00:00Z")));
        assert_eq!(r.turn_start(n + 1), Some(at("2026-03-30T07:00:00Z")));
        let before = r.on_call(at("2026-03-30T06:59:00Z")).unwrap().to_string();
        let after = r.on_call(at("2026-03-30T07:00:00Z")).unwrap();
        assert_ne!(before, after, "the hand-off is at 09:00 summer time");
        // And back in October (2026-10-25): 08:00 UTC again.
        let n = r.turn_at(at("2026-10-28T12:00:00Z")).unwrap();
        assert_eq!(r.turn_start(n), Some(at("2026-10-26T08:00:00Z")));
        // At the calendar's ends there is no turn, and no endless search for one.
        assert_eq!(r.on_call(at("9999-12-28T00:00:00Z")), None);
        assert_eq!(r.on_call(at("-009999-01-03T00:00:00Z")), None);
    }

    #[test]
    fn daily_rotation_and_a_restriction_to_business_hours() {
        let mut r = weekly("America/New_York");
        r.every_days = 1;
        r.handoff_day = None;
        r.restrict = Some(TimeInterval {
            name: String::new(),
            weekdays: parse_weekdays("monday:friday").unwrap(),
            times: vec![parse_times("09:00-18:00").unwrap()],
            zone: r.zone.clone(),
        });
        // Wednesday 2026-12-02, 10:00 in New York is 15:00 UTC.
        let wed = r.on_call(at("2026-12-02T15:00:00Z"));
        let thu = r.on_call(at("2026-12-03T15:00:00Z"));
        assert!(wed.is_some() && thu.is_some() && wed != thu, "one turn a day");
        assert_eq!(r.on_call(at("2026-12-02T23:30:00Z")), None, "18:30 is outside");
        assert_eq!(r.on_call(at("2026-12-05T15:00:00Z")), None, "Saturday is outside");
        // Its changes on Wednesday: the hand-off at 09:00 and the restriction's 09:00 and 18:00.
        let changes = r.changes(at("2026-12-02T05:00:00Z"), at("2026-12-03T05:00:00Z"));
        assert!(changes.contains(&at("2026-12-02T14:00:00Z")));
        assert!(changes.contains(&at("2026-12-02T23:00:00Z")));
    }
}
