//! Time intervals (`[[time_interval]]`): weekdays and hours of the day in a time zone, such as
//! business hours (Monday to Friday, 09:00–17:00 in Europe/London). A route can be active only
//! during some (`active_during`) or muted during some (`mute_during`), as Alertmanager's are.

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

#[derive(Clone, Debug)]
pub struct TimeInterval {
    pub name: String,
    /// Days it covers; empty is every day.
    pub weekdays: Vec<Weekday>,
    /// `[start, end)` in minutes after midnight; empty is the whole day.
    pub times: Vec<(u16, u16)>,
    pub zone: TimeZone,
}

impl TimeInterval {
    pub fn contains(&self, at: Timestamp) -> bool {
        let here = at.to_zoned(self.zone.clone());
        let minute = here.hour() as u16 * 60 + here.minute() as u16;
        (self.weekdays.is_empty() || self.weekdays.contains(&here.weekday()))
            && (self.times.is_empty() || self.times.iter().any(|&(start, end)| start <= minute && minute < end))
    }
}

/// `monday`, or a range `monday:friday` (wrapping past Sunday: `saturday:monday`).
pub fn parse_weekdays(text: &str) -> Result<Vec<Weekday>, String> {
    let day = |name: &str| -> Result<Weekday, String> {
        let name = name.trim().to_ascii_lowercase();
        let days = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        days.into_iter()
            .find(|d| {
                let full = format!("{d:?}").to_ascii_lowercase();
                name == full || (name.len() >= 3 && full.starts_with(&name))
            })
            .ok_or_else(|| format!("`{name}` is not a weekday"))
    };
    match text.split_once(':') {
        None => Ok(vec![day(text)?]),
        Some((a, b)) => {
            let (mut d, end) = (day(a)?, day(b)?);
            let mut out = vec![d];
            while d != end {
                d = d.next();
                out.push(d);
            }
            Ok(out)
        }
    }
}

/// `09:00-17:00` as minutes after midnight; `24:00` ends at midnight.
pub fn parse_times(text: &str) -> Result<(u16, u16), String> {
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let bad = || format!("`{text}` is not a time range: write \"09:00-17:00\"");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    match (minute(a), minute(b)) {
        (Some(start), Some(end)) if start < end => Ok((start, end)),
        (Some(_), Some(_)) => Err(format!("`{text}` ends before it starts: write \"22:00-24:00\" and \"00:00-06:00\"")),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_hours_in_a_zone() {
        // 000-50: business hours, Monday to Friday, 09:00–17:00 local time.
        let hours = TimeInterval {
            name: "business-hours".into(),
            weekdays: parse_weekdays("monday:friday").unwrap(),
            times: vec![parse_times("09:00-17:00").unwrap()],
            zone: TimeZone::get("Europe/London").unwrap(),
        };
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // 2026-07-01 is a Wednesday; London is UTC+1 in summer.
        assert!(hours.contains(at("2026-07-01T08:00:00Z")), "09:00 in London");
        assert!(!hours.contains(at("2026-07-01T07:59:00Z")), "08:59 in London");
        assert!(!hours.contains(at("2026-07-01T16:00:00Z")), "17:00 in London is outside");
        assert!(!hours.contains(at("2026-07-04T10:00:00Z")), "Saturday");
        assert_eq!(parse_weekdays("sat:mon").unwrap(), [Weekday::Saturday, Weekday::Sunday, Weekday::Monday]);
        assert!(parse_weekdays("funday").is_err());
        assert!(parse_times("17:00-09:00").unwrap_err().contains("ends before it starts"));
        assert_eq!(parse_times("22:00-24:00").unwrap(), (1320, 1440));
    }
}
