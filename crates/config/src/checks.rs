//! `[defaults]` and the part of every `[[check]]` that is the same for all kinds. Kind-specific
//! keys stay in [`CheckSection::settings`] for the probe kind to read. Names are checked here:
//! unique, `depends_on` naming real checks, no dependency cycles.

use crate::diagnostic::Diagnostics;
use crate::document::Table;
use crate::sections::Sections;
use crate::table::TableReader;
use std::collections::HashMap;
use std::time::Duration;
use toml::Spanned;

/// What every check has, whatever its kind.
#[derive(Debug)]
pub struct CheckSection {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub every: Duration,
    /// A cron expression, instead of `every` (or, for heartbeats, when pings are due).
    pub schedule: Option<Spanned<String>>,
    /// The zone `schedule` is read in.
    pub zone: jiff::tz::TimeZone,
    pub timeout: Duration,
    pub expect: Vec<Spanned<String>>,
    pub component: Option<String>,
    pub depends_on: Vec<Spanned<String>>,
    /// A failing non-critical check makes `/health` degraded, not unhealthy.
    pub critical: bool,
    /// Consecutive failures before the check's own down alert fires (0: it has none).
    pub alert_after: u32,
    /// Consecutive passing runs before that alert resolves.
    pub recover_after: u32,
    /// The kind's own keys, read by the probe kind, which then calls `finish`.
    pub settings: TableReader,
}

const DEFAULT_EVERY: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Three failures in a row before a check's own alert fires, as Uptime Kuma's retries and
/// Gatus' failure threshold default to: one failed run is often the network, not the app.
const DEFAULT_ALERT_AFTER: u32 = 3;
const DEFAULT_RECOVER_AFTER: u32 = 1;

/// The shortest `every`: a check more often than once a second is a load test, not a check.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// The shortest `timeout`: below a millisecond nothing on a network can answer.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// Names appear in URLs, metric labels and expressions; a longer one is a mistake.
pub const MAX_NAME: usize = 128;

/// Every `[[check]]`, with `[defaults]` applied and the names between them checked; and the
/// default zone, which other sections' schedules are read in too.
pub fn read_checks(sections: &mut Sections, d: &mut Diagnostics) -> (Vec<CheckSection>, jiff::tz::TimeZone) {
    let defaults = match sections.table(d, "defaults") {
        Some(table) => read_defaults(table, d),
        None => Defaults::default(),
    };
    let checks: Vec<CheckSection> =
        sections.tables(d, "check").into_iter().filter_map(|table| read_check(table, &defaults, d)).collect();
    check_names(&checks, d);
    (checks, defaults.zone)
}

/// `[defaults]`: what a check has unless it says otherwise.
struct Defaults {
    every: Duration,
    timeout: Duration,
    zone: jiff::tz::TimeZone,
    alert_after: u32,
    recover_after: u32,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            every: DEFAULT_EVERY,
            timeout: DEFAULT_TIMEOUT,
            zone: jiff::tz::TimeZone::system(),
            alert_after: DEFAULT_ALERT_AFTER,
            recover_after: DEFAULT_RECOVER_AFTER,
        }
    }
}

fn read_defaults(mut t: TableReader, d: &mut Diagnostics) -> Defaults {
    let every = t.duration(d, "every", MIN_EVERY).map_or(DEFAULT_EVERY, Spanned::into_inner);
    let timeout = t.duration(d, "timeout", MIN_TIMEOUT).map_or(DEFAULT_TIMEOUT.min(every), Spanned::into_inner);
    let zone = t.zone(d, "zone").unwrap_or_else(jiff::tz::TimeZone::system);
    let alert_after = t.integer(d, "alert_after", 0..10_001).map_or(DEFAULT_ALERT_AFTER, |n| n as u32);
    let recover_after = t.integer(d, "recover_after", 1..10_001).map_or(DEFAULT_RECOVER_AFTER, |n| n as u32);
    t.finish(d);
    Defaults { every, timeout, zone, alert_after, recover_after }
}

