//! Cron schedules in config (`schedule = "0 2 * * *"`): parsed once, and refused when they can
//! never fire, since a schedule that never comes silently turns its job (or heartbeat) off.

use std::str::FromStr;

/// How far ahead a schedule must fire at least once (a leap day comes every four years).
const HORIZON_YEARS: i16 = 5;

/// Parses a cron expression that fires at least once in the next few years after `now`.
pub fn parse_cron(text: &str, now: jiff::Timestamp) -> Result<croner::Cron, String> {
    let cron = croner::Cron::from_str(text).map_err(|e| format!("`{text}` is not a valid cron expression: {e}"))?;
    let start = now.to_zoned(jiff::tz::TimeZone::UTC);
    let horizon = start.checked_add(jiff::Span::new().years(HORIZON_YEARS)).map_err(|e| e.to_string())?;
    match cron.find_next_occurrence(&start, false) {
        Ok(next) if next <= horizon => Ok(cron),
        _ => Err(format!("`{text}` never fires (no time matches it in the next {HORIZON_YEARS} years)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_schedules_that_never_fire() {
        let now: jiff::Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        assert!(parse_cron("0 2 * * *", now).is_ok());
        // The 29th of February comes within four years.
        assert!(parse_cron("0 0 29 2 *", now).is_ok());
        let err = parse_cron("0 0 30 2 *", now).unwrap_err();
        assert!(err.contains("never fires"), "{err}");
        assert!(parse_cron("0 0 31 4 *", now).unwrap_err().contains("never fires"));
        assert!(parse_cron("not cron", now).unwrap_err().contains("not a valid cron expression"));
    }
}
