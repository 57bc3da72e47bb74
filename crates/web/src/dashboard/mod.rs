//! The dashboard: every check with its status, a latency sparkline for the last hour, uptime
//! bars for 24 hours and 90 days, and the last error; a page per check with its history; the
//! alerts (`alerts.rs`), the SLOs with their burn-down (`slos.rs`), the backups with their
//! drills, RPO and RTO (`backups.rs`) and maintenance: tasks, the app's mode and windows
//! (`tasks.rs`). Rendered on the server
//! (HTML + SVG), refreshes itself, needs no script.

pub mod alerts;
pub mod backups;
pub mod incidents;
pub mod slos;
pub mod tasks;

use crate::AppState;
use crate::auth::Principal;
use crate::html::{ago, escape, page};
use crate::login::nav;
use crate::svg::{Slot, sparkline, uptime_bars};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use upkeep_daemon::{CheckState, Daemon};
use upkeep_store::Summary;
use upkeep_store::rollup::{DAY, HOUR, MINUTE};

type Bars = HashMap<String, Vec<(jiff::Timestamp, Summary)>>;

/// `count` slots of `span` seconds ending with the one holding `now`, filled from `bars`.
fn slots(
    bars: Option<&Vec<(jiff::Timestamp, Summary)>>,
    now: jiff::Timestamp,
    span: i64,
    count: i64,
) -> Vec<(jiff::Timestamp, Option<Summary>)> {
    let by_start: HashMap<i64, &Summary> =
        bars.map(|b| b.iter().map(|(t, s)| (t.as_second(), s)).collect()).unwrap_or_default();
    let last = now.as_second().div_euclid(span) * span;
    (0..count)
        .map(|i| {
            let start = last - (count - 1 - i) * span;
            let at = jiff::Timestamp::from_second(start).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            (at, by_start.get(&start).map(|s| (*s).clone()))
        })
        .collect()
}

fn uptime(slots: &[(jiff::Timestamp, Option<Summary>)], label: &str) -> (String, String) {
    let mut total = Summary::default();
    let shown: Vec<Slot> = slots
        .iter()
        .map(|(at, s)| {
            if let Some(s) = s {
                total.merge(s);
            }
            Slot { label: at.strftime(label).to_string(), availability: s.as_ref().and_then(Summary::availability) }
        })
        .collect();
    let percent = total.availability().map_or("–".to_string(), |a| format!("{:.2}%", a * 100.0));
    (uptime_bars(&shown, 180, 18), percent)
}

fn latency_line(slots: &[(jiff::Timestamp, Option<Summary>)]) -> String {
    let points: Vec<Option<f64>> = slots
        .iter()
        .map(|(_, s)| s.as_ref().and_then(|s| s.mean_latency()).map(|d| d.as_secs_f64() * 1000.0))
        .collect();
    sparkline(&points, 120, 24, "ms")
}

async fn load_bars(daemon: &Daemon, only: Option<&str>) -> Result<(Bars, Bars, Bars), upkeep_store::StoreError> {
    let now = daemon.clock().now();
    let back = |secs: i64| now - jiff::SignedDuration::from_secs(secs);
    let store = daemon.store();
    Ok((
        store.bars(MINUTE, back(3600), now, only).await?,
        store.bars(HOUR, back(24 * 3600), now, only).await?,
        store.bars(DAY, back(90 * 86400), now, only).await?,
    ))
}

fn status_badge(state: CheckState) -> &'static str {
    match state {
        CheckState::Ok => "<span class=\"badge ok\">ok</span>",
        CheckState::Failing => "<span class=\"badge error\">failing</span>",
        CheckState::Pending => "<span class=\"badge pending\">pending</span>",
    }
}

