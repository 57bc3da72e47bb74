//! The plan: the whole validated config, ready to run — the composition root above the concept
//! crates. It parses the file once, lets each concept read its own sections (`[server]`,
//! `[retention]` and `[[check]]`'s common keys in `config`, each kind's keys in `probe`, users
//! and tokens in `access`, `[[slo]]` in `slo`, `[alerts]` and `[[alert]]` in `alert`; the rest as they arrive), resolves what refers to
//! what across them (a config that would open the dashboard to the network; two heartbeats on
//! one id), and reports every problem at its file, line and column, all at once.
//!
//! A new section is one reader in its concept's crate plus one line in [`load_config`]. The
//! daemon holds a [`Plan`] as one snapshot and replaces it whole on reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use upkeep_access::Access;
use upkeep_alert::{Rules, Watched};
use upkeep_backup::{Backup, RepositoryConfig};
use upkeep_config::{Diagnostics, Env, Retention, Server, Source};
use upkeep_incident::Incidents;
use upkeep_maintain::{Mode, Task};
use upkeep_notify::Notifications;
use upkeep_probe::Check;
use upkeep_slo::Slo;

/// A validated config.
#[derive(Clone, Debug)]
pub struct Plan {
    pub server: Server,
    pub access: Access,
    pub retention: Retention,
    /// Every check: the configured probes, then one per maintenance task (kind `task`) and one
    /// per scheduled backup (kind `backup`).
    pub checks: Vec<Arc<Check>>,
    /// The maintenance tasks, whose runs are the results of their checks.
    pub tasks: Vec<Arc<Task>>,
    /// Where backups go, and every `[[backup]]`.
    pub repository: Arc<RepositoryConfig>,
    pub backups: Vec<Arc<Backup>>,
    /// The app's own maintenance mode, when configured.
    pub mode: Option<Arc<Mode>>,
    pub slos: Vec<Arc<Slo>>,
    /// Every alert rule, configured and built in.
    pub alerts: Arc<Rules>,
    /// Routes and channels: who hears of an alert.
    pub notifications: Arc<Notifications>,
    /// Severities, people, schedules and escalation: what happens once an alert is an incident.
    pub incidents: Arc<Incidents>,
    /// What is valid but probably not meant (`file:line:col: message`), printed at load.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Reads and validates the file at `path`.
pub fn load_file(path: &Path, env: &Env) -> Result<Plan, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    load_config(Source::new(path, text), env).map_err(LoadError::Invalid)
}

/// Validates a config held in memory.
pub fn load_config(source: Source, env: &Env) -> Result<Plan, Diagnostics> {
    let (sections, mut d) = upkeep_config::parse(source, env);
    let Some(mut sections) = sections else { return Err(d) };
    let server = upkeep_config::read_server(&mut sections, &mut d);
    let retention = upkeep_config::read_retention(&mut sections, &mut d);
    let access = upkeep_access::read_access(&mut sections, &mut d, server.metrics_need_token);
    let (mut checks, zone) = read_checks(&mut sections, &server, &mut d);
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    let slos: Vec<Arc<Slo>> =
        upkeep_slo::read_slos(&mut sections, &mut d, &names, &zone).into_iter().map(Arc::new).collect();
    let tasks: Vec<Arc<Task>> =
        upkeep_maintain::read_tasks(&mut sections, &mut d, &zone).into_iter().map(Arc::new).collect();
    let mode = upkeep_maintain::read_mode(&mut sections, &mut d).map(Arc::new);
    let repository = Arc::new(upkeep_backup::read_repository(&mut sections, &mut d, &server.data_dir));
    let backups: Vec<Arc<Backup>> =
        upkeep_backup::read_backups(&mut sections, &mut d, &zone).into_iter().map(Arc::new).collect();
    let mut schemas = std::collections::HashMap::new();
    let mut watched: Vec<Watched> = checks.iter().map(|c| watched(c, &mut schemas)).collect();
    watched.extend(tasks.iter().map(|t| watched_job(&t.name, t.component.clone(), upkeep_maintain::schema())));
    watched.extend(backups.iter().flat_map(|b| backup_watched(b)));
    let alerts = Arc::new(upkeep_alert::read_alerts(&mut sections, &mut d, &watched, &slos, &zone));
    add_task_checks(&mut checks, &tasks, &alerts, &server, &mut d);
    add_backup_checks(&mut checks, &backups, &repository, &server, &mut d);
    if let Some(mode) = &mode {
        check_mode(mode, &checks, &mut d);
    }
    let notifications = Arc::new(upkeep_notify::read_notifications(&mut sections, &mut d, &zone));
    let channel_names: Vec<String> = notifications.channels.iter().map(|c| c.name.clone()).collect();
    let incidents = Arc::new(upkeep_incident::read_incidents(&mut sections, &mut d, &channel_names, &zone));
    check_windows(&alerts, &notifications, mode.is_some(), &mut d);
    let warnings = unrouted(&alerts, &notifications, &d);
    if let Some(refusal) = open_to_network(server.listen, &access) {
        let span = sections.span_of("server", "listen").unwrap_or(0..1);
        d.error(span, refusal, Some("add a [[user]] (see `upkeep user hash-password`), or listen on 127.0.0.1".into()));
    }
    sections.finish(&mut d);
    d.into_result(Plan {
        server,
        access,
        retention,
        checks,
        tasks,
        repository,
        backups,
        mode,
        slos,
        alerts,
        notifications,
        incidents,
        warnings,
    })
}

