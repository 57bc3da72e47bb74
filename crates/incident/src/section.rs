//! `[incidents]`, `[[severity]]`, `[[person]]`, `[[schedule]]` and `[[escalation]]`, as a user
//! writes them:
//!
//! ```toml
//! [incidents]
//! open_on = { critical = "P1", warning = "P3" }
//! escalation = "default"
//!
//! [[person]]
//! name = "ops-1"
//! channels = ["ops-1-email"]
//!
//! [[schedule]]
//! name = "primary"
//! rotation = { every = "1w", handoff = "Mon 09:00", zone = "Europe/Berlin", people = ["ops-1", "ops-2"] }
//!
//! [[escalation]]
//! name = "default"
//! levels = [
//!   { after = "0m", notify = ["schedule:primary"] },
//!   { after = "15m", notify = ["person:ops-lead"] },
//! ]
//! ```
//!
//! Every name one of them refers to (a person in a rotation, a target of a level, a severity in
//! `open_on`, a person's channel) is checked here, with the nearest name as the hint.

use crate::escalation::{Level, Policy, Target};
use crate::oncall::{Override, Person, Rotation, Schedule};
use crate::severity::{self, Severity};
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Spanned, TableReader};
use upkeep_notify::{TimeInterval, parse_times, parse_weekdays};

/// One command whose output is captured when an incident opens (000-96).
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub name: String,
    /// Run by `sh -c`.
    pub command: String,
}

/// Everything about incidents in the config.
#[derive(Clone, Debug)]
pub struct Incidents {
    /// Alert severity → incident severity id; an alert whose severity is not here opens none.
    pub open_on: Vec<(String, String)>,
    /// Alerts with the same values of these labels join one open incident.
    pub group_by: Vec<String>,
    pub auto_resolve: bool,
    /// The policy of incidents whose severity names none.
    pub escalation: Option<String>,
    pub severities: Vec<Severity>,
    pub people: Vec<Person>,
    pub schedules: Vec<Schedule>,
    pub policies: Vec<Policy>,
    /// How long an acknowledge link works.
    pub ack_valid: Duration,
    /// The key of acknowledge links and feed tokens; default: a key file in `data_dir`.
    pub secret: Option<String>,
    pub postmortem_after: Duration,
    pub follow_up: Duration,
    pub breach_deadline: Duration,
    /// Severities whose opening captures diagnostics.
    pub diagnostics_on: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// The app's log, whose tail is captured.
    pub app_log: Option<std::path::PathBuf>,
    pub log_lines: u32,
    /// Bytes kept of each command's output.
    pub diagnostics_limit: u64,
    pub diagnostics_timeout: Duration,
}

impl Incidents {
    pub fn severity(&self, id: &str) -> Option<&Severity> {
        self.severities.iter().find(|s| s.id == id)
    }

    /// Its place among the severities (0 is the most severe).
    pub fn rank(&self, id: &str) -> usize {
        self.severities.iter().position(|s| s.id == id).unwrap_or(self.severities.len())
    }

    /// The alert severity a page of this incident severity goes out as.
    pub fn alert_severity(&self, id: &str) -> &'static str {
        severity::alert_severity(self.rank(id))
    }

    pub fn policy_for(&self, severity: &str) -> Option<&Policy> {
        let name = self.severity(severity).and_then(|s| s.escalation.as_ref()).or(self.escalation.as_ref())?;
        self.policies.iter().find(|p| &p.name == name)
    }

    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.name == name)
    }

    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    /// The incident severity an alert of `severity` opens, if any.
    pub fn opens(&self, alert_severity: &str) -> Option<&str> {
        self.open_on.iter().find(|(a, _)| a == alert_severity).map(|(_, s)| s.as_str())
    }
}