pub async fn overview(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> Response {
    let daemon = &state.daemon;
    let (minutes, hours, days) = match load_bars(daemon, None).await {
        Ok(bars) => bars,
        Err(e) => return unavailable(e),
    };
    let now = daemon.clock().now();
    let plan = daemon.plan();
    // Tasks have their own page.
    let checks: Vec<_> = plan.checks.iter().filter(|c| c.is_probe()).collect();
    let failing = upkeep_daemon::health(&plan.checks, daemon.live()).failing();
    let mut rows = String::new();
    for check in checks.iter() {
        let live = daemon.live().get(&check.name);
        let (bars24, pct24) = uptime(&slots(hours.get(&check.name), now, HOUR, 24), "%Y-%m-%d %H:00");
        let (bars90, pct90) = uptime(&slots(days.get(&check.name), now, DAY, 90), "%Y-%m-%d");
        let spark = latency_line(&slots(minutes.get(&check.name), now, MINUTE, 60));
        let since = live.as_ref().map(|l| format!("<small>for {}</small>", ago(l.since, now))).unwrap_or_default();
        let latency =
            live.as_ref().map(|l| upkeep_expr::Value::duration(l.result.latency).to_string()).unwrap_or_default();
        let message = live.as_ref().and_then(|l| l.result.message.clone()).unwrap_or_default();
        rows.push_str(&format!(
            "<tr class=\"{}\" data-check=\"{name}\"><td><a href=\"/checks/{name}\">{name}</a><br><small>{kind} · {target}</small></td>\
             <td>{badge} {since}</td><td>{spark}<br><small>{latency}</small></td><td>{bars24}<br><small>{pct24}</small></td>\
             <td>{bars90}<br><small>{pct90}</small></td><td class=\"message\">{message}</td></tr>",
            if CheckState::of(live.as_ref()) == CheckState::Failing { "failing" } else { "" },
            name = escape(&check.name),
            kind = check.kind,
            target = escape(&crate::auth::target_for(check, &principal)),
            badge = status_badge(CheckState::of(live.as_ref())),
            message = escape(&message),
        ));
    }
    let summary = format!("{} checks · {} ok · {} failing", checks.len(), checks.len() - failing, failing);
    // Failing channels first: a monitor whose alerts cannot get out is itself down.
    let channels = upkeep_daemon::notify::channel_states(daemon.store(), &plan.notifications).await.unwrap_or_default();
    let (banner, _) = alerts::channels_panel(&channels, &principal);
    let body = format!(
        "{banner}<h1>Checks</h1><p class=\"summary{}\">{summary}</p>\
         <table><thead><tr><th>Check</th><th>Status</th><th>Latency, last hour</th><th>24 hours</th><th>90 days</th><th>Last error</th></tr></thead>\
         <tbody>{rows}</tbody></table>",
        if failing > 0 { " failing" } else { "" }
    );
    Html(page("Checks", 15, &nav(&principal), &body)).into_response()
}

pub async fn check_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Response {
    let daemon = &state.daemon;
    let plan = daemon.plan();
    let checks = &plan.checks;
    let Some(check) = checks.iter().find(|c| c.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                "Not found",
                0,
                &nav(&principal),
                &format!("<h1>No check named {}</h1><p><a href=\"/\">All checks</a></p>", escape(&name)),
            )),
        )
            .into_response();
    };
    let (minutes, hours, days) = match load_bars(daemon, Some(&name)).await {
        Ok(bars) => bars,
        Err(e) => return unavailable(e),
    };
    let now = daemon.clock().now();
    let live = daemon.live().get(&name);
    let (bars24, pct24) = uptime(&slots(hours.get(&name), now, HOUR, 24), "%Y-%m-%d %H:00");
    let (bars90, pct90) = uptime(&slots(days.get(&name), now, DAY, 90), "%Y-%m-%d");
    let hour_slots = slots(hours.get(&name), now, HOUR, 24);
    let p95: Vec<Option<f64>> = hour_slots
        .iter()
        .map(|(_, s)| s.as_ref().and_then(|s| s.quantile(0.95)).map(|d| d.as_secs_f64() * 1000.0))
        .collect();
    let minute_line = latency_line(&slots(minutes.get(&name), now, MINUTE, 60));
    let week_ago = now - jiff::SignedDuration::from_hours(24 * 7);
    let recent = daemon
        .store()
        .results(&name, now - jiff::SignedDuration::from_hours(24), now + jiff::SignedDuration::from_secs(1), 50)
        .await
        .unwrap_or_default();
    let changes =
        daemon.store().transitions(&name, week_ago, now + jiff::SignedDuration::from_secs(1)).await.unwrap_or_default();
    let mut history = String::new();
    for r in &recent {
        history.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"message\">{}</td></tr>",
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            status_badge(if r.is_ok() { CheckState::Ok } else { CheckState::Failing }),
            upkeep_expr::Value::duration(r.latency),
            escape(r.message.as_deref().unwrap_or(""))
        ));
    }
    let mut timeline = String::new();
    for (at, ok, message) in changes.iter().rev() {
        timeline.push_str(&format!(
            "<li>{} {} {}</li>",
            at.strftime("%Y-%m-%d %H:%M:%S"),
            if *ok { "up" } else { "down" },
            escape(message.as_deref().unwrap_or(""))
        ));
    }
    let expect: Vec<String> = check.expect.iter().map(|p| format!("<code>{}</code>", escape(p.source()))).collect();
    let body = format!(
        "<p><a href=\"/\">← All checks</a></p><h1>{name} {badge}</h1>\
         <p>{kind} · {target} · expects {expect}</p><p class=\"message\">{message}</p>\
         <section><h2>Latency</h2><p>Mean per minute, last hour</p>{minute_line}<p>p95 per hour, last 24 hours</p>{p95_line}</section>\
         <section><h2>Uptime</h2><p>24 hours: {pct24}</p>{bars24}<p>90 days: {pct90}</p>{bars90}</section>\
         <section><h2>Status changes, last 7 days</h2><ul class=\"timeline\">{timeline}</ul></section>\
         <section><h2>Recent runs</h2><table><thead><tr><th>Time</th><th>Status</th><th>Latency</th><th>Message</th></tr></thead><tbody>{history}</tbody></table></section>",
        name = escape(&name),
        badge = status_badge(CheckState::of(live.as_ref())),
        kind = check.kind,
        target = escape(&crate::auth::target_for(check, &principal)),
        expect = if expect.is_empty() { "success".to_string() } else { expect.join(", ") },
        message = escape(live.as_ref().and_then(|l| l.result.message.as_deref()).unwrap_or("")),
        p95_line = sparkline(&p95, 480, 60, "ms"),
    );
    Html(page(&name, 15, &nav(&principal), &body)).into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!("dashboard cannot read the store: {e}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(page(
            "Unavailable",
            5,
            "",
            "<h1>The store cannot be read right now</h1><p>This page retries by itself.</p>",
        )),
    )
        .into_response()
}

