//! Values that expressions compute with, and the observations a probe hands to them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A typed value. Units are kept so that `latency < 200ms` and `free < 10GiB` compare
/// like with like and print the way a person would write them.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Number(f64),
    /// Seconds.
    Duration(f64),
    /// Bytes.
    Size(f64),
    /// Percentage points, 0–100.
    Percent(f64),
    String(String),
    List(Vec<Value>),
    /// A JSON document (response bodies, command output, query rows, headers); typed at run time.
    Json(serde_json::Value),
    Null,
}

impl Value {
    pub fn duration(d: Duration) -> Value {
        Value::Duration(d.as_secs_f64())
    }

    pub fn size(bytes: u64) -> Value {
        Value::Size(bytes as f64)
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::Duration(_) => "a duration",
            Value::Size(_) => "a size",
            Value::Percent(_) => "a percentage",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Json(json) => match json {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Array(_) => "a list",
                serde_json::Value::Object(_) => "an object",
            },
            Value::Null => "null",
        }
    }

    /// The value as JSON for `--json` output and the API: durations in seconds, sizes in
    /// bytes, percentages as 0–100 (Prometheus' base units).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) | Value::Duration(n) | Value::Size(n) | Value::Percent(n) => {
                serde_json::Number::from_f64(*n).map_or(J::Null, J::Number)
            }
            Value::String(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Json(json) => json.clone(),
            Value::Null => J::Null,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{}", format_number(*n)),
            Value::Duration(secs) => f.write_str(&format_duration(*secs)),
            Value::Size(bytes) => f.write_str(&format_size(*bytes)),
            Value::Percent(p) => write!(f, "{}%", format_number(round_to(*p, 2))),
            Value::String(s) => write!(f, "{:?}", truncate(s, 120)),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Json(json) => {
                let text = json.to_string();
                f.write_str(&truncate(&text, 120))
            }
            Value::Null => f.write_str("null"),
        }
    }
}

fn round_to(n: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (n * factor).round() / factor
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// `0.35` → `350ms`, `90` → `1m30s`, `7200` → `2h`.
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return format!("{secs}s");
    }
    let sign = if secs < 0.0 { "-" } else { "" };
    let secs = secs.abs();
    if secs < 1.0 {
        let ms = secs * 1000.0;
        return if ms >= 10.0 || ms.fract() == 0.0 {
            format!("{sign}{}ms", ms.round() as u64)
        } else {
            format!("{sign}{}ms", round_to(ms, 2))
        };
    }
    if secs < 60.0 {
        return format!("{sign}{}s", format_number(round_to(secs, 2)));
    }
    let total = secs.round() as u64;
    let (d, h, m, s) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60);
    let mut out = String::from(sign);
    for (amount, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if amount > 0 {
            out.push_str(&format!("{amount}{unit}"));
        }
    }
    out
}

/// Bytes in binary units: `1536` → `1.5KiB`.
pub fn format_size(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{}{}", format_number(round_to(value, 1)), UNITS[unit])
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// What one probe run observed: field name → value. Dynamic roots (`json`, `header`, `row`)
/// hold a [`Value::Json`] that paths navigate into.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations {
    values: BTreeMap<String, Value>,
    /// Why a field is absent on this run (`tls` → "the URL is not https").
    missing: BTreeMap<String, String>,
}

impl Observations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Records why `root` (a field or a dynamic root like `json`) was not observed this run.
    pub fn mark_missing(&mut self, root: impl Into<String>, reason: impl Into<String>) {
        self.missing.insert(root.into(), reason.into());
    }

    pub fn why_missing(&self, root: &str) -> Option<&str> {
        self.missing.get(root).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Observations read back as JSON (from the store): each field a JSON value, typed when an
    /// expression reads it.
    pub fn from_json(json: serde_json::Value) -> Self {
        let values = match json {
            serde_json::Value::Object(fields) => fields.into_iter().map(|(k, v)| (k, Value::Json(v))).collect(),
            _ => BTreeMap::new(),
        };
        Observations { values, missing: BTreeMap::new() }
    }

    /// All observations as one JSON object, in base units.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.values.iter().map(|(name, value)| (name.clone(), value.to_json())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_people_write_them() {
        assert_eq!(format_duration(0.35), "350ms");
        assert_eq!(format_duration(0.0012), "1.2ms");
        assert_eq!(format_duration(2.5), "2.5s");
        assert_eq!(format_duration(90.0), "1m30s");
        assert_eq!(format_duration(7200.0), "2h");
        assert_eq!(format_duration(-86400.0 * 3.0), "-3d");
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(format_size(512.0), "512B");
        assert_eq!(format_size(1536.0), "1.5KiB");
        assert_eq!(format_size(10.0 * 1024.0 * 1024.0 * 1024.0), "10GiB");
    }
}