/// What the alert engine knows of a task or a backup: it alerts at its first failed run.
fn watched_job(name: &str, component: Option<String>, schema: upkeep_expr::Schema) -> Watched {
    Watched {
        name: name.to_string(),
        schema: Arc::new(schema),
        component,
        alert_after: 1,
        recover_after: 1,
        depends_on: Vec::new(),
    }
}

/// A backup's checks, as the alert engine knows them: the backup on its schedule, its drill,
/// its targets.
fn backup_watched(b: &Backup) -> Vec<Watched> {
    let mut watched = Vec::new();
    if b.cadence.is_some() {
        watched.push(watched_job(&b.name, None, upkeep_backup::schema()));
    }
    if b.drill.is_some() {
        watched.push(watched_job(&upkeep_backup::drill_name(&b.name), None, upkeep_backup::drill_schema()));
    }
    if b.max_age.is_some() || b.rto.is_some() {
        watched.push(watched_job(&upkeep_backup::targets_name(&b.name), None, upkeep_backup::targets_schema()));
    }
    watched
}

/// One check per task, after the configured ones. A task may not share a check's name (their
/// results would mix), and its `window` must name a `[[maintenance]]` window.
fn add_task_checks(
    checks: &mut Vec<Arc<Check>>,
    tasks: &[Arc<Task>],
    alerts: &Rules,
    server: &Server,
    d: &mut Diagnostics,
) {
    let locks = server.data_dir.join("locks");
    for task in tasks {
        if checks.iter().any(|c| c.name == task.name) {
            d.error(
                task.name_span.clone(),
                format!("task `{}` has the name of a check", task.name),
                Some("give the task its own name".into()),
            );
            continue;
        }
        let window = match &task.window {
            None => None,
            Some(name) => match alerts.mutes.windows.iter().find(|w| w.name == *name.get_ref()) {
                Some(window) => {
                    let window = window.clone();
                    Some(Arc::new(move |at| window.is_active(at)) as upkeep_maintain::Window)
                }
                None => {
                    let known: Vec<String> = alerts.mutes.windows.iter().map(|w| w.name.clone()).collect();
                    let hint = upkeep_expr::closest_name(name.get_ref(), known.iter().cloned())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| "name a [[maintenance]] window (by its `name`)".into());
                    d.error(
                        name.span(),
                        format!("there is no maintenance window named `{}`", name.get_ref()),
                        Some(hint),
                    );
                    continue;
                }
            },
        };
        checks.push(Arc::new(upkeep_maintain::task_check(Arc::clone(task), locks.clone(), window)));
    }
}

/// One check per scheduled backup, one per scheduled drill (`NAME-drill`) and one per backup
/// with targets (`NAME-targets`), after the tasks'; none may share a check's or a task's name.
fn add_backup_checks(
    checks: &mut Vec<Arc<Check>>,
    backups: &[Arc<Backup>],
    repository: &Arc<RepositoryConfig>,
    server: &Server,
    d: &mut Diagnostics,
) {
    let places = upkeep_backup::Places::under(&server.data_dir);
    for backup in backups {
        let own: Vec<Check> = [upkeep_backup::backup_check, upkeep_backup::drill_check, upkeep_backup::targets_check]
            .iter()
            .filter_map(|make| make(Arc::clone(backup), Arc::clone(repository), places.clone()))
            .collect();
        let taken = |name: &str| checks.iter().find(|c| c.name == name).map(|c| c.kind);
        if let Some((check, kind)) = own.iter().find_map(|c| taken(&c.name).map(|kind| (c, kind))) {
            let what = if kind == upkeep_maintain::TASK_KIND { "a task" } else { "a check" };
            let whose = if check.name == backup.name { String::new() } else { format!("'s check `{}`", check.name) };
            d.error(
                backup.name_span.clone(),
                format!("backup `{}`{whose} has the name of {what}", backup.name),
                Some("give the backup, or the other, its own name".into()),
            );
            continue;
        }
        checks.extend(own.into_iter().map(Arc::new));
    }
}

