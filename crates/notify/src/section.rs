//! `[notifications]`, `[[channel]]`, `[[route]]` and `[[time_interval]]`, as a user writes them:
//!
//! ```toml
//! [[route]]
//! severity = "critical"
//! channels = ["oncall-slack", "pagerduty"]
//! group_by = ["alertname", "component"]
//!
//! [[channel]]
//! name = "oncall-slack"
//! kind = "slack"
//! url = "${SLACK_CRITICAL_WEBHOOK}"
//! ```

use crate::channel::{ChannelConfig, KINDS};
use crate::interval::{TimeInterval, parse_times, parse_weekdays};
use crate::route::{Route, Routes, Timing};
use std::sync::Arc;
use std::time::Duration;
use upkeep_alert::{Matcher, Op};
use upkeep_config::{Diagnostics, Sections, Spanned, Table, TableReader};

/// Everything that decides who hears of an alert.
#[derive(Clone, Debug, Default)]
pub struct Notifications {
    pub routes: Routes,
    pub channels: Vec<ChannelConfig>,
    /// How long a notification is retried before it is given up as expired (default 24 h).
    pub expire: Duration,
    /// How long one attempt may take (default 10 s).
    pub timeout: Duration,
}

impl Notifications {
    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// Names of the alerts (of `labels`) that reach no channel.
    pub fn unrouted<'a>(&self, alerts: impl IntoIterator<Item = (&'a str, &'a upkeep_alert::Labels)>) -> Vec<String> {
        let mut names: Vec<String> = alerts
            .into_iter()
            .filter(|(_, labels)| !self.routes.reaches_a_channel(labels))
            .map(|(name, _)| name.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Label shorthands a route may match on directly: `severity = "critical"`,
/// `check = ["api", "db"]`.
const SHORTHANDS: [&str; 5] = ["severity", "alertname", "check", "component", "slo"];

/// Every notification section; `zone` is the config's time zone (`[defaults] zone`).
pub fn read_notifications(sections: &mut Sections, d: &mut Diagnostics, zone: &jiff::tz::TimeZone) -> Notifications {
    let mut defaults = Timing::default();
    let mut default_group_by = vec!["alertname".to_string()];
    let mut default_channels = Vec::new();
    let (mut expire, mut timeout) = (Duration::from_secs(24 * 3600), Duration::from_secs(10));
    let channels = read_channels(sections, d);
    let names: Vec<String> = channels.iter().map(|c| c.name.clone()).collect();
    if let Some(mut t) = sections.table(d, "notifications") {
        defaults = read_timing(&mut t, d, defaults);
        default_group_by = read_group_by(&mut t, d).unwrap_or(default_group_by);
        default_channels = read_channel_names(&mut t, d, &names);
        if let Some(e) = t.duration(d, "expire", Duration::from_secs(60)) {
            expire = e.into_inner();
        }
        if let Some(e) = t.duration(d, "timeout", Duration::from_millis(100)) {
            timeout = e.into_inner();
        }
        t.finish(d);
    }
    let intervals = read_intervals(sections, d, zone);
    let mut routes = Vec::new();
    for (i, table) in sections.tables(d, "route").into_iter().enumerate() {
        let start = table.span.start;
        if let Some(route) = read_route(table, i, d, &names, &intervals, defaults, &default_group_by) {
            if routes.iter().any(|r: &Route| r.id == route.id) {
                d.error(
                    start..start + 1,
                    format!("two routes are named `{}`", route.id),
                    Some("give each [[route]] its own `name`".into()),
                );
            }
            routes.push(route);
        }
    }
    let default = Route {
        id: "default".into(),
        matchers: Vec::new(),
        channels: default_channels,
        proceed: false,
        group_by: default_group_by,
        timing: defaults,
        active_during: Vec::new(),
        mute_during: Vec::new(),
    };
    Notifications { routes: Routes { routes, default: Some(default) }, channels, expire, timeout }
}

fn read_channels(sections: &mut Sections, d: &mut Diagnostics) -> Vec<ChannelConfig> {
    let mut channels: Vec<ChannelConfig> = Vec::new();
    for table in sections.tables(d, "channel") {
        let start = table.span.start;
        if let Some(channel) = read_channel(table, d) {
            if channels.iter().any(|c| c.name == channel.name) {
                d.error(
                    start..start + 1,
                    format!("two channels are named `{}`", channel.name),
                    Some("give each [[channel]] its own `name`".into()),
                );
            }
            channels.push(channel);
        }
    }
    channels
}

fn read_channel(table: Table, d: &mut Diagnostics) -> Option<ChannelConfig> {
    let mut t = TableReader::new(table, "a channel");
    let name = t.required_string(d, "name", "\"oncall-slack\"");
    if let Some(name) = &name {
        t.set_context(format!("channel \"{}\"", name.get_ref()));
    }
    let kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
    let kind = t.required_string(d, "kind", &format!("one of {}", kinds.join(", ")));
    let send_resolved = t.bool(d, "send_resolved").unwrap_or(true);
    let min_gap = t.duration(d, "min_interval", Duration::ZERO).map(Spanned::into_inner);
    let kind = kind?;
    let Some((kind_name, build, default_gap)) = KINDS.iter().find(|k| k.0 == kind.get_ref()) else {
        let hint = upkeep_expr::closest_name(kind.get_ref(), kinds.iter().map(|k| k.to_string()))
            .map_or_else(|| format!("one of {}", kinds.join(", ")), |k| format!("did you mean `{k}`?"));
        d.error(kind.span(), format!("`{}` is not a channel kind", kind.get_ref()), Some(hint));
        return None;
    };
    let built = build(&mut t, d);
    t.finish(d);
    let (channel, target) = built?;
    Some(ChannelConfig {
        name: name?.into_inner(),
        kind: kind_name,
        channel,
        send_resolved,
        min_gap: min_gap.unwrap_or(*default_gap),
        target,
    })
}

fn read_route(
    table: Table,
    index: usize,
    d: &mut Diagnostics,
    channels: &[String],
    intervals: &[Arc<TimeInterval>],
    defaults: Timing,
    default_group_by: &[String],
) -> Option<Route> {
    let mut t = TableReader::new(table, format!("route {}", index + 1));
    let id = t.string(d, "name").map_or_else(|| format!("route-{}", index + 1), Spanned::into_inner);
    t.set_context(format!("route \"{id}\""));
    let mut matchers = Vec::new();
    for label in SHORTHANDS {
        if let Some(values) = t.strings(d, label) {
            let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v.get_ref())).collect();
            let matcher = if values.len() == 1 {
                Matcher::new(label, Op::Eq, values[0].get_ref())
            } else {
                Matcher::new(label, Op::Re, &alternatives.join("|"))
            };
            matchers.extend(matcher.ok());
        }
    }
    for text in t.strings(d, "match").unwrap_or_default() {
        match Matcher::parse(text.get_ref()) {
            Ok(m) => matchers.push(m),
            Err(e) => d.error(text.span(), e, Some("label=value, label!=value, label=~regex or label!~regex".into())),
        }
    }
    if !t.has("channels") {
        d.error(
            t.span(),
            format!("{} has no `channels`", t.context()),
            Some("add channels = [\"...\"], naming [[channel]]s".into()),
        );
    }
    let route_channels = read_channel_names(&mut t, d, channels);
    let proceed = t.bool(d, "continue").unwrap_or(false);
    let group_by = read_group_by(&mut t, d).unwrap_or_else(|| default_group_by.to_vec());
    let timing = read_timing(&mut t, d, defaults);
    let active_during = read_interval_names(&mut t, d, "active_during", intervals);
    let mute_during = read_interval_names(&mut t, d, "mute_during", intervals);
    t.finish(d);
    Some(Route { id, matchers, channels: route_channels, proceed, group_by, timing, active_during, mute_during })
}

