//! The daemon as a process: the store, the daemon, the HTTP server, and the signals — SIGTERM or
//! Ctrl-C stops it gracefully (in-flight checks finish, results are committed), SIGHUP reloads
//! the config, and a bad new config is reported while the old one keeps running. Used by
//! `upkeep serve` and `upkeep demo`.

use std::path::PathBuf;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use upkeep_config::Env;
use upkeep_daemon::Daemon;
use upkeep_probe::Clock;

/// Runs the daemon until SIGTERM or Ctrl-C.
pub async fn serve(config: PathBuf, loaded: upkeep_plan::Plan, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    serve_with_url(config, loaded, listen, Arc::default()).await
}

/// As [`serve`], publishing the base URL once bound (the demo's sample app pings it).
pub async fn serve_with_url(
    config: PathBuf,
    mut loaded: upkeep_plan::Plan,
    listen: std::net::SocketAddr,
    url: Arc<std::sync::OnceLock<String>>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    // Before anything opens a file, and before the "listening" line: what reads it may count.
    upkeep_web::raise_fd_limit();
    let store = upkeep_store::Store::open(&loaded.server.data_dir).await.context("cannot open the store")?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    linked_to(&mut loaded, address);
    let daemon = Daemon::start(&loaded, store, Clock::System, Default::default()).await.context("cannot start")?;
    // Signal handlers first, so a signal sent right after the "listening" line is not lost.
    let hangups = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let terms = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let reloader = tokio::spawn(reload_on_hangup(
        hangups,
        config,
        Arc::clone(&daemon),
        (listen, loaded.server.listen, address),
        loaded.server.data_dir.clone(),
    ));
    let app = upkeep_web::router(Arc::clone(&daemon));
    let _ = url.set(format!("http://{address}"));
    eprintln!("upkeep: watching {} checks; listening on http://{address}", loaded.checks.len());
    let limits =
        upkeep_web::Limits { max_connections: loaded.server.max_connections, idle_timeout: loaded.server.idle_timeout };
    upkeep_web::serve(listener, app, limits, stopped(terms)).await;
    eprintln!("upkeep: stopping; letting running checks finish");
    reloader.abort();
    daemon.shutdown().await;
    eprintln!("upkeep: stopped");
    Ok(())
}

/// Links in notifications point at the address the daemon is bound to (`--listen`, a free
/// port), unless `[server] url` says where people reach it.
fn linked_to(plan: &mut upkeep_plan::Plan, address: std::net::SocketAddr) {
    if plan.server.url.is_none() {
        plan.server.url = Some(format!("http://{address}"));
    }
}

async fn stopped(mut term: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    config: PathBuf,
    daemon: Arc<Daemon>,
    (listen, configured_listen, address): (std::net::SocketAddr, std::net::SocketAddr, std::net::SocketAddr),
    data_dir: PathBuf,
) {
    while hangups.recv().await.is_some() {
        match upkeep_plan::load_file(&config, &Env::Process) {
            Ok(mut loaded) => {
                linked_to(&mut loaded, address);
                if let Some(refusal) = upkeep_plan::open_to_network(listen, &loaded.access) {
                    eprintln!("upkeep: not reloading: {refusal}; the old config keeps running");
                    continue;
                }
                if loaded.server.listen != configured_listen {
                    eprintln!("upkeep: `listen` changed; restart to move to {}", loaded.server.listen);
                }
                if loaded.server.data_dir != data_dir {
                    eprintln!("upkeep: `data_dir` changed; restart to use {}", loaded.server.data_dir.display());
                }
                for warning in &loaded.warnings {
                    eprintln!("{warning}");
                }
                daemon.reload(&loaded).await;
                eprintln!("upkeep: reloaded {}: {} checks", config.display(), loaded.checks.len());
            }
            Err(e) => eprintln!("upkeep: not reloading; the old config keeps running:\n{e}"),
        }
    }
}
