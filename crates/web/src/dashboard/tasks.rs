//! The maintenance page: each task with its schedule, next run and its last runs as a strip
//! (green ran fine, red failed; hover for what it did), the jobs that stay in the app's own
//! crontab and ping a heartbeat, the app's maintenance mode, and the maintenance windows of the
//! next 30 days with when each is announced.

use super::{nav_page, unavailable};
use crate::AppState;
use crate::auth::Principal;
use crate::html::{ago, escape};
use crate::svg::{Slot, uptime_bars};
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use upkeep_expr::Value;

/// Runs shown per task.
const RUNS: u32 = 30;

pub async fn page(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> Response {
    let (daemon, now) = (&state.daemon, state.daemon.clock().now());
    let plan = daemon.plan();
    let mut rows = String::new();
    for task in &plan.tasks {
        let runs = match daemon.store().task_runs(Some(&task.name), RUNS).await {
            Ok(runs) => runs,
            Err(e) => return unavailable(e),
        };
        let mut slots: Vec<Slot> = runs
            .iter()
            .rev()
            .map(|r| Slot {
                label: format!("{} · {}", r.run.started.strftime("%Y-%m-%d %H:%M"), r.run.summary),
                availability: Some(if r.run.ok { 1.0 } else { 0.0 }),
            })
            .collect();
        while slots.len() < RUNS as usize {
            slots.insert(0, Slot { label: "no run".into(), availability: None });
        }
        let last = runs.first();
        let badge = match last {
            None => "<span class=\"badge pending\">not run yet</span>".to_string(),
            Some(r) if r.run.ok => format!(
                "<span class=\"badge ok\">ok</span> <small>{} ago · {}</small>",
                ago(r.run.started, now),
                Value::duration(r.run.duration)
            ),
            Some(r) => {
                format!("<span class=\"badge error\">failed</span> <small>{} ago</small>", ago(r.run.started, now))
            }
        };
        let next = task.next_after(now).map_or("–".into(), |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string());
        let window = task
            .window
            .as_ref()
            .map(|w| format!("<br><small>only in window {}</small>", escape(w.get_ref())))
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr class=\"{class}\"><td>{name}<br><small>{kind} · {target}</small></td><td><code>{schedule}</code><br><small>next {next}</small>{window}</td>\
             <td>{badge}</td><td>{strip}</td><td class=\"{summary_class}\">{summary}</td></tr>",
            class = if last.is_some_and(|r| !r.run.ok) { "failing" } else { "" },
            name = escape(&task.name),
            kind = task.kind,
            target = escape(&task.target()),
            schedule = escape(&task.schedule),
            strip = uptime_bars(&slots, 180, 18),
            summary = escape(last.map_or("", |r| r.run.summary.as_str())),
            // The failure's message in red, as the checks table shows errors; a summary plain.
            summary_class = if last.is_some_and(|r| !r.run.ok) { "message" } else { "" },
        ));
    }
    let tasks = if plan.tasks.is_empty() {
        "<p>No tasks yet: add a <code>[[task]]</code> to the config.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>Task</th><th>Schedule</th><th>Last run</th><th>Last {RUNS} runs</th><th>What it did</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let body = format!(
        "<h1>Maintenance</h1>{}<h2>Tasks</h2>{tasks}{}<h2>Maintenance windows, next 30 days</h2>{}",
        mode(&plan).await,
        heartbeats(&state, &plan, &principal, now),
        windows(&plan, now)
    );
    nav_page("Maintenance", &principal, &body)
}

/// The jobs that run from the app's own crontab and ping a heartbeat check, beside the tasks.
fn heartbeats(state: &AppState, plan: &upkeep_plan::Plan, principal: &Principal, now: jiff::Timestamp) -> String {
    let rows: String = plan
        .checks
        .iter()
        .filter(|c| c.heartbeat_id().is_some())
        .map(|check| {
            let live = state.daemon.live().get(&check.name);
            let state_badge = match live.as_ref().map(|l| (l.result.is_ok(), l.since)) {
                None => "<span class=\"badge pending\">pending</span>".to_string(),
                Some((true, since)) => format!("<span class=\"badge ok\">ok</span> <small>for {}</small>", ago(since, now)),
                Some((false, since)) => format!("<span class=\"badge error\">failing</span> <small>for {}</small>", ago(since, now)),
            };
            let due = check.schedule.clone().unwrap_or_else(|| format!("every {}", Value::duration(check.every)));
            let message = live.and_then(|l| l.result.message.clone()).unwrap_or_default();
            format!(
                "<tr><td><a href=\"/checks/{name}\">{name}</a><br><small>{target}</small></td><td><code>{due}</code></td><td>{state_badge}</td><td class=\"message\">{message}</td></tr>",
                name = escape(&check.name),
                target = escape(&crate::auth::target_for(check, principal)),
                due = escape(&due),
                message = escape(&message),
            )
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2>Cron jobs that ping a heartbeat</h2><table><thead><tr><th>Job</th><th>Due</th><th>Status</th><th>Last problem</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

async fn mode(plan: &upkeep_plan::Plan) -> String {
    let Some(mode) = &plan.mode else { return String::new() };
    let state = mode.state().await;
    let (class, word) = match state.on {
        Some(true) => ("banner", "on"),
        Some(false) => ("summary", "off"),
        None => ("summary", "unknown"),
    };
    format!(
        "<p class=\"{class}\">The app's maintenance mode is <strong>{word}</strong> <small>({})</small></p>",
        escape(&state.detail)
    )
}

fn windows(plan: &upkeep_plan::Plan, now: jiff::Timestamp) -> String {
    let until = now.checked_add(jiff::SignedDuration::from_hours(24 * 30)).unwrap_or(now);
    let list = upkeep_daemon::maintenance::upcoming_windows(plan, now, until);
    if list.is_empty() {
        return "<p>None.</p>".into();
    }
    let time = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .map_or("–".into(), |t| t.strftime("%a %Y-%m-%d %H:%M UTC").to_string())
    };
    let rows: String = list
        .iter()
        .map(|w| {
            let covers: Vec<&str> = w["components"]
                .as_array()
                .into_iter()
                .chain(w["checks"].as_array())
                .flatten()
                .filter_map(|c| c.as_str())
                .collect();
            format!(
                "<tr class=\"{}\"><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if w["active"] == true { "failing" } else { "" },
                escape(w["name"].as_str().unwrap_or("")),
                escape(w["description"].as_str().unwrap_or("")),
                time(&w["starts_at"]),
                time(&w["ends_at"]),
                escape(&upkeep_daemon::maintenance::announced(w, &time(&w["notice_at"]))),
                escape(&if covers.is_empty() { "everything".to_string() } else { covers.join(", ") })
                    + if w["mode"] == true { "<br><small>app in maintenance mode</small>" } else { "" },
            )
        })
        .collect();
    format!(
        "<table><thead><tr><th>Window</th><th>Starts</th><th>Ends</th><th>Announced</th><th>Covers</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}
