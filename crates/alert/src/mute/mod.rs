//! What mutes an alert's notifications without hiding its state: silences (set at run time),
//! maintenance windows and inhibit rules (from config), and a check's `depends_on` parents
//! being down. `[[maintenance]]` and `[[inhibit]]` are read here.

mod inhibit;
mod matcher;
mod silence;
mod window;

pub use inhibit::Inhibit;
pub use matcher::{Matcher, Op};
pub use silence::Silence;
pub use window::{Due, MaintenanceWindow, Phase, When};

use std::collections::BTreeMap;
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Spanned, TableReader};

/// The mutes config sets.
#[derive(Clone, Debug, Default)]
pub struct Mutes {
    pub windows: Vec<MaintenanceWindow>,
    pub inhibits: Vec<Inhibit>,
    /// Each check's `depends_on`.
    pub parents: BTreeMap<String, Vec<String>>,
}

/// `[[maintenance]]` and `[[inhibit]]`; `checks` and `components` are the configured names.
pub fn read_mutes(
    sections: &mut Sections,
    d: &mut Diagnostics,
    checks: &[&str],
    components: &[&str],
    zone: &jiff::tz::TimeZone,
) -> (Vec<MaintenanceWindow>, Vec<Inhibit>) {
    let mut windows = Vec::new();
    for (i, table) in sections.tables(d, "maintenance").into_iter().enumerate() {
        let t = TableReader::new(table, "a maintenance window");
        if let Some(window) = read_window(t, d, i + 1, checks, components, zone) {
            windows.push(window);
        }
    }
    let inhibits = sections
        .tables(d, "inhibit")
        .into_iter()
        .filter_map(|table| read_inhibit(TableReader::new(table, "an inhibit rule"), d))
        .collect();
    (windows, inhibits)
}

/// Seed 003 tells users 48 hours ahead.
const DEFAULT_NOTICE: Duration = Duration::from_secs(48 * 3600);

fn read_window(
    mut t: TableReader,
    d: &mut Diagnostics,
    number: usize,
    checks: &[&str],
    components: &[&str],
    zone: &jiff::tz::TimeZone,
) -> Option<MaintenanceWindow> {
    let name = t.string(d, "name").map_or_else(|| format!("maintenance-{number}"), Spanned::into_inner);
    t.set_context(format!("maintenance window \"{name}\""));
    let zone = t.zone(d, "zone").unwrap_or_else(|| zone.clone());
    let start = t.string(d, "start");
    let end = t.string(d, "end");
    let schedule = t.string(d, "schedule");
    let duration = t.duration(d, "duration", Duration::from_secs(60));
    let covered_checks = names(&mut t, d, "checks", checks, "check");
    let covered_components = names(&mut t, d, "components", components, "component");
    let notice = t.duration(d, "notice", Duration::ZERO).map_or(DEFAULT_NOTICE, Spanned::into_inner);
    let description = t.string(d, "description").map(Spanned::into_inner);
    let announce = t.strings(d, "announce").unwrap_or_default();
    let mode = t.node("mode").map(|n| n.span.clone());
    let mode = match t.bool(d, "mode") {
        Some(true) => mode,
        _ => None,
    };
    if let Some(exclude) = t.node("exclude_from_slo").cloned()
        && !matches!(exclude.value, upkeep_config::NodeValue::Bool(false))
    {
        d.error(
            exclude.span.clone(),
            "`exclude_from_slo = true` is not supported by this version yet: planned downtime spends the error budget",
            Some("remove it, or write exclude_from_slo = false".into()),
        );
    }
    let span = t.span();
    t.finish(d);
    let when = match (start, end, schedule, duration) {
        (Some(start), Some(end), None, None) => {
            let (from, to) = (time(&start, &zone, d)?, time(&end, &zone, d)?);
            if to <= from {
                d.error(end.span(), "`end` must be after `start`", None);
                return None;
            }
            When::Once { start: from, end: to }
        }
        (None, None, Some(cron), Some(duration)) => {
            match upkeep_schedule::Cadence::cron(cron.get_ref(), zone.clone()) {
                Ok(schedule) => When::Every { schedule, duration: duration.into_inner() },
                Err(e) => {
                    d.error(cron.span(), format!("`schedule`: {e}"), Some("e.g. schedule = \"0 2 * * SUN\"".into()));
                    return None;
                }
            }
        }
        _ => {
            d.error(
                span.start..span.start + 1,
                format!("maintenance window \"{name}\" needs either `start` and `end`, or `schedule` and `duration`"),
                Some("start = \"2026-12-05 02:00\" end = \"2026-12-05 04:00\", or schedule = \"0 2 * * SUN\" duration = \"2h\"".into()),
            );
            return None;
        }
    };
    Some(MaintenanceWindow {
        name,
        when,
        zone,
        checks: covered_checks,
        components: covered_components,
        notice,
        description,
        announce,
        mode,
    })
}

/// A time as written in config: RFC 3339 (`2026-12-05T02:00:00Z`), or a date and time in the
/// window's zone (`2026-12-05 02:00`).
fn time(text: &Spanned<String>, zone: &jiff::tz::TimeZone, d: &mut Diagnostics) -> Option<jiff::Timestamp> {
    if let Ok(at) = text.get_ref().parse::<jiff::Timestamp>() {
        return Some(at);
    }
    match text.get_ref().parse::<jiff::civil::DateTime>().map(|dt| dt.to_zoned(zone.clone())) {
        Ok(Ok(zoned)) => Some(zoned.timestamp()),
        _ => {
            d.error(
                text.span(),
                format!("`{}` is not a time", text.get_ref()),
                Some("write \"2026-12-05 02:00\" (in the window's zone) or \"2026-12-05T02:00:00Z\"".into()),
            );
            None
        }
    }
}

/// A list of names that must each be one of `known`.
fn names(t: &mut TableReader, d: &mut Diagnostics, key: &'static str, known: &[&str], what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in t.strings(d, key).unwrap_or_default() {
        if known.contains(&name.get_ref().as_str()) {
            out.push(name.into_inner());
            continue;
        }
        let hint = upkeep_expr::closest_name(name.get_ref(), known.iter().map(|k| k.to_string()))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("`{key}` names a {what} of a [[check]]"));
        d.error(name.span(), format!("no {what} is named `{}`", name.get_ref()), Some(hint));
    }
    out
}

fn read_inhibit(mut t: TableReader, d: &mut Diagnostics) -> Option<Inhibit> {
    let source = matchers(&mut t, d, "source_matchers");
    let target = matchers(&mut t, d, "target_matchers");
    let equal = t.strings(d, "equal").unwrap_or_default().into_iter().map(Spanned::into_inner).collect();
    let span = t.span();
    t.finish(d);
    match (source, target) {
        (Some(source), Some(target)) if !source.is_empty() && !target.is_empty() => {
            Some(Inhibit { source, target, equal })
        }
        _ => {
            d.error(
                span.start..span.start + 1,
                "an inhibit rule needs `source_matchers` and `target_matchers`",
                Some("source_matchers = [\"severity=critical\"] target_matchers = [\"severity=warning\"] equal = [\"check\"]".into()),
            );
            None
        }
    }
}

fn matchers(t: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Option<Vec<Matcher>> {
    let mut out = Vec::new();
    for text in t.strings(d, key)? {
        match Matcher::parse(text.get_ref()) {
            Ok(m) => out.push(m),
            Err(e) => d.error(text.span(), e, None),
        }
    }
    Some(out)
}
