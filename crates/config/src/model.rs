//! The typed config: `[server]`, `[defaults]` and the part of every `[[check]]` that is the same
//! for all kinds. Kind-specific keys stay in [`CheckSection::settings`] for the probe kind to read.

use crate::diagnostic::Diagnostics;
use crate::document::{NodeValue, Table, parse_document};
use crate::interpolate::Env;
use crate::source::Source;
use crate::table::TableReader;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

/// Sections the design names that this version does not read yet: refused with a clear
/// message rather than silently ignored.
const LATER_SECTIONS: &[&str] = &[
    "slo",
    "alert",
    "route",
    "channel",
    "silence",
    "incident",
    "oncall",
    "backup",
    "task",
    "maintenance",
    "status_page",
    "report",
];

#[derive(Debug)]
pub struct Config {
    pub server: Server,
    pub access: crate::access::Access,
    pub retention: Retention,
    pub checks: Vec<CheckSection>,
}

/// How long the store keeps raw results and rollups (`[retention]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retention {
    /// Every check result, with failures' messages and observations.
    pub raw: Duration,
    /// Hourly and daily aggregates with latency histograms: availability, percentiles, bars.
    pub rollups: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { raw: Duration::from_secs(7 * 86400), rollups: Duration::from_secs(400 * 86400) }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub listen: SocketAddr,
    /// The embedded store and local backup repository live here; relative paths are taken
    /// from the config file's folder, so a systemd unit and a shell agree.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL for the scale-out store; `None` means SQLite in `data_dir`.
    pub store: Option<String>,
    /// How many probes may run at once.
    pub concurrency: usize,
    /// Whether `/metrics` needs an API token (`metrics = "token"`); public by default.
    pub metrics_need_token: bool,
    /// Query parameters masked wherever a URL is shown, beyond [`crate::SENSITIVE_PARAMS`].
    pub sensitive_params: Vec<String>,
    /// HTTP connections served at once (more get only `/up`, `/health` and `/ping`).
    pub max_connections: usize,
    /// How long a connection may stay open without sending a request's headers.
    pub idle_timeout: Duration,
    /// How long a whole request may take, body included.
    pub request_timeout: Duration,
}

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
    /// The kind's own keys, read by the probe kind, which then calls `finish`.
    pub settings: TableReader,
}

const DEFAULT_EVERY: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest `every`: a check more often than once a second is a load test, not a check.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// The shortest `timeout`: below a millisecond nothing on a network can answer.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// Retention shorter than this would delete results before they are rolled up.
const MIN_RAW_RETENTION: Duration = Duration::from_secs(3600);
const MIN_ROLLUP_RETENTION: Duration = Duration::from_secs(86400);
/// Names appear in URLs, metric labels and expressions; a longer one is a mistake.
pub const MAX_NAME: usize = 128;

/// Reads the whole file. Returns the config (as much as could be read) and every problem
/// found so far; the caller adds the probe kinds' own problems before reporting.
pub fn parse_config(source: Source, env: &Env) -> (Config, Diagnostics) {
    let mut d = Diagnostics::new(source.clone());
    let base_dir = source.path.parent().map(PathBuf::from).unwrap_or_default();
    let mut config = Config {
        server: default_server(&base_dir),
        access: Default::default(),
        retention: Retention::default(),
        checks: Vec::new(),
    };
    let Some(root) = parse_document(&source, env, &mut d) else {
        return (config, d);
    };
    let mut top = TableReader::new(root, "the top level");
    let server_listen_span = top.node("server").and_then(|n| match &n.value {
        NodeValue::Table(t) => t.get("listen").map(|l| l.span.clone()),
        _ => None,
    });
    if let Some(server) = sub_table(&mut top, &mut d, "server") {
        config.server = read_server(server, &base_dir, &mut d);
    }
    if let Some(mut table) = sub_table(&mut top, &mut d, "retention") {
        let defaults = Retention::default();
        config.retention.raw =
            table.duration(&mut d, "raw", MIN_RAW_RETENTION).map_or(defaults.raw, Spanned::into_inner);
        config.retention.rollups =
            table.duration(&mut d, "rollups", MIN_ROLLUP_RETENTION).map_or(defaults.rollups, Spanned::into_inner);
        table.finish(&mut d);
    }
    let defaults = match sub_table(&mut top, &mut d, "defaults") {
        Some(table) => read_defaults(table, &mut d),
        None => Defaults::default(),
    };
    for table in array_of_tables(&mut top, &mut d, "check") {
        if let Some(check) = read_check(table, &defaults, &mut d) {
            config.checks.push(check);
        }
    }
    for table in array_of_tables(&mut top, &mut d, "user") {
        let start = table.span.start;
        if let Some(user) = crate::access::read_user(table, &mut d) {
            if config.access.users.iter().any(|u| u.name == user.name) {
                d.error(
                    start..start + 1,
                    format!("two users are named `{}`", user.name),
                    Some("each [[user]] needs its own `name`".into()),
                );
            }
            config.access.users.push(user);
        }
    }
    for table in array_of_tables(&mut top, &mut d, "token") {
        if let Some(token) = crate::access::read_token(table, &mut d) {
            config.access.tokens.push(token);
        }
    }
    config.access.metrics_need_token = config.server.metrics_need_token;
    if !config.server.listen.ip().is_loopback() && config.access.is_open() {
        let span = server_listen_span.clone().unwrap_or(0..1);
        d.error(
            span,
            format!(
                "listening on {} with no [[user]] or [[token]] would open the dashboard and API to the network",
                config.server.listen
            ),
            Some("add a [[user]] (see `upkeep user hash-password`), or listen on 127.0.0.1".into()),
        );
    }
    for section in LATER_SECTIONS {
        if let Some(key) = top.node(section).map(|n| n.span.clone()) {
            d.error(
                key,
                format!("`{section}` sections are not supported by this version of upkeep yet"),
                Some("remove it for now; see the README for what this version reads".into()),
            );
        }
    }
    top.finish(&mut d);
    check_names(&config.checks, &mut d);
    (config, d)
}