/// `[maintenance_mode]`'s `gate` names checks.
fn check_mode(mode: &Mode, checks: &[Arc<Check>], d: &mut Diagnostics) {
    let span = mode.span.clone();
    for name in &mode.gate {
        if !checks.iter().any(|c| &c.name == name) {
            d.error(
                span.clone(),
                format!("`gate` names `{name}`, which is not a check"),
                Some("gate = [\"app-health\"] names checks that must pass before `off`".into()),
            );
        }
    }
}

/// Kinds that page or open incidents: an announcement is not an alert.
const PAGING: [&str; 3] = ["pagerduty", "opsgenie", "alertmanager"];

/// A window's `announce` names channels that are not for paging, and `mode = true` needs a
/// `[maintenance_mode]` to switch.
fn check_windows(alerts: &Rules, notifications: &Notifications, has_mode: bool, d: &mut Diagnostics) {
    for window in &alerts.mutes.windows {
        for name in &window.announce {
            match notifications.channel(name.get_ref()) {
                Some(channel) if PAGING.contains(&channel.kind) => d.error(
                    name.span(),
                    format!(
                        "channel `{}` is a {} channel: a maintenance announcement would page",
                        name.get_ref(),
                        channel.kind
                    ),
                    Some("announce to an email, chat or webhook channel".into()),
                ),
                Some(_) => {}
                None => {
                    let known = notifications.channels.iter().map(|c| c.name.clone());
                    let hint = upkeep_expr::closest_name(name.get_ref(), known)
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| "`announce` names [[channel]]s (by their `name`)".into());
                    d.error(name.span(), format!("there is no channel named `{}`", name.get_ref()), Some(hint));
                }
            }
        }
        if let Some(span) = &window.mode
            && !has_mode
        {
            d.error(
                span.clone(),
                format!(
                    "maintenance window \"{}\" switches the app's maintenance mode, but none is configured",
                    window.name
                ),
                Some("add [maintenance_mode] (kind = \"command\", \"file\" or \"env\"), or remove `mode`".into()),
            );
        }
    }
}

/// A warning when some alerts can reach no channel: they would fire, and nobody would hear.
fn unrouted(rules: &Rules, notifications: &Notifications, d: &Diagnostics) -> Vec<String> {
    if rules.rules.is_empty() {
        return Vec::new();
    }
    let names = notifications.unrouted(rules.rules.iter().map(|r| (&*r.name, &r.labels)));
    if names.is_empty() {
        return Vec::new();
    }
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let more = if names.len() > 5 { format!(" and {} more", names.len() - 5) } else { String::new() };
    let why = if notifications.channels.is_empty() { "no [[channel]] is configured" } else { "no route takes them" };
    vec![format!(
        "{}: warning: alerts {}{more} reach no channel ({why}): they will show on the dashboard and notify nobody; \
         add a [[channel]] and a [[route]], or [notifications] channels = [...] for everything",
        d.source().path.display(),
        shown.join(", ")
    )]
}

/// What the alert engine knows of a check; `schemas` shares each kind's schema.
fn watched(check: &Check, schemas: &mut std::collections::HashMap<&'static str, Arc<upkeep_expr::Schema>>) -> Watched {
    let schema = schemas
        .entry(check.kind)
        .or_insert_with(|| Arc::new(upkeep_probe::kinds::schema(check.kind).unwrap_or_default()));
    Watched {
        name: check.name.clone(),
        schema: Arc::clone(schema),
        component: check.component.clone(),
        alert_after: check.alert_after,
        recover_after: check.recover_after,
        depends_on: check.depends_on.clone(),
    }
}

/// The checks, each kind reading its own keys; two heartbeats may not share an id.
fn read_checks(
    sections: &mut upkeep_config::Sections,
    server: &Server,
    d: &mut Diagnostics,
) -> (Vec<Arc<Check>>, jiff::tz::TimeZone) {
    let mut checks: Vec<Arc<Check>> = Vec::new();
    let (sections, zone) = upkeep_config::read_checks(sections, d);
    for section in sections {
        let span = section.name.span();
        let Some(check) = Check::build(section, server, d) else { continue };
        // Two heartbeats on one id would silently share every ping.
        if let Some(id) = check.heartbeat_id()
            && let Some(other) = checks.iter().find(|c| c.heartbeat_id() == Some(id))
        {
            d.error(
                span,
                format!("heartbeat id `{id}` is already used by check `{}`", other.name),
                Some("give each heartbeat its own `id` (by default it is the check's name)".into()),
            );
        }
        checks.push(Arc::new(check));
    }
    (checks, zone)
}

/// Why serving on `listen` with `access` is refused: a non-loopback address with no user or
/// token would open the dashboard and API to anyone on the network. Checked at load, at start
/// (where `--listen` may differ from the file) and on reload.
pub fn open_to_network(listen: std::net::SocketAddr, access: &Access) -> Option<String> {
    (!listen.ip().is_loopback() && access.is_open()).then(|| {
        format!("listening on {listen} with no [[user]] or [[token]] would open the dashboard and API to the network")
    })
}