impl Default for Incidents {
    fn default() -> Self {
        Incidents {
            open_on: vec![("critical".into(), "P1".into())],
            group_by: vec!["component".into()],
            auto_resolve: true,
            escalation: None,
            severities: severity::defaults(),
            people: Vec::new(),
            schedules: Vec::new(),
            policies: Vec::new(),
            ack_valid: Duration::from_secs(24 * 3600),
            secret: None,
            postmortem_after: Duration::from_secs(2 * 86_400),
            follow_up: Duration::from_secs(14 * 86_400),
            breach_deadline: Duration::from_secs(72 * 3600),
            diagnostics_on: vec!["P1".into()],
            diagnostics: default_diagnostics(),
            app_log: None,
            log_lines: 100,
            diagnostics_limit: 16 * 1024,
            diagnostics_timeout: Duration::from_secs(10),
        }
    }
}

/// 000-96's snapshot: the busiest processes, disk, memory.
fn default_diagnostics() -> Vec<Diagnostic> {
    let d = |name: &str, command: &str| Diagnostic { name: name.into(), command: command.into() };
    vec![
        d("processes", "ps -eo pid,user,pcpu,pmem,etime,args --sort=-pcpu | head -n 16"),
        d("disk", "df -h"),
        d("memory", "free -h"),
    ]
}

/// Every incident section; `channels` are the configured channel names, `zone` the config's
/// time zone.
pub fn read_incidents(sections: &mut Sections, d: &mut Diagnostics, channels: &[String], zone: &TimeZone) -> Incidents {
    let mut out = Incidents::default();
    let mut refs = References::default();
    read_severities(sections, d, &mut out.severities);
    if let Some(mut t) = sections.table(d, "incidents") {
        read_settings(&mut t, d, &mut out, &mut refs, sections.base_dir());
        t.finish(d);
    }
    for table in sections.tables(d, "person") {
        let mut t = TableReader::new(table, "a person");
        let name = t.required_string(d, "name", "\"ops-1\"");
        if let Some(name) = &name {
            t.set_context(format!("person \"{}\"", name.get_ref()));
        }
        let full_name = t.string(d, "full_name").map(Spanned::into_inner);
        let listed = t.strings(d, "channels").unwrap_or_default();
        if listed.is_empty() {
            d.error(
                t.span(),
                format!("{} has no channels: nobody could page them", t.context()),
                Some("channels = [\"ops-1-email\"]".into()),
            );
        }
        for c in &listed {
            known(d, c, channels, "channel", "add a [[channel]] with this name");
        }
        t.finish(d);
        let Some(name) = name else { continue };
        if out.people.iter().any(|p| p.name == *name.get_ref()) {
            d.error(name.span(), format!("two people are named `{}`", name.get_ref()), None);
        }
        out.people.push(Person {
            name: name.into_inner(),
            full_name,
            channels: listed.into_iter().map(Spanned::into_inner).collect(),
        });
    }
    for table in sections.tables(d, "schedule") {
        if let Some(s) = read_schedule(TableReader::new(table, "a schedule"), d, zone, &mut refs) {
            if out.schedules.iter().any(|o| o.name == s.name) {
                d.error(refs.last_name.clone(), format!("two schedules are named `{}`", s.name), None);
            }
            out.schedules.push(s);
        }
    }
    for table in sections.tables(d, "escalation") {
        if let Some(p) = read_policy(TableReader::new(table, "an escalation policy"), d, &mut refs) {
            if out.policies.iter().any(|o| o.name == p.name) {
                d.error(refs.last_name.clone(), format!("two escalation policies are named `{}`", p.name), None);
            }
            out.policies.push(p);
        }
    }
    out.severities.sort_by(|a, b| a.id.cmp(&b.id));
    refs.check(d, &out, channels);
    out
}

/// Names read before what they name was, checked once all is read.
#[derive(Default)]
struct References {
    people: Vec<Spanned<String>>,
    targets: Vec<(Spanned<String>, Target)>,
    severities: Vec<Spanned<String>>,
    policies: Vec<Spanned<String>>,
    last_name: std::ops::Range<usize>,
}

