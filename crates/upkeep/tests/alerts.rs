//! Alerts end to end, on the real binary: a check that goes down fires its own down alert after
//! three failures and a configured rule at once; `kill -9` and a restart neither forget them
//! nor notify them again; when the app heals both resolve, once. The CLI, the API and
//! `/metrics` all say so.

mod support;

use std::process::Command;
use std::sync::atomic::Ordering;
use support::{Daemon, app, eventually, http_check, write_config};

const RULE: &str = "[[alert]]\nname = \"api_unavailable\"\nwhen = 'api.status == 503'\nseverity = \"critical\"\n\
                    summary = \"{{ check }} answers {{ value }}\"\nrunbook = \"https://wiki.example.com/api\"\n";

async fn alert(daemon: &Daemon, key: &str) -> serde_json::Value {
    let alerts = daemon.json("/api/v1/alerts").await;
    alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .cloned()
        .unwrap_or_else(|| panic!("no alert {key}: {alerts}"))
}

/// (key, notice) of every event that notifies, oldest first.
async fn notices(daemon: &Daemon) -> Vec<(String, String)> {
    let page = daemon.json("/api/v1/alerts/events?limit=1000").await;
    let mut out: Vec<(String, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["notice"].is_null())
        .map(|e| (e["key"].as_str().unwrap().to_string(), e["notice"].as_str().unwrap().to_string()))
        .collect();
    out.reverse();
    out
}

fn alert_list(config: &std::path::Path) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(config)
        .args(["alert", "list", "--json"])
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr))),
    )
}

#[tokio::test]
async fn alerts_fire_survive_kill_9_and_resolve_once() {
    let app = app();
    app.healthy.store(false, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &format!("{}{RULE}", http_check("api", &app.addr, "")));
    let down = "check_down{check=\"api\"}";

    let daemon = Daemon::start(&config);
    let firing = |a: &serde_json::Value| a["state"] == "firing";
    let rule =
        eventually("the rule fires", async || Some(alert(&daemon, "api_unavailable").await).filter(firing)).await;
    assert_eq!(rule["annotations"]["summary"], "api answers 503");
    assert_eq!(rule["labels"]["check"], "api");
    let check_down = eventually("the down alert fires", async || Some(alert(&daemon, down).await).filter(firing)).await;
    assert_eq!(check_down["severity"], "critical");
    let before = notices(&daemon).await;
    assert_eq!(
        before,
        [("api_unavailable".to_string(), "firing".to_string()), (down.to_string(), "firing".to_string())],
        "the rule fires on the first 503, the down alert on the third"
    );
    let metrics = daemon.get("/metrics").await.1;
    assert!(metrics.contains("upkeep_alerts_firing{severity=\"critical\"} 2"), "{metrics}");

    // kill -9, and start again on the same store.
    drop(daemon);
    let (code, listed) = alert_list(&config);
    assert_eq!(code, Some(1), "alert list exits 1 while something fires");
    let keys: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["api_unavailable", down]);
    let daemon = Daemon::start(&config);
    // Three more failing runs after the restart: still firing, since the same time, and
    // nothing was notified again.
    let last_run = async || -> jiff::Timestamp {
        daemon.json("/api/v1/checks/api").await["last_run"].as_str().unwrap().parse().unwrap()
    };
    let restarted = last_run().await;
    eventually("three more runs", async || {
        (last_run().await >= restarted + jiff::SignedDuration::from_secs(3)).then_some(())
    })
    .await;
    assert_eq!(alert(&daemon, down).await["since"], check_down["since"]);
    assert_eq!(alert(&daemon, "api_unavailable").await["since"], rule["since"]);
    assert_eq!(notices(&daemon).await, before, "a restart notifies nothing again");

    app.healthy.store(true, Ordering::SeqCst);
    let resolved = |a: &serde_json::Value| a["state"] == "resolved";
    eventually("both resolve", async || {
        let (a, b) = (alert(&daemon, down).await, alert(&daemon, "api_unavailable").await);
        (resolved(&a) && resolved(&b)).then_some(())
    })
    .await;
    let after = notices(&daemon).await;
    assert_eq!(after.len(), 4, "{after:?}");
    assert_eq!(after.iter().filter(|(_, n)| n == "resolved").count(), 2, "{after:?}");
    let (code, _) = alert_list(&config);
    assert_eq!(code, Some(0));
}
