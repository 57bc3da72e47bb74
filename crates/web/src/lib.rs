//! Upkeep over HTTP. One router; handlers are small functions that read the daemon's live
//! state or the store and render JSON, Prometheus text or HTML.
//!
//! | route | who |
//! | --- | --- |
//! | `/up`, `/health`, `/metrics`, `/ping/{id}` | anyone |
//! | `/ack/{token}`, `/oncall/{schedule}.ics?token=` | whoever holds the signed token |
//! | `/api/v1/...` | API clients |
//! | `/`, `/checks/{name}` | people: the dashboard |

mod ack;
mod api;
mod auth;
mod backups;
mod dashboard;
mod headers;
mod health;
mod html;
mod incidents;
mod login;
mod maintenance;
mod notifications;
mod openapi;
mod ping;
mod rate_limit;
mod render_cache;
mod server;
mod silences;
mod svg;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;
use upkeep_daemon::Daemon;

pub use server::{Limits, raise_fd_limit, serve};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub daemon: Arc<Daemon>,
    limiter: Arc<rate_limit::RateLimiter>,
    verifier: Arc<upkeep_access::Verifier>,
    rendered: Arc<render_cache::RenderCache>,
}

pub fn router(daemon: Arc<Daemon>) -> Router {
    use axum::middleware::from_fn_with_state;
    let state = AppState { daemon, limiter: Arc::default(), verifier: Arc::default(), rendered: Arc::default() };
    let api = Router::new()
        .route("/api/v1/checks", get(api::checks))
        .route("/api/v1/checks/{name}", get(api::check))
        .route("/api/v1/checks/{name}/results", get(api::results))
        .route("/api/v1/slos", get(api::slos))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/events", get(api::alert_events))
        .route("/api/v1/silences", get(silences::list).post(silences::add))
        .route("/api/v1/silences/{id}", axum::routing::delete(silences::expire))
        .route("/api/v1/notifications", get(notifications::list))
        .route("/api/v1/channels", get(notifications::channels))
        .route("/api/v1/channels/{name}/test", axum::routing::post(notifications::test))
        .route("/api/v1/tasks", get(maintenance::tasks))
        .route("/api/v1/tasks/{name}/runs", get(maintenance::runs))
        .route("/api/v1/tasks/{name}/run", axum::routing::post(maintenance::run))
        .route("/api/v1/maintenance", get(maintenance::status).post(maintenance::switch))
        .route("/api/v1/audit", get(maintenance::audit))
        .route("/api/v1/backups", get(backups::list))
        .route("/api/v1/backups/{name}/runs", get(backups::runs))
        .route("/api/v1/backups/{name}/run", axum::routing::post(backups::run))
        .route("/api/v1/backups/{name}/drill", axum::routing::post(backups::drill))
        .route("/api/v1/incidents", get(incidents::list).post(incidents::open))
        .route("/api/v1/incidents/measures", get(incidents::measures))
        .route("/api/v1/incidents/{id}", get(incidents::show))
        .route("/api/v1/incidents/{id}/ack", axum::routing::post(incidents::ack))
        .route("/api/v1/incidents/{id}/notes", axum::routing::post(incidents::note))
        .route("/api/v1/incidents/{id}/status", axum::routing::post(incidents::status))
        .route("/api/v1/incidents/{id}/resolve", axum::routing::post(incidents::resolve))
        .route("/api/v1/incidents/{id}/commander", axum::routing::post(incidents::commander))
        .route("/api/v1/incidents/{id}/postmortem", get(incidents::postmortem).post(incidents::attach_postmortem))
        .route("/api/v1/oncall", get(incidents::oncall))
        .route("/api/v1/oncall/overrides", axum::routing::post(incidents::add_override))
        .route("/api/v1/oncall/overrides/{id}", axum::routing::delete(incidents::remove_override))
        .route_layer(from_fn_with_state(state.clone(), auth::api))
        .route_layer(from_fn_with_state(state.daemon.plan().server.request_timeout, server::bounded));
    let dashboard = Router::new()
        .route("/", get(dashboard::overview))
        .route("/checks/{name}", get(dashboard::check_page))
        .route("/alerts", get(dashboard::alerts::page))
        .route("/slos", get(dashboard::slos::page))
        .route("/tasks", get(dashboard::tasks::page))
        .route("/backups", get(dashboard::backups::page))
        .route("/incidents", get(dashboard::incidents::list))
        .route("/incidents/{id}", get(dashboard::incidents::page))
        .route("/incidents/{id}/act", axum::routing::post(dashboard::incidents::act))
        .route("/alerts/silences", axum::routing::post(dashboard::alerts::add_silence))
        .route("/alerts/silences/{id}/expire", axum::routing::post(dashboard::alerts::expire_silence))
        .route("/alerts/channels/{name}/test", axum::routing::post(dashboard::alerts::test_channel))
        .route_layer(from_fn_with_state(state.clone(), auth::dashboard))
        .route_layer(from_fn_with_state(state.daemon.plan().server.request_timeout, server::bounded));
    let metrics =
        Router::new().route("/metrics", get(metrics)).route_layer(from_fn_with_state(state.clone(), auth::metrics));
    // The routes that read a body: theirs must arrive within the request timeout.
    let request_timeout = state.daemon.plan().server.request_timeout;
    let with_bodies = Router::new()
        .route("/ping/{id}", get(ping::ok).post(ping::ok))
        .route("/ping/{id}/fail", get(ping::fail).post(ping::fail))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", axum::routing::post(login::sign_out))
        .route("/ack/{token}", get(ack::confirm).post(ack::acknowledge))
        .route("/oncall/{file}", get(ack::feed))
        .route_layer(from_fn_with_state(request_timeout, server::bounded));
    Router::new()
        .route("/up", get(|| async { "ok" }))
        .route("/health", get(health::health))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/assets/upkeep.css", get(dashboard::stylesheet))
        .merge(with_bodies)
        .merge(api)
        .merge(dashboard)
        .merge(metrics)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// OpenMetrics when the client asks for it (Prometheus does), the classic text format otherwise.
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    // SLO figures are computed from the store at scrape time; if it cannot be read, the rest
    // of the metrics still go out.
    if let Err(e) = state.daemon.refresh_slo_metrics().await {
        tracing::warn!("cannot compute the SLO metrics: {e}");
    }
    if let Err(e) = state.daemon.refresh_backup_metrics().await {
        tracing::warn!("cannot compute the backup metrics: {e}");
    }
    if let Err(e) = state.daemon.refresh_incident_metrics().await {
        tracing::warn!("cannot count the open incidents: {e}");
    }
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            state.daemon.metrics().encode(),
        )
    } else {
        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.daemon.metrics().encode_classic())
    }
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found\n")
}