impl References {
    fn check(&self, d: &mut Diagnostics, out: &Incidents, channels: &[String]) {
        let people: Vec<String> = out.people.iter().map(|p| p.name.clone()).collect();
        let schedules: Vec<String> = out.schedules.iter().map(|s| s.name.clone()).collect();
        let policies: Vec<String> = out.policies.iter().map(|p| p.name.clone()).collect();
        let severities: Vec<String> = out.severities.iter().map(|s| s.id.clone()).collect();
        for p in &self.people {
            known(d, p, &people, "person", "add a [[person]] with this name and their channels");
        }
        for (span, target) in &self.targets {
            match target {
                Target::Schedule(n) => {
                    known(d, &Spanned::new(span.span(), n.clone()), &schedules, "schedule", "add a [[schedule]]")
                }
                Target::Person(n) => {
                    known(d, &Spanned::new(span.span(), n.clone()), &people, "person", "add a [[person]]")
                }
                Target::Channel(n) => {
                    known(d, &Spanned::new(span.span(), n.clone()), channels, "channel", "add a [[channel]]")
                }
            }
        }
        for s in &self.severities {
            known(d, s, &severities, "severity", "the severities are P1 to P4, or those [[severity]] adds");
        }
        for p in &self.policies {
            known(d, p, &policies, "escalation policy", "add an [[escalation]] with this name");
        }
    }
}

/// An error at `name` unless it is one of `names`.
fn known(d: &mut Diagnostics, name: &Spanned<String>, names: &[String], what: &str, otherwise: &str) {
    if names.iter().any(|n| n == name.get_ref()) {
        return;
    }
    let hint = upkeep_expr::closest_name(name.get_ref(), names.iter().cloned())
        .map_or_else(|| otherwise.to_string(), |n| format!("did you mean `{n}`?"));
    d.error(name.span(), format!("there is no {what} `{}`", name.get_ref()), Some(hint));
}

