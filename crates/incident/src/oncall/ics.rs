//! A schedule as an iCalendar feed (RFC 5545), for people's calendars: one event per shift,
//! in UTC, with a UID that stays the same while the shift does, so a calendar that refreshes
//! the feed updates its events instead of adding copies.

use super::{Person, Schedule, Shift};
use icalendar::{Calendar, Component, Event, EventLike};
use jiff::Timestamp;

/// The feed of `shifts` of `schedule`; `now` is each event's DTSTAMP.
pub fn feed(schedule: &Schedule, shifts: &[Shift], people: &[Person], now: Timestamp) -> String {
    let mut calendar = Calendar::new();
    calendar.name(&format!("On call: {}", schedule.name));
    if let Some(description) = &schedule.description {
        calendar.description(description);
    }
    for shift in shifts {
        let name = people
            .iter()
            .find(|p| p.name == shift.person)
            .and_then(|p| p.full_name.clone())
            .unwrap_or_else(|| shift.person.clone());
        let event = Event::new()
            .uid(&format!(
                "{}-{}-{}@upkeep",
                schedule.name,
                shift.start.as_second(),
                upkeep_notify::short_id(&format!("{}{}", shift.person, shift.end.as_second()))
            ))
            .summary(&format!("On call ({}): {name}", schedule.name))
            .description(&format!("{} is on call for schedule {} ({}).", name, schedule.name, shift.by))
            .starts(utc(shift.start))
            .ends(utc(shift.end))
            .timestamp(utc(now))
            .done();
        calendar.push(event);
    }
    calendar.done().to_string()
}

fn utc(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.as_second(), 0).unwrap_or_default()
}
