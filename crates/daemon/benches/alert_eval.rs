//! The alert engine's targets, on a store with 30 days of history for 1,000 checks:
//!
//! 1. One full evaluation (a timer round: read the history every rule needs, evaluate 1,000
//!    rules and the built-in alerts of 1,000 checks and 100 SLOs, save what changed): p99 < 20 ms.
//! 2. From a failing result being committed to its alert firing (`alert_after = 1`, `for = 0`),
//!    the engine's part: take the batch in, evaluate the rules that read the check, save the
//!    state, the event and the cursor in one transaction: p99 < 50 ms.
//!
//! ```text
//! cargo bench -p upkeep-daemon --bench alert_eval
//! RESULTS_MD=bench/results-daemon.md cargo bench -p upkeep-daemon --bench alert_eval
//! ```
//! Tunables: `ALERT_EVAL_CHECKS` (1000), `ALERT_EVAL_SLOS` (100), `ALERT_EVAL_ITERATIONS` (50).

#[path = "../../store/benches/support/history.rs"]
mod history;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use upkeep_daemon::{Alerting, Committed, Consumer};
use upkeep_probe::Clock;
use upkeep_result::{CheckResult, Status};
use upkeep_store::Store;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

/// 1,000 checks, one rule each over history (five windows between them) and its latest run,
/// and an SLO on each of the first 100.
fn config(names: &[String], slos: usize) -> String {
    let mut text = String::from("[server]\ndata_dir = \"data\"\n\n[defaults]\nalert_after = 1\n\n");
    let windows = ["5m", "15m", "1h", "6h", "1d"];
    for (i, name) in names.iter().enumerate() {
        let w = windows[i % windows.len()];
        let _ = write!(
            text,
            "[[check]]\nname = \"{name}\"\nkind = \"file\"\npath = \"/\"\n\n\
             [[alert]]\nname = \"rule-{i}\"\nwhen = 'error_rate({name}, {w}) > 5% or p95({name}, {w}) > 2s or {name}.exists == false'\n\
             for = \"2m\"\nsummary = \"{{{{ check }}}}: {{{{ value }}}}\"\n\n"
        );
        if i < slos {
            let _ = write!(text, "[[slo]]\nname = \"slo-{i}\"\ncheck = \"{name}\"\nobjective = \"99.9%\"\n\n");
        }
    }
    text
}

fn quantile(samples: &[Duration], q: f64) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let rank = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
    ms[rank - 1]
}

async fn run() {
    let checks = env_usize("ALERT_EVAL_CHECKS", 1000);
    let slos = env_usize("ALERT_EVAL_SLOS", 100).min(checks);
    let iterations = env_usize("ALERT_EVAL_ITERATIONS", 50).max(1);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).await.expect("Store::open");
    let now = jiff::Timestamp::now();
    let names: Vec<String> = (0..checks).map(|i| format!("c-{i:04}")).collect();
    let bulk = history::bulk(&store, dir.path(), &names, now).await;
    eprintln!(
        "history: {} totals, {} rollups in {:.1} s",
        bulk.total_rows,
        bulk.rollup_rows,
        bulk.insert_time.as_secs_f64()
    );

    let text = config(&names, slos);
    let plan = upkeep_plan::load_config(
        upkeep_config::Source::new(dir.path().join("upkeep.toml"), text),
        &upkeep_config::Env::Process,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let rules = plan.alerts.rules.len();
    let mut registry = prometheus_client::registry::Registry::default();
    let latest: Vec<CheckResult> = store.latest_results().await.expect("latest results");
    let (alerting, _) = Alerting::start(Arc::clone(&plan.alerts), store.clone(), Clock::System, latest, &mut registry)
        .await
        .expect("the alert engine");

    // 1. Full evaluations.
    for _ in 0..3 {
        alerting.tick().await;
    }
    let mut rounds = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        alerting.tick().await;
        rounds.push(start.elapsed());
    }

    // 2. Commit → firing, a different check each time.
    let mut fired = Vec::with_capacity(iterations);
    for (i, name) in names.iter().take(iterations).enumerate() {
        let result = CheckResult {
            check: name.clone(),
            at: jiff::Timestamp::now(),
            status: Status::Error,
            latency: Duration::from_millis(3),
            message: Some(format!("failure {i}")),
            observations: Default::default(),
        };
        let seq = store.write(std::slice::from_ref(&result)).await.expect("Store::write");
        let start = Instant::now();
        alerting.consume(&Committed { seq, results: vec![result], replayed: false }).await;
        fired.push(start.elapsed());
    }
    let firing =
        alerting.list().await.iter().filter(|a| a["alertname"] == "check_down" && a["state"] == "firing").count();
    assert_eq!(firing, iterations.min(checks), "every failing result fired its check's down alert");

    let (p50, p99) = (quantile(&rounds, 0.5), quantile(&rounds, 0.99));
    let (f50, f99) = (quantile(&fired, 0.5), quantile(&fired, 0.99));
    let yes = |v: f64, t: f64| if v < t { "yes" } else { "**no**" };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## alert engine (`cargo bench -p upkeep-daemon --bench alert_eval`) — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "{checks} checks with 31 days of history ({} MB store), {rules} alert rules in all: one `[[alert]]` per check over history in five windows (5m, 15m, 1h, 6h, 1d) and its latest run, each check's down and flapping alerts, and four burn-rate alerts for each of {slos} SLOs. {iterations} timed iterations after 3 warm-up ones; p99 is nearest-rank.",
        bulk.db_bytes / 1_000_000
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "| metric | median | p99 | target | met? |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | :---: |");
    let _ = writeln!(
        md,
        "| one full evaluation (read history, evaluate, save) | {p50:.2} ms | {p99:.2} ms | p99 < 20 ms | {} |",
        yes(p99, 20.0)
    );
    let _ = writeln!(
        md,
        "| committed failing result → alert firing, saved | {f50:.2} ms | {f99:.2} ms | p99 < 50 ms | {} |",
        yes(f99, 50.0)
    );
    print!("{md}");
    if let Ok(path) = std::env::var("RESULTS_MD") {
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let start = old.find("## alert engine");
        let kept = match start {
            Some(at) => {
                let rest = &old[at + 1..];
                let end = rest.find("\n## ").map_or(old.len(), |e| at + 1 + e + 1);
                format!("{}{}", &old[..at], &old[end..])
            }
            None => old,
        };
        std::fs::write(&path, format!("{}\n{md}", kept.trim_end())).expect("write the report");
    }
}
