//! The backups page: each backup with its schedule, its last run (size, duration, how much
//! deduplication saves) and its last runs as a strip, its last passed restore drill with the
//! drills as a strip, and its RPO (age of the newest snapshot a drill proved) and RTO (how long
//! that drill took) against its targets. Read from the history alone: the page never opens the
//! repository.

use super::{nav_page, unavailable};
use crate::AppState;
use crate::auth::Principal;
use crate::html::{ago, escape};
use crate::svg::{Slot, uptime_bars};
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use std::time::Duration;
use upkeep_backup::{Backup, Status};
use upkeep_expr::Value;

/// Runs and drills shown per backup.
const RUNS: usize = 30;
const DRILLS: usize = 12;

pub async fn page(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> Response {
    let (daemon, now) = (&state.daemon, state.daemon.clock().now());
    let plan = daemon.plan();
    let mut rows = String::new();
    let mut troubled = Vec::new();
    for backup in &plan.backups {
        let status = match upkeep_daemon::backups::status(backup, daemon.store(), now).await {
            Ok(status) => status,
            Err(e) => return unavailable(e),
        };
        let (runs, drills) = match strips(&state, backup).await {
            Ok(strips) => strips,
            Err(e) => return unavailable(e),
        };
        let failing = status.last_run.as_ref().is_some_and(|r| !r.ok)
            || status.last_drill.as_ref().is_some_and(|r| !r.ok)
            || upkeep_daemon::backups::targets_met(backup, &status) == Some(false);
        if failing {
            troubled.push(backup.name.clone());
        }
        rows.push_str(&format!(
            "<tr class=\"{class}\"><td>{name}<br><small>{kind} · {target}</small></td><td>{schedule}</td><td>{last}</td>\
             <td>{runs}</td><td>{drill}<br>{drills}</td><td>{rpo}</td><td>{rto}</td></tr>",
            class = if failing { "failing" } else { "" },
            name = escape(&backup.name),
            kind = backup.source.kind(),
            target = escape(&backup.source.target()),
            schedule = schedule(backup, now),
            last = last_run(&status, now) + &age(backup, &status),
            runs = uptime_bars(&runs, 150, 18),
            drill = last_drill(&status, now),
            drills = uptime_bars(&drills, 150, 12),
            rpo = against(status.rpo, None, "", "no drill has passed yet"),
            rto = against(status.rto, backup.rto, "rto", "no drill has passed yet"),
        ));
    }
    let body = if plan.backups.is_empty() {
        "<h1>Backups</h1><p>No backups yet: add a <code>[[backup]]</code> to the config (the README's Backups section shows how).</p>".to_string()
    } else {
        let banner = if troubled.is_empty() {
            "<p class=\"summary\">Every backup ran, drilled and met its targets.</p>".to_string()
        } else {
            format!("<p class=\"banner\">Needs attention: {}</p>", escape(&troubled.join(", ")))
        };
        format!(
            "<h1>Backups</h1>{banner}<table><thead><tr><th>Backup</th><th>Schedule</th><th>Last backup</th><th>Last {RUNS} runs</th>\
             <th>Last good drill</th><th>RPO</th><th>RTO</th></tr></thead><tbody>{rows}</tbody></table>\
             <p><small>A snapshot is <em>good</em> once a restore drill passed on it. RPO: the age of the newest good snapshot. \
             RTO: how long its drill (restore and checks) took.</small></p>"
        )
    };
    nav_page("Backups", &principal, &body)
}

/// The last runs and the last drills, oldest first, padded on the left.
async fn strips(state: &AppState, backup: &Backup) -> Result<(Vec<Slot>, Vec<Slot>), upkeep_store::StoreError> {
    let store = state.daemon.store();
    let runs = store.task_runs(Some(&backup.name), RUNS as u32).await?;
    let drills = store.task_runs(Some(&upkeep_backup::drill_name(&backup.name)), DRILLS as u32).await?;
    let strip = |runs: Vec<upkeep_store::TaskRun>, len: usize| {
        let mut slots: Vec<Slot> = runs
            .iter()
            .rev()
            .map(|r| Slot {
                label: format!("{} · {}", r.run.started.strftime("%Y-%m-%d %H:%M UTC"), r.run.summary),
                availability: Some(if r.run.ok { 1.0 } else { 0.0 }),
            })
            .collect();
        while slots.len() < len {
            slots.insert(0, Slot { label: "no run".into(), availability: None });
        }
        slots
    };
    Ok((strip(runs, RUNS), strip(drills, DRILLS)))
}

fn schedule(backup: &Backup, now: jiff::Timestamp) -> String {
    let next = |c: &Option<upkeep_schedule::Cadence>| {
        c.as_ref()
            .and_then(|c| c.next_after(now))
            .map_or("–".into(), |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
    };
    let run = match &backup.schedule {
        Some(cron) => format!("<code>{}</code><br><small>next {}</small>", escape(cron), next(&backup.cadence)),
        None => "<small>by hand only</small>".into(),
    };
    let drill = match &backup.drill_schedule {
        Some(cron) => format!(
            "<br><small>drill</small> <code>{}</code><br><small>next {}</small>",
            escape(cron),
            next(&backup.drill)
        ),
        None => "<br><small>no drill schedule</small>".into(),
    };
    run + &drill
}

fn last_run(status: &Status, now: jiff::Timestamp) -> String {
    let Some(run) = &status.last_run else { return "<span class=\"badge pending\">not run yet</span>".into() };
    if !run.ok {
        let success = status
            .last_success
            .as_ref()
            .map_or("never succeeded".into(), |s| format!("last success {} ago", ago(s.at, now)));
        return format!(
            "<span class=\"badge error\">failed</span> <small>{} ago · {success}</small><br><small class=\"message\">{}</small>",
            ago(run.at, now),
            escape(&run.summary)
        );
    }
    let size = run.size.map(upkeep_backup::bytes).unwrap_or_default();
    let dedup = status.dedup_ratio.map(|r| format!(" · {r:.1}× dedup")).unwrap_or_default();
    format!(
        "<span class=\"badge ok\">ok</span> <small>{} ago · {}</small><br><small>{size}{dedup}</small>",
        ago(run.at, now),
        Value::duration(run.duration)
    )
}

fn last_drill(status: &Status, now: jiff::Timestamp) -> String {
    let failed = status.last_drill.as_ref().filter(|d| !d.ok).map(|d| {
        format!(
            "<span class=\"badge error\">last drill failed</span> <small>{} ago</small><br><small class=\"message\">{}</small><br>",
            ago(d.at, now),
            escape(&d.summary)
        )
    });
    let passed = match &status.newest_good {
        Some(good) => format!(
            "<span class=\"badge ok\">good</span> <small>{} · taken {} ago</small>",
            escape(&good.snapshot[..8.min(good.snapshot.len())]),
            ago(good.taken, now)
        ),
        None => "<span class=\"badge pending\">no drill passed yet</span>".into(),
    };
    failed.unwrap_or_default() + &passed
}

/// The newest backup's age against `max_age`, when there is one.
fn age(backup: &Backup, status: &Status) -> String {
    match (backup.max_age, status.age) {
        (Some(max), Some(age)) if age > max => {
            format!(
                "<br><span class=\"badge error\">{} old</span> <small>over max_age {}</small>",
                shown(age),
                shown(max)
            )
        }
        (Some(max), Some(age)) => format!("<br><small>{} old · max_age {}</small>", shown(age), shown(max)),
        _ => String::new(),
    }
}

/// Whole seconds, or milliseconds under ten seconds (a small database's RTO).
fn shown(d: Duration) -> String {
    let d = if d < Duration::from_secs(10) {
        Duration::from_millis(d.as_millis() as u64)
    } else {
        Duration::from_secs(d.as_secs())
    };
    Value::duration(d).to_string()
}

/// `3h` against its target: `3h <small>≤ 26h</small>`, in red when over.
fn against(value: Option<Duration>, target: Option<Duration>, key: &str, none: &str) -> String {
    let Some(value) = value else { return format!("<small>{none}</small>") };
    match target {
        Some(target) if value > target => format!(
            "<span class=\"badge error\">{}</span><br><small>over {key} {}</small>",
            shown(value),
            shown(target)
        ),
        Some(target) => format!("{}<br><small>{key} {}</small>", shown(value), shown(target)),
        None => shown(value),
    }
}
