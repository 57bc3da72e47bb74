//! Durations, sizes and percentages in config values, written the way the expression language
//! writes them (`30s`, `10GiB`, `99.9%`), parsed by the same code.

use std::time::Duration;
use upkeep_expr::{Value, quantity};

/// A percentage, 0–100 (`99.9%`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl Percent {
    /// As a ratio, 0–1.
    pub fn ratio(self) -> f64 {
        self.0 / 100.0
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match quantity(text) {
        Ok(Value::Duration(secs)) if secs > 0.0 && secs < 1e10 => Ok(Duration::from_secs_f64(secs)),
        Ok(Value::Duration(_)) => Err(format!("`{text}` must be longer than zero")),
        Ok(Value::Number(n)) => Err(format!("`{text}` has no unit; write e.g. \"{n}s\" or \"{n}m\"")),
        _ => Err(format!("`{text}` is not a duration (units: ms, s, m, h, d, w)")),
    }
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    match quantity(text) {
        Ok(Value::Size(bytes)) if bytes >= 0.0 => Ok(bytes.round() as u64),
        _ => Err(format!("`{text}` is not a size (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")),
    }
}

pub fn parse_percent(text: &str) -> Result<Percent, String> {
    match quantity(text) {
        Ok(Value::Percent(p)) if (0.0..=100.0).contains(&p) => Ok(Percent(p)),
        _ => Err(format!("`{text}` is not a percentage between 0% and 100%")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_the_manuals_use() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_size("10GiB"), Ok(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_percent("85%"), Ok(Percent(85.0)));
        assert!(parse_duration("30").unwrap_err().contains("has no unit"));
        assert!(parse_duration("0s").is_err());
        assert!(parse_percent("120%").is_err());
    }
}