fn default_server(base_dir: &std::path::Path) -> Server {
    Server {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        data_dir: base_dir.join("upkeep-data"),
        store: None,
        concurrency: 256,
        metrics_need_token: false,
        sensitive_params: Vec::new(),
        max_connections: 4096,
        idle_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(30),
    }
}

fn sub_table(top: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Option<TableReader> {
    let node = top.node(key)?.clone();
    match node.value {
        NodeValue::Table(table) => Some(TableReader::new(table, format!("[{key}]"))),
        _ => {
            d.error(node.span, format!("`{key}` must be a table: write `[{key}]`"), None);
            None
        }
    }
}

fn array_of_tables(top: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Vec<Table> {
    let Some(node) = top.node(key).cloned() else {
        return Vec::new();
    };
    match node.value {
        NodeValue::Array(items) => items
            .into_iter()
            .filter_map(|item| match item.value {
                NodeValue::Table(table) => Some(table),
                _ => {
                    d.error(item.span, format!("each `{key}` must be a table: write `[[{key}]]`"), None);
                    None
                }
            })
            .collect(),
        _ => {
            d.error(node.span, format!("`{key}` must be written as `[[{key}]]`, one per {key}"), None);
            Vec::new()
        }
    }
}

fn read_server(mut t: TableReader, base_dir: &std::path::Path, d: &mut Diagnostics) -> Server {
    let mut server = default_server(base_dir);
    if let Some(listen) = t.string(d, "listen") {
        match SocketAddr::from_str(listen.get_ref()) {
            Ok(addr) => server.listen = addr,
            Err(_) => d.error(
                listen.span(),
                format!("`listen` is not an address and port: `{}`", listen.get_ref()),
                Some("for example: listen = \"127.0.0.1:8080\"".into()),
            ),
        }
    }
    if let Some(dir) = t.string(d, "data_dir") {
        server.data_dir = base_dir.join(dir.get_ref());
    }
    if let Some(store) = t.string(d, "store") {
        let span = store.span();
        let url = store.into_inner();
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            d.error(span, "`store` must be a postgres:// URL", Some("leave it out to use SQLite in data_dir".into()));
        }
        server.store = Some(url);
    }
    if let Some(params) = t.strings(d, "sensitive_params") {
        server.sensitive_params = params.into_iter().map(Spanned::into_inner).collect();
    }
    if let Some(n) = t.integer(d, "max_connections", 1..1_000_001) {
        server.max_connections = n as usize;
    }
    if let Some(idle) = t.duration(d, "idle_timeout", Duration::from_secs(1)) {
        server.idle_timeout = idle.into_inner();
    }
    if let Some(request) = t.duration(d, "request_timeout", Duration::from_secs(1)) {
        server.request_timeout = request.into_inner();
    }
    if let Some(n) = t.integer(d, "concurrency", 1..100_001) {
        server.concurrency = n as usize;
    }
    if let Some(metrics) = t.string(d, "metrics") {
        match metrics.get_ref().as_str() {
            "public" => server.metrics_need_token = false,
            "token" => server.metrics_need_token = true,
            other => d.error(metrics.span(), format!("`metrics` is \"public\" or \"token\", not `{other}`"), None),
        }
    }
    t.finish(d);
    server
}

/// `[defaults]`: what a check has unless it says otherwise.
struct Defaults {
    every: Duration,
    timeout: Duration,
    zone: jiff::tz::TimeZone,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults { every: DEFAULT_EVERY, timeout: DEFAULT_TIMEOUT, zone: jiff::tz::TimeZone::system() }
    }
}

fn read_defaults(mut t: TableReader, d: &mut Diagnostics) -> Defaults {
    let every = t.duration(d, "every", MIN_EVERY).map_or(DEFAULT_EVERY, Spanned::into_inner);
    let timeout = t.duration(d, "timeout", MIN_TIMEOUT).map_or(DEFAULT_TIMEOUT.min(every), Spanned::into_inner);
    let zone = t.zone(d, "zone").unwrap_or_else(jiff::tz::TimeZone::system);
    t.finish(d);
    Defaults { every, timeout, zone }
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
