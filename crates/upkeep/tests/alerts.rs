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

/// A silence set over the API mutes a firing alert's notification without hiding it; `upkeep
/// silence list` shows it; expiring it with the CLI makes the daemon notify what still fires.
/// A viewer may read silences but not set them.
#[tokio::test]
async fn silences_mute_without_hiding_and_need_a_responder() {
    let app = app();
    let dir = tempfile::tempdir().unwrap();
    let (viewer, stderr) = support::upkeep(&["token", "new", "--name", "grafana"], "");
    let viewer_sha = support::token_sha(&stderr);
    let (responder, stderr) = support::upkeep(&["token", "new", "--name", "oncall"], "");
    let responder_sha = support::token_sha(&stderr);
    let tokens = format!(
        "[alerts]\nevaluate_every = \"1s\"\n\n[[token]]\nname = \"grafana\"\nsha256 = \"{viewer_sha}\"\n\n\
         [[token]]\nname = \"oncall\"\nsha256 = \"{responder_sha}\"\nrole = \"responder\"\n\n"
    );
    let config = write_config(dir.path(), &format!("{tokens}{}{RULE}", http_check("api", &app.addr, "")));
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", daemon.url);
    let body = serde_json::json!({"matchers": ["alertname=api_unavailable"], "duration": "1h", "comment": "deploying"});

    let refused = client.post(api("/api/v1/silences")).bearer_auth(&viewer).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let added = client.post(api("/api/v1/silences")).bearer_auth(&responder).json(&body).send().await.unwrap();
    assert_eq!(added.status(), 201);
    let silence: serde_json::Value = added.json().await.unwrap();
    assert_eq!(silence["created_by"], "token:oncall");
    assert_eq!(silence["state"], "active");
    let id = silence["id"].as_str().unwrap().to_string();
    let bad = serde_json::json!({"matchers": ["alertname"], "duration": "1h", "comment": "x"});
    let refused = client.post(api("/api/v1/silences")).bearer_auth(&responder).json(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 400);

    app.healthy.store(false, Ordering::SeqCst);
    let get = |path: &'static str| {
        let (client, url, token) = (client.clone(), api(path), viewer.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let muted = eventually("the rule fires, muted", async || {
        let alerts = get("/api/v1/alerts").await;
        let rule = alerts.as_array().unwrap().iter().find(|a| a["key"] == "api_unavailable").cloned().unwrap();
        (rule["state"] == "firing").then_some(rule)
    })
    .await;
    assert_eq!(muted["muted_by"], serde_json::json!([format!("silence:{id}")]));
    let events = get("/api/v1/alerts/events?key=api_unavailable").await;
    assert_eq!(events["events"][0]["notice"], "firing");
    assert_eq!(events["events"][0]["muted_by"][0], format!("silence:{id}"));

    let listed = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["silence", "list", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["matchers"], serde_json::json!(["alertname=api_unavailable"]));
    let expired = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["silence", "expire", &id])
        .output()
        .unwrap();
    assert!(expired.status.success(), "{}", String::from_utf8_lossy(&expired.stderr));
    // The daemon reads the store on its next evaluation, and notifies what nobody has heard of.
    eventually("an unmuted firing notification", async || {
        let events = get("/api/v1/alerts/events?key=api_unavailable").await;
        let newest = &events["events"][0];
        (newest["notice"] == "firing" && newest["muted_by"] == serde_json::json!([])).then_some(())
    })
    .await;
}

/// Rules over history read the windows the daemon keeps as results are committed: a failing
/// app's error rate over 5 minutes passes 50% and the rule fires, with that rate as its value;
/// the SLO's page-level burn-rate alert fires too.
#[tokio::test]
async fn rules_over_history_fire_on_what_was_just_committed() {
    let app = app();
    app.healthy.store(false, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let rules = "[alerts]\nevaluate_every = \"1s\"\n\n[[alert]]\nname = \"api_errors\"\n\
                 when = 'error_rate(api, 5m) > 50% and count(api, 5m) >= 3'\nsummary = \"{{ value }} of runs failed\"\n\n\
                 [[slo]]\nname = \"api-availability\"\ncheck = \"api\"\nobjective = \"99.9%\"\n";
    let config = write_config(dir.path(), &format!("{rules}{}", http_check("api", &app.addr, "")));
    let daemon = Daemon::start(&config);
    let fired = eventually("the error-rate rule fires", async || {
        Some(alert(&daemon, "api_errors").await).filter(|a| a["state"] == "firing")
    })
    .await;
    assert_eq!(fired["annotations"]["summary"], "100% of runs failed");
    let page = "slo_burn{slo=\"api-availability\",window=\"1h/5m\"}";
    let burn = eventually("the page-level burn-rate alert fires", async || {
        Some(alert(&daemon, page).await).filter(|a| a["state"] == "firing")
    })
    .await;
    assert_eq!(burn["value"], "1000.0", "every run failed: 100% against a 0.1% budget");
}

/// With no user and no token (a loopback daemon open to read), nothing can be changed: a silence
/// needs someone to answer for it.
#[tokio::test]
async fn an_open_daemon_sets_no_silence() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[[check]]\nname = \"root\"\nkind = \"file\"\npath = \"/\"\n");
    let daemon = Daemon::start(&config);
    let body = serde_json::json!({"matchers": ["check=root"], "duration": "1h", "comment": "x"});
    let response =
        reqwest::Client::new().post(format!("{}/api/v1/silences", daemon.url)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("needs a [[user]] or a [[token]]"));
    assert_eq!(daemon.json("/api/v1/silences").await, serde_json::json!([]));
}