fn read_timing(t: &mut TableReader, d: &mut Diagnostics, mut timing: Timing) -> Timing {
    // Durations are above zero elsewhere; a group may send at once.
    let at_once = t.peek("group_wait").is_some_and(
        |n| matches!(&n.value, upkeep_config::NodeValue::String(s) if matches!(s.trim(), "0" | "0s" | "0ms")),
    );
    if at_once {
        let _ = t.string(d, "group_wait");
        timing.group_wait = Duration::ZERO;
    } else if let Some(w) = t.duration(d, "group_wait", Duration::ZERO) {
        timing.group_wait = w.into_inner();
    }
    if let Some(w) = t.duration(d, "group_interval", Duration::from_secs(1)) {
        timing.group_interval = w.into_inner();
    }
    if let Some(w) = t.duration(d, "repeat_interval", Duration::from_secs(60)) {
        timing.repeat_interval = w.into_inner();
    }
    timing
}

fn read_group_by(t: &mut TableReader, d: &mut Diagnostics) -> Option<Vec<String>> {
    let labels = t.strings(d, "group_by")?;
    let mut out = Vec::new();
    for label in labels {
        let ok = label.get_ref() == "..."
            || (!label.get_ref().is_empty() && label.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if ok {
            out.push(label.into_inner());
        } else {
            d.error(
                label.span(),
                format!("`{}` is not a label name", label.get_ref()),
                Some("group_by lists label names, or [\"...\"] for every label".into()),
            );
        }
    }
    Some(out)
}

/// `channels`, each naming a `[[channel]]`.
fn read_channel_names(t: &mut TableReader, d: &mut Diagnostics, known: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for name in t.strings(d, "channels").unwrap_or_default() {
        if known.iter().any(|k| k == name.get_ref()) {
            out.push(name.into_inner());
        } else {
            let hint = upkeep_expr::closest_name(name.get_ref(), known.iter().cloned())
                .map_or_else(|| "add a [[channel]] with this name".to_string(), |k| format!("did you mean `{k}`?"));
            d.error(name.span(), format!("`{}` is not a channel", name.get_ref()), Some(hint));
        }
    }
    out
}

fn read_interval_names(
    t: &mut TableReader,
    d: &mut Diagnostics,
    key: &'static str,
    intervals: &[Arc<TimeInterval>],
) -> Vec<Arc<TimeInterval>> {
    let mut out = Vec::new();
    for name in t.strings(d, key).unwrap_or_default() {
        match intervals.iter().find(|i| i.name == *name.get_ref()) {
            Some(i) => out.push(Arc::clone(i)),
            None => {
                let hint = upkeep_expr::closest_name(name.get_ref(), intervals.iter().map(|i| i.name.clone()))
                    .map_or_else(
                        || "add a [[time_interval]] with this name".to_string(),
                        |k| format!("did you mean `{k}`?"),
                    );
                d.error(name.span(), format!("`{}` is not a time interval", name.get_ref()), Some(hint));
            }
        }
    }
    out
}

fn read_intervals(sections: &mut Sections, d: &mut Diagnostics, zone: &jiff::tz::TimeZone) -> Vec<Arc<TimeInterval>> {
    let mut out: Vec<Arc<TimeInterval>> = Vec::new();
    for table in sections.tables(d, "time_interval") {
        let mut t = TableReader::new(table, "a time interval");
        let name = t.required_string(d, "name", "\"business-hours\"");
        let mut weekdays = Vec::new();
        for w in t.strings(d, "weekdays").unwrap_or_default() {
            match parse_weekdays(w.get_ref()) {
                Ok(days) => weekdays.extend(days),
                Err(e) => d.error(w.span(), e, Some("\"monday:friday\", \"saturday\", \"sun\"".into())),
            }
        }
        let mut times = Vec::new();
        for w in t.strings(d, "times").unwrap_or_default() {
            match parse_times(w.get_ref()) {
                Ok(range) => times.push(range),
                Err(e) => d.error(w.span(), e, None),
            }
        }
        let zone = t.zone(d, "zone").unwrap_or_else(|| zone.clone());
        t.finish(d);
        if let Some(name) = name {
            if out.iter().any(|i| i.name == *name.get_ref()) {
                d.error(name.span(), format!("two time intervals are named `{}`", name.get_ref()), None);
            }
            out.push(Arc::new(TimeInterval { name: name.into_inner(), weekdays, times, zone }));
        }
    }
    out
}