/// A dashboard page that refreshes itself every 15 seconds.
/// The form token of a signed-in responder or admin, for forms that change something.
fn responder_token(principal: &Principal) -> Option<&str> {
    match principal {
        Principal::User { role, csrf, .. } if *role >= upkeep_access::Role::Responder => Some(csrf),
        _ => None,
    }
}

/// The signed-in responder who sent a form with `csrf`, or why the form is refused.
fn signed_responder<'a>(principal: &'a Principal, csrf: &str, refusal: &'static str) -> Result<&'a str, &'static str> {
    match (principal, responder_token(principal)) {
        (Principal::User { name, .. }, Some(token)) if upkeep_access::same(token, csrf) => Ok(name),
        (_, Some(_)) => Err("the form has expired; try again"),
        _ => Err(refusal),
    }
}

fn nav_page(title: &str, principal: &Principal, body: &str) -> Response {
    Html(page(title, 15, &nav(principal), body)).into_response()
}

pub async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLESHEET)
}

const STYLESHEET: &str = r#"
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f6f8fa; }
body { margin: 0; }
header { background: #24292f; padding: .6rem 1.2rem; }
header .brand { color: #fff; font-weight: 600; text-decoration: none; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .4rem 0; }
h2 { font-size: 1.1rem; margin-top: 1.4rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
.banner.failing { background: #ffebe9; border: 2px solid #cf222e; color: #82071e; padding: .6rem 1rem; margin: .6rem 0; border-radius: 6px; }
.banner.failing ul { margin: .3rem 0; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { font-size: .8rem; color: #57606a; font-weight: 600; }
tr.failing { background: #fff5f5; }
small { color: #57606a; }
a { color: #0969da; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: 1rem; font-size: .8rem; font-weight: 600; color: #fff; }
.badge.ok { background: #2da44e; }
.badge.error { background: #cf222e; }
.badge.pending { background: #8c959f; }
.summary { color: #57606a; }
.summary.failing { color: #cf222e; font-weight: 600; }
.message { color: #cf222e; max-width: 28rem; overflow-wrap: anywhere; }
.timeline { padding-left: 1.2rem; }
section { background: #fff; padding: .6rem 1rem; margin: .8rem 0; border: 1px solid #d0d7de; border-radius: 6px; }
code { background: #eff1f3; padding: 0 .25rem; border-radius: 3px; }
header { display: flex; justify-content: space-between; align-items: center; }
header nav.links { display: flex; gap: 1rem; align-items: center; }
header nav.links a { color: #d0d7de; text-decoration: none; }
header nav.links a.brand { color: #fff; }
.signout { display: flex; gap: .6rem; align-items: center; color: #fff; margin: 0; }
.signout button { background: none; border: 1px solid #8c959f; color: #fff; border-radius: 4px; padding: .1rem .5rem; cursor: pointer; }
form.login { display: grid; gap: .8rem; max-width: 20rem; background: #fff; padding: 1rem; border: 1px solid #d0d7de; border-radius: 6px; }
form.login label { display: grid; gap: .25rem; font-size: .9rem; }
form.login input { padding: .4rem; border: 1px solid #d0d7de; border-radius: 4px; }
form.login button { padding: .45rem; background: #2da44e; color: #fff; border: 0; border-radius: 4px; font-weight: 600; }
form.silence { display: flex; gap: .6rem; align-items: end; flex-wrap: wrap; margin-top: .8rem; }
form.silence label { display: grid; gap: .2rem; font-size: .85rem; color: #57606a; }
form.silence input { padding: .3rem; border: 1px solid #d0d7de; border-radius: 4px; }
form.silence button, td form button { padding: .3rem .7rem; border: 1px solid #d0d7de; border-radius: 4px; background: #f6f8fa; cursor: pointer; }
"#;