fn duration(t: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Option<Duration> {
    t.duration(d, key, Duration::ZERO).map(Spanned::into_inner)
}

/// A time after the trigger, where zero (`"0m"`) is the moment itself.
fn offset(t: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Option<Duration> {
    let text = t.string(d, key)?;
    if ["", "s", "m", "h", "d", "ms", "w"].contains(&text.get_ref().trim_start_matches('0')) {
        return Some(Duration::ZERO);
    }
    upkeep_config::parse_duration(text.get_ref())
        .map_err(|e| d.error(text.span(), e, Some(format!("for example: {key} = \"15m\""))))
        .ok()
}

fn read_settings(
    t: &mut TableReader,
    d: &mut Diagnostics,
    out: &mut Incidents,
    refs: &mut References,
    base: &std::path::Path,
) {
    if let Some(map) = t.string_map(d, "open_on") {
        for (alert, sev) in &map {
            if !["critical", "warning", "info"].contains(&alert.as_str()) {
                d.error(
                    sev.span(),
                    format!("`{alert}` is not an alert severity"),
                    Some("critical, warning or info".into()),
                );
            }
            refs.severities.push(sev.clone());
        }
        out.open_on = map.into_iter().map(|(a, s)| (a, s.into_inner())).collect();
    }
    if let Some(g) = t.strings(d, "group_by") {
        out.group_by = g.into_iter().map(Spanned::into_inner).collect();
    }
    if let Some(b) = t.bool(d, "auto_resolve") {
        out.auto_resolve = b;
    }
    if let Some(e) = t.string(d, "escalation") {
        refs.policies.push(e.clone());
        out.escalation = Some(e.into_inner());
    }
    out.ack_valid = t.duration(d, "ack_valid", Duration::from_secs(60)).map_or(out.ack_valid, Spanned::into_inner);
    out.secret = t.string(d, "secret").map(Spanned::into_inner);
    if let Some(s) = &out.secret
        && s.len() < 16
    {
        d.error(
            t.span(),
            "`secret` in [incidents] is too short to sign links",
            Some("use 32 random characters: `openssl rand -hex 32`".into()),
        );
    }
    out.postmortem_after = duration(t, d, "postmortem_after").unwrap_or(out.postmortem_after);
    out.follow_up = duration(t, d, "follow_up").unwrap_or(out.follow_up);
    out.breach_deadline = duration(t, d, "breach_deadline").unwrap_or(out.breach_deadline);
    if let Some(on) = t.strings(d, "diagnostics_on") {
        refs.severities.extend(on.iter().cloned());
        out.diagnostics_on = on.into_iter().map(Spanned::into_inner).collect();
    }
    if let Some(map) = t.string_map(d, "diagnostics") {
        out.diagnostics = map.into_iter().map(|(name, c)| Diagnostic { name, command: c.into_inner() }).collect();
    }
    if let Some(log) = t.string(d, "app_log") {
        out.app_log = Some(base.join(log.get_ref()));
    }
    if let Some(n) = t.integer(d, "log_lines", 1..10_001) {
        out.log_lines = n as u32;
    }
    if let Some(size) = t.size(d, "diagnostics_limit") {
        out.diagnostics_limit = size.into_inner().clamp(1024, 1024 * 1024);
    }
    out.diagnostics_timeout = t
        .duration(d, "diagnostics_timeout", Duration::from_secs(1))
        .map_or(out.diagnostics_timeout, Spanned::into_inner);
}

/// `[[severity]]`: one of P1–P4 changed, or one more.
fn read_severities(sections: &mut Sections, d: &mut Diagnostics, severities: &mut Vec<Severity>) {
    for table in sections.tables(d, "severity") {
        let mut t = TableReader::new(table, "a severity");
        let Some(id) = t.required_string(d, "id", "\"P1\"") else {
            t.finish(d);
            continue;
        };
        t.set_context(format!("severity \"{}\"", id.get_ref()));
        let base = severities.iter().find(|s| s.id == *id.get_ref()).cloned();
        let mut s = base.clone().unwrap_or(Severity {
            id: id.get_ref().clone(),
            name: id.get_ref().to_lowercase(),
            respond: None,
            resolve: None,
            update_every: None,
            postmortem: false,
            escalation: None,
        });
        if let Some(name) = t.string(d, "name") {
            s.name = name.into_inner();
        }
        for (key, slot) in
            [("respond", &mut s.respond), ("resolve", &mut s.resolve), ("update_every", &mut s.update_every)]
        {
            if let Some(v) = duration(&mut t, d, key) {
                *slot = (!v.is_zero()).then_some(v);
            }
        }
        if let Some(b) = t.bool(d, "postmortem") {
            s.postmortem = b;
        }
        s.escalation = t.string(d, "escalation").map(Spanned::into_inner).or(s.escalation);
        t.finish(d);
        match severities.iter_mut().find(|x| x.id == s.id) {
            Some(slot) => *slot = s,
            None => severities.push(s),
        }
    }
}

fn read_schedule(mut t: TableReader, d: &mut Diagnostics, zone: &TimeZone, refs: &mut References) -> Option<Schedule> {
    let name = t.required_string(d, "name", "\"primary\"");
    if let Some(name) = &name {
        t.set_context(format!("schedule \"{}\"", name.get_ref()));
        refs.last_name = name.span();
    }
    let description = t.string(d, "description").map(Spanned::into_inner);
    let own_zone = t.zone(d, "zone");
    let zone = own_zone.clone().unwrap_or_else(|| zone.clone());
    let example = "{ every = \"1w\", handoff = \"Mon 09:00\", people = [\"ops-1\", \"ops-2\"] }";
    let mut layers: Vec<Rotation> = Vec::new();
    let (one, many) = (t.table(d, "rotation", example), t.tables(d, "rotations", "rotation", example));
    if one.is_some() && !many.is_empty() {
        d.error(
            t.span(),
            format!("{} has both `rotation` and `rotations`", t.context()),
            Some("list every layer in `rotations`".into()),
        );
    }
    for r in one.into_iter().chain(many) {
        layers.extend(read_rotation(r, d, &zone, refs));
    }
    if layers.is_empty() {
        d.error(t.span(), format!("{} has no rotation", t.context()), Some(format!("rotation = {example}")));
    }
    // Overrides are written in the schedule's zone, else its first rotation's.
    let zone = own_zone.or_else(|| layers.first().map(|l| l.zone.clone())).unwrap_or(zone);
    let mut overrides = Vec::new();
    for (i, mut o) in t
        .tables(
            d,
            "overrides",
            "override",
            "{ person = \"ops-3\", start = \"2026-12-08 18:00\", end = \"2026-12-08 22:00\" }",
        )
        .into_iter()
        .enumerate()
    {
        let person = o.required_string(d, "person", "\"ops-3\"");
        let start = civil_time(&mut o, d, "start", &zone);
        let end = civil_time(&mut o, d, "end", &zone);
        let comment = o.string(d, "comment").map(Spanned::into_inner);
        let span = o.span();
        o.finish(d);
        let (Some(person), Some(start), Some(end)) = (person, start, end) else { continue };
        if end <= start {
            d.error(span, "this override ends before it starts", None);
            continue;
        }
        refs.people.push(person.clone());
        overrides.push(Override {
            id: format!("config-{}", i + 1),
            schedule: name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_default(),
            person: person.into_inner(),
            start,
            end,
            author: "config".into(),
            comment,
            created: jiff::Timestamp::UNIX_EPOCH,
        });
    }
    t.finish(d);
    Some(Schedule { name: name?.into_inner(), description, layers, overrides })
}

/// A wall-clock time in `zone` (`2026-12-08 18:00`), or an RFC 3339 time with its offset.
fn civil_time(t: &mut TableReader, d: &mut Diagnostics, key: &'static str, zone: &TimeZone) -> Option<jiff::Timestamp> {
    let text = t.required_string(d, key, "\"2026-12-08 18:00\"")?;
    parse_time(text.get_ref(), zone)
        .map_err(|e| {
            d.error(
                text.span(),
                e,
                Some("\"2026-12-08 18:00\" (in the schedule's zone) or \"2026-12-08T17:00:00Z\"".into()),
            )
        })
        .ok()
}

/// A time as the CLI and config take it: RFC 3339, or a wall-clock time in `zone`; between
/// the years 1970 and 9000, where calendars and rotations are defined.
pub fn parse_time(text: &str, zone: &TimeZone) -> Result<jiff::Timestamp, String> {
    let t = match text.parse::<jiff::Timestamp>() {
        Ok(t) => t,
        Err(_) => {
            let civil: DateTime = text.replacen(' ', "T", 1).parse().map_err(|_| format!("`{text}` is not a time"))?;
            zone.to_ambiguous_zoned(civil).compatible().map(|z| z.timestamp()).map_err(|e| e.to_string())?
        }
    };
    let year = t.to_zoned(TimeZone::UTC).year();
    if !(1970..=9000).contains(&year) {
        return Err(format!("`{text}` is outside the years 1970 to 9000"));
    }
    Ok(t)
}

fn read_rotation(mut r: TableReader, d: &mut Diagnostics, zone: &TimeZone, refs: &mut References) -> Option<Rotation> {
    let people = r.strings(d, "people").unwrap_or_default();
    if people.is_empty() {
        d.error(r.span(), format!("{} has no people", r.context()), Some("people = [\"ops-1\", \"ops-2\"]".into()));
    }
    refs.people.extend(people.iter().cloned());
    let every = r.required_string(d, "every", "\"1w\"");
    let every_days = every.as_ref().and_then(|e| match days(e.get_ref()) {
        Ok(n) => Some(n),
        Err(msg) => {
            d.error(e.span(), msg, Some("\"1d\" (daily), \"1w\" (weekly), \"2w\"".into()));
            None
        }
    });
    let handoff = r.string(d, "handoff");
    let (handoff_day, handoff_time) = match &handoff {
        None => (every_days.filter(|n| n % 7 == 0).map(|_| Weekday::Monday), Time::new(9, 0, 0, 0).unwrap_or_default()),
        Some(h) => match parse_handoff(h.get_ref()) {
            Ok(v) => v,
            Err(msg) => {
                d.error(h.span(), msg, Some("\"Mon 09:00\" for a weekly rotation, \"09:00\" for a daily one".into()));
                (None, Time::midnight())
            }
        },
    };
    if let (Some(_), Some(n), Some(h)) = (handoff_day, every_days, &handoff)
        && n % 7 != 0
    {
        d.error(
            h.span(),
            "a hand-off on a weekday needs turns of whole weeks",
            Some("every = \"1w\", or a handoff without a weekday".into()),
        );
    }
    let zone = r.zone(d, "zone").unwrap_or_else(|| zone.clone());
    let start = match r.string(d, "start") {
        None => Date::constant(2024, 1, 1),
        Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
            d.error(s.span(), format!("`{}` is not a date", s.get_ref()), Some("\"2026-01-05\"".into()));
            Date::constant(2024, 1, 1)
        }),
    };
    let restrict =
        r.table(d, "restrict", "{ weekdays = [\"monday:friday\"], times = [\"09:00-18:00\"] }").map(|mut x| {
            let mut weekdays = Vec::new();
            for w in x.strings(d, "weekdays").unwrap_or_default() {
                match parse_weekdays(w.get_ref()) {
                    Ok(days) => weekdays.extend(days),
                    Err(e) => d.error(w.span(), e, Some("\"monday:friday\", \"saturday\"".into())),
                }
            }
            let mut times = Vec::new();
            for w in x.strings(d, "times").unwrap_or_default() {
                match parse_times(w.get_ref()) {
                    Ok(range) => times.push(range),
                    Err(e) => d.error(w.span(), e, None),
                }
            }
            x.finish(d);
            TimeInterval { name: String::new(), weekdays, times, zone: zone.clone() }
        });
    r.finish(d);
    Some(Rotation {
        people: people.into_iter().map(Spanned::into_inner).collect(),
        every_days: every_days?,
        handoff: handoff_time,
        handoff_day,
        zone,
        start,
        restrict,
    })
}

