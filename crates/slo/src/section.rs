//! `[[slo]]`: what a user promises about a check. An availability SLO counts a check's passing
//! runs among all its runs; a latency SLO its passing runs at or under `threshold` among all its
//! runs (counted exactly as results are rolled up, from when the SLO is first loaded). Both
//! over a rolling window (default 30 days) or the calendar month so far (`window = "month"`,
//! as SLA reports keep them).

use crate::Objective;
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Table, TableReader};

/// A configured SLO.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    pub name: String,
    /// The check whose runs are its events.
    pub check: String,
    pub objective: Objective,
    pub window: Window,
    pub kind: Kind,
}

impl Slo {
    /// What it promises, as reports write it: `99.9%`, or `95% ≤ 200ms` for a latency SLO.
    pub fn promise(&self) -> String {
        let objective = upkeep_expr::Value::Percent(self.objective.ratio() * 100.0);
        match self.kind {
            Kind::Availability => objective.to_string(),
            Kind::Latency { threshold } => format!("{objective} ≤ {}", upkeep_expr::Value::duration(threshold)),
        }
    }
}

/// Which of a check's runs are good events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// Passing runs.
    #[default]
    Availability,
    /// Passing runs at or under the threshold.
    Latency { threshold: Duration },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Availability => "availability",
            Kind::Latency { .. } => "latency",
        }
    }

    pub fn threshold(&self) -> Option<Duration> {
        match self {
            Kind::Availability => None,
            Kind::Latency { threshold } => Some(*threshold),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Window {
    /// The last so long, rolling.
    Rolling(Duration),
    /// From the start of the current month, in this zone.
    Month(jiff::tz::TimeZone),
}

impl Window {
    /// `[from, to)` of the window as of `now`, and the window's whole length (a month's, for a
    /// calendar month, so its budget is the month's).
    pub fn span(&self, now: jiff::Timestamp) -> (jiff::Timestamp, Duration) {
        match self {
            Window::Rolling(length) => {
                let from = now.checked_sub(jiff::SignedDuration::try_from(*length).unwrap_or_default()).unwrap_or(now);
                (from, *length)
            }
            Window::Month(zone) => {
                let here = now.to_zoned(zone.clone());
                let start = here.first_of_month().ok().and_then(|d| d.start_of_day().ok());
                let start = start.unwrap_or(here);
                let next = start.checked_add(jiff::Span::new().months(1)).ok();
                let length = next.map_or(Duration::from_secs(30 * 86_400), |n| {
                    n.timestamp().duration_since(start.timestamp()).unsigned_abs()
                });
                (start.timestamp(), length)
            }
        }
    }

    /// As written in reports: `30d` or `month`.
    pub fn describe(&self) -> String {
        match self {
            Window::Rolling(length) => upkeep_expr::Value::duration(*length).to_string(),
            Window::Month(_) => "month".to_string(),
        }
    }
}

/// Check → the thresholds of its latency SLOs: what the store counts each run against.
pub fn latency_thresholds<'a>(
    slos: impl IntoIterator<Item = &'a Slo>,
) -> std::collections::HashMap<String, Vec<Duration>> {
    let mut out: std::collections::HashMap<String, Vec<Duration>> = std::collections::HashMap::new();
    for slo in slos {
        if let Some(threshold) = slo.kind.threshold() {
            let thresholds = out.entry(slo.check.clone()).or_default();
            if !thresholds.contains(&threshold) {
                thresholds.push(threshold);
            }
        }
    }
    out
}

const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// Windows shorter than this leave the burn-rate alerts' short windows under a minute.
const MIN_WINDOW: Duration = Duration::from_secs(3600);

/// Every `[[slo]]`. `checks` are the configured checks' names, for references and hints.
pub fn read_slos(sections: &mut Sections, d: &mut Diagnostics, checks: &[&str], zone: &jiff::tz::TimeZone) -> Vec<Slo> {
    let mut slos: Vec<Slo> = Vec::new();
    for table in sections.tables(d, "slo") {
        let start = table.span.start;
        if let Some(slo) = read_slo(table, d, checks, zone) {
            if slos.iter().any(|s| s.name == slo.name) {
                d.error(
                    start..start + 1,
                    format!("two SLOs are named `{}`", slo.name),
                    Some("give each [[slo]] its own `name`".into()),
                );
            }
            slos.push(slo);
        }
    }
    slos
}

fn read_slo(table: Table, d: &mut Diagnostics, checks: &[&str], zone: &jiff::tz::TimeZone) -> Option<Slo> {
    let mut t = TableReader::new(table, "an SLO");
    let name = t.required_string(d, "name", "\"api-availability\"");
    if let Some(name) = &name {
        t.set_context(format!("SLO \"{}\"", name.get_ref()));
    }
    let check = t.required_string(d, "check", "\"api\" (the name of a [[check]])");
    let objective = t.percent(d, "objective");
    if objective.is_none() && !t.has("objective") {
        d.error(t.span(), format!("{} has no `objective`", t.context()), Some("add objective = \"99.9%\"".into()));
    }
    let kind = t.string(d, "kind");
    let window = match t.string(d, "window") {
        None => Some(Window::Rolling(DEFAULT_WINDOW)),
        Some(w) if w.get_ref() == "month" => Some(Window::Month(zone.clone())),
        Some(w) => match upkeep_config::parse_duration(w.get_ref()) {
            Ok(length) if length >= MIN_WINDOW => Some(Window::Rolling(length)),
            Ok(_) => {
                d.error(
                    w.span(),
                    "`window` must be at least 1h",
                    Some("SLOs are kept over days: \"30d\", \"7d\"".into()),
                );
                None
            }
            Err(e) => {
                d.error(w.span(), format!("`window`: {e}"), Some("a duration such as \"30d\", or \"month\"".into()));
                None
            }
        },
    };
    let (has_threshold, table_span) = (t.has("threshold"), t.span());
    let threshold = t.duration(d, "threshold", Duration::from_micros(1));
    t.finish(d);
    let kind = match (kind.as_ref().map(|k| k.get_ref().as_str()), threshold) {
        (None | Some("availability"), None) => Kind::Availability,
        (Some("latency"), Some(threshold)) => Kind::Latency { threshold: *threshold.get_ref() },
        (Some("latency"), None) => {
            if !has_threshold {
                d.error(
                    kind.as_ref().map_or(table_span, |k| k.span()),
                    "a latency SLO needs a `threshold`",
                    Some("add threshold = \"200ms\": runs at or under it are good".into()),
                );
            }
            return None;
        }
        (None | Some("availability"), Some(threshold)) => {
            d.error(
                threshold.span(),
                "`threshold` belongs to a latency SLO",
                Some("add kind = \"latency\", or remove `threshold`".into()),
            );
            return None;
        }
        (Some(_), _) => {
            let kind = kind.expect("matched Some");
            d.error(
                kind.span(),
                format!("`kind` of an SLO is \"availability\" or \"latency\", not \"{}\"", kind.get_ref()),
                Some(
                    "kind = \"availability\" (passing runs) or \"latency\" (passing runs at or under `threshold`)"
                        .into(),
                ),
            );
            return None;
        }
    };
    let check = check?;
    if !checks.contains(&check.get_ref().as_str()) {
        let hint = upkeep_expr::closest_name(check.get_ref(), checks.iter().map(|c| c.to_string()))
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some("`check` names a [[check]]".into()));
        d.error(check.span(), format!("`check` names `{}`, which is not a check", check.get_ref()), hint);
        return None;
    }
    let objective = objective?;
    let Some(ratio) = Objective::new(objective.get_ref().ratio()) else {
        d.error(
            objective.span(),
            "an objective must be above 0% and below 100%",
            Some("100% leaves no error budget to spend; the manuals promise 99.9% or 99.95%".into()),
        );
        return None;
    };
    Some(Slo { name: name?.into_inner(), check: check.into_inner(), objective: ratio, window: window?, kind })
}