fn read_check(table: Table, defaults: &Defaults, d: &mut Diagnostics) -> Option<CheckSection> {
    let (every, timeout) = (defaults.every, defaults.timeout);
    let mut t = TableReader::new(table, "a check");
    let name = t.required_string(d, "name", "\"api\"");
    if let Some(name) = &name {
        t.set_context(format!("check \"{}\"", shorten(name.get_ref())));
        if name.get_ref().len() > MAX_NAME {
            d.error(
                name.span(),
                format!("a check name is at most {MAX_NAME} characters; this one has {}", name.get_ref().len()),
                None,
            );
        } else if !valid_name(name.get_ref()) {
            d.error(
                name.span(),
                format!("check name `{}` cannot be used in expressions and URLs", name.get_ref()),
                Some("start with a letter; use letters, digits, `-` and `_`".into()),
            );
        }
    }
    let kind = t.required_string(d, "kind", "\"http\"");
    let every_set = t.duration(d, "every", MIN_EVERY);
    let schedule = t.string(d, "schedule");
    if let Some(cron) = &schedule
        && let Err(e) = crate::cron::parse_cron(cron.get_ref(), jiff::Timestamp::now())
    {
        d.error(
            cron.span(),
            format!("`schedule`: {e}"),
            Some("five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"".into()),
        );
    }
    let zone = t.zone(d, "zone").unwrap_or_else(|| defaults.zone.clone());
    let every = every_set.as_ref().map_or(every, |s| *s.get_ref());
    let timeout_set = t.duration(d, "timeout", MIN_TIMEOUT);
    let timeout = timeout_set.as_ref().map_or(timeout.min(every), |s| *s.get_ref());
    if let Some(set) = &timeout_set
        && schedule.is_none()
        && timeout > every
    {
        d.error(
            set.span(),
            format!("`timeout` ({}) is longer than `every` ({})", fmt_duration(timeout), fmt_duration(every)),
            Some("a check never overlaps itself: make the timeout shorter than the interval".into()),
        );
    }
    let expect = t.strings(d, "expect").unwrap_or_default();
    let component = t.string(d, "component").map(Spanned::into_inner);
    let depends_on = t.strings(d, "depends_on").unwrap_or_default();
    let critical = t.bool(d, "critical").unwrap_or(true);
    let alert_after = t.integer(d, "alert_after", 0..10_001).map_or(defaults.alert_after, |n| n as u32);
    let recover_after = t.integer(d, "recover_after", 1..10_001).map_or(defaults.recover_after, |n| n as u32);
    Some(CheckSection {
        name: name?,
        kind: kind?,
        every,
        schedule,
        zone,
        timeout,
        expect,
        component,
        depends_on,
        critical,
        alert_after,
        recover_after,
        settings: t,
    })
}

/// A name as shown in messages: a pasted megabyte is cut short.
fn shorten(name: &str) -> String {
    match name.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_string(),
    }
}

fn fmt_duration(d: Duration) -> String {
    upkeep_expr::Value::duration(d).to_string()
}

/// Names appear in expressions (`availability(api, 30d)`), URLs and metric labels.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Duplicate names, `depends_on` naming no check, and dependency cycles.
fn check_names(checks: &[CheckSection], d: &mut Diagnostics) {
    let mut seen: HashMap<&str, &Spanned<String>> = HashMap::new();
    for check in checks {
        if let Some(first) = seen.get(check.name.get_ref().as_str()) {
            let (line, _) = d.source().line_col(first.span().start);
            d.error(
                check.name.span(),
                format!("two checks are named `{}`", check.name.get_ref()),
                Some(format!("the first is on line {line}; names must be unique")),
            );
        } else {
            seen.insert(check.name.get_ref(), &check.name);
        }
    }
    for check in checks {
        for parent in &check.depends_on {
            if parent.get_ref() == check.name.get_ref() {
                d.error(parent.span(), format!("check `{}` depends on itself", parent.get_ref()), None);
            } else if !seen.contains_key(parent.get_ref().as_str()) {
                let hint = upkeep_expr::closest_name(parent.get_ref(), seen.keys().map(|k| k.to_string()))
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some("`depends_on` names other checks".into()));
                d.error(
                    parent.span(),
                    format!("`depends_on` names `{}`, which is not a check", parent.get_ref()),
                    hint,
                );
            }
        }
    }
    report_cycles(checks, d);
}

fn report_cycles(checks: &[CheckSection], d: &mut Diagnostics) {
    let index: HashMap<&str, usize> = checks.iter().enumerate().map(|(i, c)| (c.name.get_ref().as_str(), i)).collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; checks.len()];
    fn visit(
        i: usize,
        checks: &[CheckSection],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for parent in &checks[i].depends_on {
            let Some(&j) = index.get(parent.get_ref().as_str()) else {
                continue;
            };
            if j == i {
                continue;
            }
            if state[j] == 1 {
                let start = path.iter().position(|&p| p == j).unwrap_or(0);
                return Some(path[start..].to_vec());
            }
            if state[j] == 0
                && let Some(cycle) = visit(j, checks, index, state, path)
            {
                return Some(cycle);
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    for i in 0..checks.len() {
        if state[i] == 0
            && let Some(cycle) = visit(i, checks, &index, &mut state, &mut Vec::new())
        {
            let names: Vec<&str> = cycle.iter().map(|&c| checks[c].name.get_ref().as_str()).collect();
            let first = &checks[cycle[0]];
            d.error(
                first.name.span(),
                format!("`depends_on` forms a cycle: {} → {}", names.join(" → "), names[0]),
                Some("a dependency must lead to a root check that depends on nothing".into()),
            );
            for &c in &cycle {
                state[c] = 2;
            }
        }
    }
}