/// `1d`, `3d`, `1w`, `2w`: whole days, at most a year.
fn days(text: &str) -> Result<i32, String> {
    let bad = || format!("`{text}` is not a number of days or weeks (at most a year)");
    let (n, per) = match (text.strip_suffix('d'), text.strip_suffix('w')) {
        (Some(n), _) => (n, 1),
        (_, Some(n)) => (n, 7),
        _ => return Err(bad()),
    };
    let n: i32 = n.parse().map_err(|_| bad())?;
    n.checked_mul(per).filter(|d| (1..=366).contains(d)).ok_or_else(bad)
}

/// `Mon 09:00` or `09:00`.
fn parse_handoff(text: &str) -> Result<(Option<Weekday>, Time), String> {
    let (day, time) = match text.trim().split_once(' ') {
        Some((day, time)) => (Some(day), time),
        None => (None, text.trim()),
    };
    let day = day.map(|d| parse_weekdays(d).map(|days| days[0])).transpose()?;
    let time: Time = time.parse().map_err(|_| format!("`{text}` is not a hand-off time"))?;
    Ok((day, time))
}

fn read_policy(mut t: TableReader, d: &mut Diagnostics, refs: &mut References) -> Option<Policy> {
    let name = t.required_string(d, "name", "\"default\"");
    if let Some(name) = &name {
        t.set_context(format!("escalation \"{}\"", name.get_ref()));
        refs.last_name = name.span();
    }
    let mut levels = Vec::new();
    let example = "[{ after = \"0m\", notify = [\"schedule:primary\"] }]";
    for mut l in t.tables(d, "levels", "level", example) {
        let after = offset(&mut l, d, "after").unwrap_or_default();
        let mut notify = Vec::new();
        for n in l.strings(d, "notify").unwrap_or_default() {
            match Target::parse(n.get_ref()) {
                Ok(target) => {
                    refs.targets.push((n.clone(), target.clone()));
                    notify.push(target);
                }
                Err(e) => {
                    d.error(n.span(), e, Some("\"schedule:primary\", \"person:ops-lead\", \"channel:execs\"".into()))
                }
            }
        }
        if notify.is_empty() {
            d.error(
                l.span(),
                format!("{} notifies nobody", l.context()),
                Some("notify = [\"schedule:primary\"]".into()),
            );
        }
        if levels.last().is_some_and(|p: &Level| p.after > after) {
            d.error(
                l.span(),
                format!("{} comes before the level above it", l.context()),
                Some("list levels in the order they are paged".into()),
            );
        }
        l.finish(d);
        levels.push(Level { after, notify });
    }
    if levels.is_empty() {
        d.error(t.span(), format!("{} has no levels", t.context()), Some(format!("levels = {example}")));
    }
    let repeat = t.integer(d, "repeat", 0..101).unwrap_or(0) as u32;
    let gap = match &levels[..] {
        [.., a, b] if b.after > a.after => b.after - a.after,
        _ => Duration::from_secs(15 * 60),
    };
    let repeat_every = t.duration(d, "repeat_every", Duration::from_secs(60)).map_or(gap, Spanned::into_inner);
    t.finish(d);
    Some(Policy { name: name?.into_inner(), levels, repeat, repeat_every })
}

