//! The sample app `upkeep demo` watches: a tiny web shop with a `/health` endpoint, a SQLite
//! database in WAL mode under steady writes, a Laravel-style log, a scheduled job that pings a
//! heartbeat, a switch that breaks it (`/break`, `/fix`) so a newcomer sees Upkeep notice, and
//! a webhook receiver (`/webhook`, `?to=PERSON` for pages) that prints the notifications Upkeep sends it.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[derive(Clone)]
struct App {
    db: SqlitePool,
    broken: Arc<AtomicBool>,
    log: PathBuf,
}

/// Where the app lives, for the config that watches it.
pub struct Running {
    pub addr: SocketAddr,
    pub database: PathBuf,
    pub log: PathBuf,
    pub storage: PathBuf,
}

pub async fn start(dir: &Path, upkeep_url: impl Fn() -> Option<String> + Send + 'static) -> anyhow::Result<Running> {
    let storage = dir.join("storage");
    tokio::fs::create_dir_all(storage.join("logs")).await?;
    let database = dir.join("database.sqlite");
    let options =
        SqliteConnectOptions::new().filename(&database).create_if_missing(true).journal_mode(SqliteJournalMode::Wal);
    let db = SqlitePool::connect_with(options).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, placed_at TEXT NOT NULL, total_cents INTEGER NOT NULL)").execute(&db).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS failed_jobs (id INTEGER PRIMARY KEY, failed_at TEXT NOT NULL)")
        .execute(&db)
        .await?;
    let log = storage.join("logs").join("laravel.log");
    let app = App { db, broken: Arc::new(AtomicBool::new(false)), log: log.clone() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = Router::new()
        .route("/", get(home))
        .route("/health", get(health))
        .route("/break", get(break_it).post(break_it))
        .route("/fix", get(fix_it).post(fix_it))
        .route("/webhook", axum::routing::post(webhook))
        .with_state(app.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    tokio::spawn(shop(app.clone()));
    tokio::spawn(scheduler(app, upkeep_url));
    Ok(Running { addr, database, log, storage })
}

async fn home(State(app): State<App>) -> Html<String> {
    let state = if app.broken.load(Ordering::SeqCst) { "broken" } else { "working" };
    Html(format!(
        "<h1>Demo shop</h1><p>The shop is {state}. <a href=\"/break\">Break it</a> · <a href=\"/fix\">Fix it</a></p>"
    ))
}

async fn health(State(app): State<App>) -> impl IntoResponse {
    let database = sqlx::query("SELECT 1").execute(&app.db).await.is_ok();
    let healthy = database && !app.broken.load(Ordering::SeqCst);
    let body = serde_json::json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "checks": {"database": {"status": if database { "ok" } else { "error" }}, "payments": {"status": if healthy { "ok" } else { "error" }}},
    });
    (if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body))
}

/// Prints each notification as it arrives: what fires or resolved, and the dashboard link.
async fn webhook(
    axum::extract::Query(to): axum::extract::Query<std::collections::HashMap<String, String>>,
    body: axum::body::Bytes,
) -> StatusCode {
    let Ok(message) = serde_json::from_slice::<serde_json::Value>(&body) else { return StatusCode::BAD_REQUEST };
    if let Some(incident) = message.get("incident") {
        println!(
            "  [pager → {}] {}\n            acknowledge: {}",
            to.get("to").map_or("?", String::as_str),
            incident["text"].as_str().unwrap_or(""),
            incident["ack_url"].as_str().unwrap_or("(already acknowledged)")
        );
        return StatusCode::OK;
    }
    let names: Vec<String> = message["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| format!("{} {}", a["status"].as_str().unwrap_or(""), a["key"].as_str().unwrap_or("")))
        .collect();
    println!(
        "  [webhook] notification {}: {} alert(s): {}\n            {}",
        message["status"].as_str().unwrap_or("?"),
        names.len(),
        names.join(", "),
        message["link"].as_str().unwrap_or("")
    );
    StatusCode::OK
}

async fn break_it(State(app): State<App>) -> Html<&'static str> {
    app.broken.store(true, Ordering::SeqCst);
    Html("<p>The shop is now broken: payments fail and errors reach the log. <a href=\"/fix\">Fix it</a></p>")
}

async fn fix_it(State(app): State<App>) -> Html<&'static str> {
    app.broken.store(false, Ordering::SeqCst);
    Html("<p>The shop works again. <a href=\"/break\">Break it</a></p>")
}

/// Customers place orders every few hundred milliseconds; when broken, payments fail loudly.
async fn shop(app: App) {
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let now = jiff::Timestamp::now();
        let broken = app.broken.load(Ordering::SeqCst);
        let line = if broken {
            let _ = sqlx::query("INSERT INTO failed_jobs (failed_at) VALUES (datetime('now'))").execute(&app.db).await;
            format!(
                "[{}] production.ERROR: Payment gateway timed out for order {n} {{\"exception\":\"GuzzleHttp\\\\Exception\\\\ConnectException\"}}\n",
                now.strftime("%Y-%m-%d %H:%M:%S")
            )
        } else {
            let _ = sqlx::query("INSERT INTO orders (placed_at, total_cents) VALUES (datetime('now'), ?)")
                .bind((n % 97 * 125) as i64)
                .execute(&app.db)
                .await;
            format!("[{}] production.INFO: Order {n} placed\n", now.strftime("%Y-%m-%d %H:%M:%S"))
        };
        if let Ok(mut file) = tokio::fs::OpenOptions::new().create(true).append(true).open(&app.log).await {
            let _ = file.write_all(line.as_bytes()).await;
        }
    }
}

/// The app's scheduled job: every 10 s it prunes old orders and pings its heartbeat (a
/// failure ping while broken).
async fn scheduler(app: App, upkeep_url: impl Fn() -> Option<String>) {
    let client = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let _ = sqlx::query("DELETE FROM orders WHERE id < (SELECT MAX(id) - 5000 FROM orders)").execute(&app.db).await;
        let Some(base) = upkeep_url() else { continue };
        let path =
            if app.broken.load(Ordering::SeqCst) { "/ping/demo-nightly-job/fail" } else { "/ping/demo-nightly-job" };
        let _ = client.post(format!("{base}{path}")).body("pruned old orders").send().await;
    }
}
