//! `upkeep demo`: the README's first command. Starts the bundled sample app and Upkeep watching
//! it with a config like one you would write (saved beside the data, to read and copy), and
//! prints where to look.

mod app;

use std::path::Path;
use std::sync::{Arc, OnceLock};

pub async fn run(dir: &Path, port: u16) -> anyhow::Result<()> {
    use anyhow::Context as _;
    tokio::fs::create_dir_all(dir).await.with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let upkeep_url: Arc<OnceLock<String>> = Arc::default();
    let url_for_app = Arc::clone(&upkeep_url);
    let app = app::start(&dir, move || url_for_app.get().cloned()).await.context("cannot start the sample app")?;
    let config_path = dir.join("upkeep.toml");
    let password = upkeep_access::new_token().0.chars().skip(4).take(16).collect::<String>();
    let hash =
        upkeep_access::hash_password(&password).map_err(|e| anyhow::anyhow!("cannot hash the demo password: {e}"))?;
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let listen = match tokio::net::TcpListener::bind(listen).await {
        Ok(probe) => probe.local_addr()?,
        Err(e) => {
            eprintln!("port {port} is taken ({e}); the dashboard gets a free port instead (choose one with --port)");
            std::net::SocketAddr::from(([127, 0, 0, 1], 0))
        }
    };
    tokio::fs::write(&config_path, config(&app, &hash, &config_path, listen)).await?;
    let loaded = upkeep_plan::load_file(&config_path, &upkeep_config::Env::Process)
        .map_err(|e| anyhow::anyhow!("the demo config is invalid (a bug): {e}"))?;
    // The real address is known once the server binds; the banner comes from `serve`.
    let url = Arc::clone(&upkeep_url);
    let app_addr = app.addr;
    let shown_config = config_path.clone();
    tokio::spawn(async move {
        for _ in 0..100 {
            if let Some(u) = url.get() {
                println!("\nUpkeep demo is running.\n");
                println!("  Dashboard:   {u}/");
                println!("  Health:      {u}/health    Metrics: {u}/metrics    API: {u}/api/v1/checks");
                println!("  Login:       user `demo`, password `{password}`");
                println!(
                    "  Sample app:  http://{app_addr}/   break it: http://{app_addr}/break   fix it: http://{app_addr}/fix"
                );
                println!("  Webhook:     http://{app_addr}/webhook  (notifications it receives are printed here)");
                println!("  Config:      {}", shown_config.display());
                println!("\nPress Ctrl-C to stop.");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    tokio::spawn(first_backup(loaded.clone(), Arc::clone(&upkeep_url)));
    crate::serve::serve_with_url(config_path.clone(), loaded, listen, upkeep_url).await
}

/// A first backup of the shop's database and a drill of it, so the backups page has something
/// to show at once (under the same locks the daemon's scheduled runs take). It waits for the
/// server to listen: by then the daemon has opened (and migrated) the store.
async fn first_backup(plan: upkeep_plan::Plan, listening: Arc<OnceLock<String>>) {
    let Some(backup) = plan.backups.first() else { return };
    while listening.get().is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let store = match upkeep_store::Store::open(&plan.server.data_dir).await {
        Ok(store) => store,
        Err(e) => return tracing::warn!(error = %e, "the demo's first backup did not run"),
    };
    let places = upkeep_backup::Places::under(&plan.server.data_dir);
    let now = jiff::Timestamp::now();
    if let Err(e) = upkeep_backup::run_recorded(backup, &plan.repository, &places, Some(&store), "demo", now).await {
        return tracing::warn!(error = %e, "the demo's first backup failed");
    }
    let now = jiff::Timestamp::now();
    if let Err(e) = upkeep_backup::drill_newest(backup, &plan.repository, &places, Some(&store), "demo", now).await {
        tracing::warn!(error = %e, "the demo's first drill did not run");
    }
}

fn config(app: &app::Running, password_hash: &str, path: &Path, listen: std::net::SocketAddr) -> String {
    // Links in pages (acknowledge, the dashboard) point here; a port picked at random is only
    // known once the server binds, and then the links use the default.
    let url = if listen.port() == 0 { String::new() } else { format!("url = \"http://{listen}\"\n") };
    format!(
        r#"# The config `upkeep demo` wrote for its sample app. Copy what you need.
[server]
data_dir = "data"
{url}
[retention]
raw = "7d"
rollups = "400d"

# Made for this demo: the password was printed when it started.
[[user]]
name = "demo"
password_hash = '{password_hash}'
role = "admin"

# Every alert goes to the sample app's webhook, which prints what it receives. Alerts that fire
# within 5 seconds of each other arrive as one message.
[notifications]
channels = ["demo-webhook"]
group_wait = "5s"
group_interval = "10s"

[[channel]]
name = "demo-webhook"
kind = "webhook"
url = "http://{addr}/webhook"

[[check]]
name = "shop"
kind = "http"
url = "http://{addr}/health"
every = "5s"
timeout = "2s"
expect = ['status == 200', 'json.status == "healthy"', 'latency < 500ms']
component = "Shop"

[[check]]
name = "shop-port"
kind = "tcp"
address = "{addr}"
every = "10s"

[[check]]
name = "database"
kind = "sqlite"
path = "{database}"
every = "10s"
query = "SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM failed_jobs WHERE failed_at > datetime('now', '-1 minute')) AS failed_last_minute"
expect = ['journal_mode == "wal"', 'row.failed_last_minute == 0', 'wal_size < 64MiB']

[[check]]
name = "app-log"
kind = "log"
path = "{log}"
every = "10s"

[[check]]
name = "storage"
kind = "file"
path = "{storage}"
every = "30s"
expect = ['writable']

[[check]]
name = "nightly-job"
kind = "heartbeat"
id = "demo-nightly-job"
every = "10s"
grace = "10s"

[[check]]
name = "disk"
kind = "disk"
path = "/"
every = "30s"
expect = 'used_percent < 95%'
critical = false

[[check]]
name = "memory"
kind = "memory"
every = "30s"
expect = 'used_percent < 95%'
critical = false

[[check]]
name = "load"
kind = "load"
every = "30s"
expect = 'load1_per_cpu < 4'
critical = false

# The shop's database, backed up every night at 02:00 (a consistent copy, taken while the shop
# writes) into an encrypted, deduplicated repository in data/backups (its password was made in
# data/backup.key: keep a copy), kept 7 daily, 4 weekly and 12 monthly. Every Sunday at 05:00 a
# drill restores the newest snapshot into a scratch place and checks it as the shop would use it.
# The demo takes a first backup and drills it as it starts. Try:
#   upkeep -c {config} backup status
#   upkeep -c {config} backup restore ID --to /tmp/restored
[[backup]]
name = "shop-db"
source = {{ kind = "sqlite", path = "{database}" }}
schedule = "0 2 * * *"
drill = "0 5 * * 0"
max_age = "26h"
rto = "1h"

# Incidents: a critical alert (the shop down) opens a P1 incident and pages whoever is on call
# in the "primary" schedule (alex and sam take turns each day at 09:00); if nobody acknowledges
# within 5 minutes, the lead is paged too. Each page carries a one-click Acknowledge link; the
# sample app's webhook prints the pages it receives. Try:
#   upkeep -c {config} oncall
#   upkeep -c {config} incident list
#   upkeep -c {config} incident postmortem 1
[incidents]
escalation = "demo"

[[person]]
name = "alex"
channels = ["alex-pager"]

[[person]]
name = "sam"
channels = ["sam-pager"]

[[person]]
name = "lead"
channels = ["lead-pager"]

[[channel]]
name = "alex-pager"
kind = "webhook"
url = "http://{addr}/webhook?to=alex"

[[channel]]
name = "sam-pager"
kind = "webhook"
url = "http://{addr}/webhook?to=sam"

[[channel]]
name = "lead-pager"
kind = "webhook"
url = "http://{addr}/webhook?to=lead"

[[schedule]]
name = "primary"
rotation = {{ every = "1d", handoff = "09:00", people = ["alex", "sam"] }}

[[escalation]]
name = "demo"
levels = [
  {{ after = "0m", notify = ["schedule:primary"] }},
  {{ after = "5m", notify = ["person:lead"] }},
]
"#,
        addr = app.addr,
        database = app.database.display(),
        log = app.log.display(),
        storage = app.storage.display(),
        password_hash = password_hash,
        config = path.display(),
    )
}