#[cfg(test)]
mod tests {
    use super::*;
    use upkeep_config::{Env, Source};

    fn read(text: &str) -> (Incidents, Vec<String>) {
        let (sections, mut d) =
            upkeep_config::parse(Source::new("upkeep.toml", text.to_string()), &Env::Fixed(Default::default()));
        let mut sections = sections.unwrap();
        let out = read_incidents(
            &mut sections,
            &mut d,
            &["ops-1-email".into(), "ops-2-email".into(), "execs".into()],
            &TimeZone::UTC,
        );
        sections.finish(&mut d);
        let errors = d
            .to_json()
            .into_iter()
            .map(|(_, line, col, msg, hint)| format!("{line}:{col}: {msg} ({})", hint.unwrap_or_default()))
            .collect();
        (out, errors)
    }

    const CONFIG: &str = r#"
[incidents]
open_on = { critical = "P1", warning = "P3" }
escalation = "default"

[[person]]
name = "ops-1"
channels = ["ops-1-email"]

[[person]]
name = "ops-2"
channels = ["ops-2-email"]

[[schedule]]
name = "primary"
rotation = { every = "1w", handoff = "Mon 09:00", zone = "Europe/Berlin", people = ["ops-1", "ops-2"] }
overrides = [{ person = "ops-2", start = "2026-12-08 18:00", end = "2026-12-08 22:00" }]

[[escalation]]
name = "default"
repeat = 2
levels = [
  { after = "0m",  notify = ["schedule:primary"] },
  { after = "15m", notify = ["person:ops-2", "channel:execs"] },
]
"#;

