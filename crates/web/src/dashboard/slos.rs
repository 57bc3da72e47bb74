//! The SLO page: each SLO's objective, SLI and error budget (left, as a share and as time), its
//! burn rates, and a burn-down chart of the budget across the window.

use super::{nav_page, unavailable};
use crate::AppState;
use crate::auth::Principal;
use crate::html::escape;
use crate::svg::burn_down;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use std::time::Duration;
use upkeep_expr::Value;
use upkeep_slo::Report;
use upkeep_store::rollup::{DAY, HOUR};

/// The budget left at each period's end, counting failures from the window's start against
/// the whole window's budget, so the line starts at 100% and ends where the report says.
async fn burn_points(
    state: &AppState,
    report: &Report,
    now: jiff::Timestamp,
) -> Result<Vec<(f64, f64)>, upkeep_store::StoreError> {
    let Some(budget) = report.budget else { return Ok(Vec::new()) };
    let (from, length) = report.slo.window.span(now);
    let span = if length >= Duration::from_secs(7 * 86_400) { DAY } else { HOUR };
    let bars = state.daemon.store().bars(span, from, now, Some(&report.slo.check)).await?;
    let allowed = report.slo.objective.budget() * report.events.valid as f64;
    let mut bad = 0u64;
    let mut points = vec![(0.0, 1.0)];
    let x = |secs: i64| (secs as f64 / length.as_secs_f64()).clamp(0.0, 1.0);
    let left = |bad: u64| if allowed > 0.0 { 1.0 - bad as f64 / allowed } else { budget.remaining };
    for (at, summary) in bars.get(&report.slo.check).into_iter().flatten() {
        // Flat until the period starts: periods without runs spend nothing.
        let start = at.as_second() - from.as_second();
        points.push((x(start), left(bad)));
        let events = upkeep_store::slo_events(&report.slo, summary);
        bad += events.valid - events.good;
        points.push((x(start + span), left(bad)));
    }
    Ok(points)
}

fn percent(ratio: f64) -> String {
    Value::Percent(ratio * 100.0).to_string()
}

fn time(d: Duration) -> String {
    Value::duration(Duration::from_secs(d.as_secs())).to_string()
}

pub async fn page(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> Response {
    let now = state.daemon.clock().now();
    let reports = match state.daemon.slo_reports().await {
        Ok(reports) => reports,
        Err(e) => return unavailable(e),
    };
    let mut sections = String::new();
    for report in &reports {
        let points = match burn_points(&state, report, now).await {
            Ok(points) => points,
            Err(e) => return unavailable(e),
        };
        let slo = &report.slo;
        let facts = match report.budget {
            Some(b) => format!(
                "SLI {} · budget left {} ({} of {}) · consumed {}{}",
                percent(b.sli),
                percent(b.remaining),
                time(b.remaining_time()),
                time(b.budget_time()),
                percent(b.consumed),
                report
                    .exhausted_in()
                    .map(|d| format!(" · gone in {} at the last hour's rate", time(d)))
                    .unwrap_or_default()
            ),
            None => "no runs in the window yet".to_string(),
        };
        let burn: String = report
            .burn
            .values()
            .map(|b| format!("<td>{}</td>", b.map_or("–".into(), |b| format!("{b:.2}×"))))
            .collect();
        let windows: String = report.burn.keys().map(|w| format!("<th>{}</th>", Value::duration(*w))).collect();
        let overspent = report.budget.is_some_and(|b| b.remaining < 0.0);
        sections.push_str(&format!(
            "<section data-slo=\"{name}\"><h2>{name} <small>{check} · {objective} over {window}</small></h2>\
             <p class=\"{class}\">{facts}</p>{chart}<p><small>Error budget left across the window; dashed: spending it evenly.</small></p>\
             <table><thead><tr><th>Burn rate</th>{windows}</tr></thead><tbody><tr><td></td>{burn}</tr></tbody></table></section>",
            name = escape(&slo.name),
            check = escape(&slo.check),
            objective = escape(&slo.promise()),
            window = escape(&slo.window.describe()),
            class = if overspent { "summary failing" } else { "summary" },
            chart = burn_down(&points, 600, 120),
        ));
    }
    if reports.is_empty() {
        sections = "<p class=\"summary\">No <code>[[slo]]</code> is configured.</p>".into();
    }
    nav_page("SLOs", &principal, &format!("<h1>SLOs</h1>{sections}"))
}