    #[test]
    fn the_issue_config_reads() {
        let (i, errors) = read(CONFIG);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(i.opens("warning"), Some("P3"));
        let s = i.schedule("primary").unwrap();
        assert_eq!(s.layers[0].every_days, 7);
        assert_eq!(s.overrides[0].start, "2026-12-08T17:00:00Z".parse().unwrap(), "18:00 in Berlin");
        let p = i.policy_for("P1").unwrap();
        assert_eq!((p.levels.len(), p.repeat, p.repeat_every), (2, 2, Duration::from_secs(15 * 60)));
    }

    #[test]
    fn names_that_name_nothing_are_errors_with_a_hint() {
        let bad = CONFIG
            .replace("people = [\"ops-1\", \"ops-2\"]", "people = [\"ops-1\", \"ops-3\"]")
            .replace("schedule:primary", "schedule:primry")
            .replace("warning = \"P3\"", "warning = \"P7\"")
            .replace("every = \"1w\"", "every = \"1x\"");
        let (_, errors) = read(&bad);
        let all = errors.join("\n");
        assert!(all.contains("there is no person `ops-3`"), "{all}");
        assert!(all.contains("there is no schedule `primry`") && all.contains("did you mean `primary`?"), "{all}");
        assert!(all.contains("there is no severity `P7`"), "{all}");
        assert!(all.contains("`1x` is not a number of days or weeks"), "{all}");
    }

    #[test]
    fn a_severity_is_renamed_and_retargeted() {
        // 004-43 counts from P0: its P0 responds within 15 minutes.
        let (i, errors) = read(
            "[[severity]]\nid = \"P0\"\nname = \"critical\"\nrespond = \"15m\"\nupdate_every = \"30m\"\n\n[[severity]]\nid = \"P3\"\nrespond = \"2h\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(i.severity("P0").unwrap().respond, Some(Duration::from_secs(900)));
        assert_eq!(i.severity("P3").unwrap().respond, Some(Duration::from_secs(7200)));
        assert_eq!(i.severity("P3").unwrap().name, "medium", "what is not set keeps its default");
    }
}
