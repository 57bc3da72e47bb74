//! Incidents in the daemon, on a manual clock, with pages delivered to a local HTTP receiver:
//! a critical alert opens a P1 and pages whoever is on call in the primary schedule; unacknowledged,
//! it climbs to the secondary at 15 minutes; the signed link in the page acknowledges it once
//! (and is refused altered, for another incident, or expired); acknowledged, it pages no one
//! else; a second alert of the same component joins it; and when its alerts resolve, it resolves.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upkeep_daemon::{Daemon, Options, incidents};
use upkeep_probe::Clock;
use upkeep_store::{IncidentFilter, Store};

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// Answers 200 to every request and keeps (path, body).
fn receiver(seen: Arc<Mutex<Vec<(String, serde_json::Value)>>>) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut data = Vec::new();
                let mut buf = [0u8; 65536];
                // Headers, then as many body bytes as content-length says.
                loop {
                    let Ok(n) = stream.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() < len {
                        continue;
                    }
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    seen.lock().unwrap().push((path, serde_json::from_str(body).unwrap_or_default()));
                    let _ = std::io::Write::write_all(
                        &mut stream,
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                    return;
                }
            });
        }
    });
    addr
}

fn config(dir: &std::path::Path, addr: std::net::SocketAddr, flag: &std::path::Path) -> upkeep_plan::Plan {
    let text = format!(
        r#"[server]
data_dir = "data"

[defaults]
zone = "UTC"

[[check]]
name = "api"
kind = "command"
command = "test -f {flag}"
every = "10s"
alert_after = 1
recover_after = 1
component = "API"

[[check]]
name = "worker"
kind = "command"
command = "test -f {flag}"
every = "10s"
alert_after = 1
recover_after = 1
component = "API"

[[channel]]
name = "ops-1-hook"
kind = "webhook"
url = "http://{addr}/ops-1"

[[channel]]
name = "ops-2-hook"
kind = "webhook"
url = "http://{addr}/ops-2"

[[channel]]
name = "lead-hook"
kind = "webhook"
url = "http://{addr}/lead"

[[person]]
name = "ops-1"
channels = ["ops-1-hook"]

[[person]]
name = "ops-2"
channels = ["ops-2-hook"]

[[person]]
name = "ops-lead"
channels = ["lead-hook"]

[[schedule]]
name = "primary"
rotation = {{ every = "1w", handoff = "Mon 09:00", people = ["ops-1", "ops-2"], start = "2026-11-30" }}

[[schedule]]
name = "secondary"
rotation = {{ every = "1w", handoff = "Mon 09:00", people = ["ops-2", "ops-1"], start = "2026-11-30" }}

[incidents]
escalation = "default"
diagnostics = {{ uptime = "echo up; echo DB_PASSWORD=hunter2" }}

[[escalation]]
name = "default"
levels = [
  {{ after = "0m", notify = ["schedule:primary"] }},
  {{ after = "15m", notify = ["schedule:secondary"] }},
  {{ after = "30m", notify = ["person:ops-lead"] }},
]
"#,
        flag = flag.display()
    );
    upkeep_plan::load_config(upkeep_config::Source::new(dir.join("upkeep.toml"), text), &upkeep_config::Env::Process)
        .unwrap_or_else(|d| panic!("{d}"))
}

/// Waits (at most 30 s of real time) until `f` holds, stepping the alert engine and incidents.
async fn until<F: Fn() -> bool>(daemon: &Daemon, what: &str, f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        daemon.alerting().tick().await;
        daemon.incidents().step().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn open_incidents(store: &Store) -> Vec<upkeep_incident::Incident> {
    incidents::list(store, &IncidentFilter { limit: 10, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect()
}

fn paths(seen: &Mutex<Vec<(String, serde_json::Value)>>) -> Vec<String> {
    seen.lock().unwrap().iter().map(|(p, _)| p.clone()).collect()
}

#[tokio::test]
async fn a_critical_alert_opens_a_p1_pages_on_call_escalates_and_the_link_acknowledges_it() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let addr = receiver(Arc::clone(&seen));
    let flag = dir.path().join("healthy");
    let plan = config(dir.path(), addr, &flag);
    let store = Store::open(&plan.server.data_dir).await.unwrap();
    // Wednesday 2 December 2026: the week from Monday 30 November is ops-1's in primary.
    let clock = Clock::manual(at("2026-12-02T10:00:00Z"));
    let daemon = Daemon::start(&plan, store.clone(), clock.clone(), Options::default()).await.unwrap();

    // Both checks fail at once: one P1 for the component, both alerts in it.
    let opened = || {
        let store = store.clone();
        async move { open_incidents(&store).await }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let incident = loop {
        // The checks' first runs are spread over their interval.
        if clock.now() < at("2026-12-02T10:00:10Z") {
            clock.advance(Duration::from_secs(1));
        }
        daemon.alerting().tick().await;
        daemon.incidents().step().await;
        let list = opened().await;
        if list.first().is_some_and(|i| i.alerts.len() == 2) {
            break list[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no P1 with both alerts: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(opened().await.len(), 1, "the second alert joined the open incident");
    assert_eq!(incident.severity, "P1");
    assert_eq!(incident.components, ["API"]);
    assert_eq!(incident.group.as_deref(), Some("component=API"));

    // Level 1 pages ops-1, the primary's on-call person, with a signed link.
    until(&daemon, "the page to ops-1", || paths(&seen).contains(&"/ops-1".to_string())).await;
    let page = seen.lock().unwrap()[0].1.clone();
    let notice = &page["incident"];
    assert_eq!(notice["id"], incident.id);
    assert_eq!(notice["severity"], "P1");
    assert_eq!(notice["level"], 1);
    assert_eq!(notice["person"], "ops-1");
    let link = notice["ack_url"].as_str().unwrap().to_string();
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(link.starts_with("http://127.0.0.1:8080/ack/"), "{link}");

    // P1 diagnostics are in the timeline (captured after the first page), with the secret masked.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let diag = loop {
        let (stored, _) = incidents::load(&store, incident.id).await.unwrap().unwrap();
        if let Some(diag) = stored.timeline.iter().find(|e| e.kind == "diagnostics") {
            break diag.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no diagnostics: {:?}", stored.timeline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let output = diag.detail.as_ref().unwrap()["commands"][0]["output"].as_str().unwrap().to_string();
    assert_eq!(output, "up\nDB_PASSWORD=***");

    // Nobody acknowledges: at 15 minutes the secondary (ops-2) is paged; the lead is not yet.
    clock.advance(Duration::from_secs(15 * 60));
    until(&daemon, "the page to ops-2", || paths(&seen).contains(&"/ops-2".to_string())).await;
    assert!(!paths(&seen).contains(&"/lead".to_string()));

    // The link: altered, or for another incident, it is refused; as sent, it acknowledges.
    let key = daemon.incidents().key().clone();
    let now = clock.now();
    let altered = token.replacen(&format!("{}-", incident.id), &format!("{}-", incident.id + 1), 1);
    let refused = incidents::acknowledge_by_link(&store, &plan, &key, &altered, now).await.unwrap_err();
    assert!(refused.to_string().contains("signature does not match"), "{refused}");
    let acked = incidents::acknowledge_by_link(&store, &plan, &key, &token, now).await.unwrap();
    assert_eq!(acked.acknowledged_by.as_deref(), Some("ops-1"));
    assert_eq!(acked.status, upkeep_incident::Status::Acknowledged);
    let again = incidents::acknowledge_by_link(&store, &plan, &key, &token, now).await.unwrap_err();
    assert!(again.to_string().contains("already acknowledged by ops-1"), "used once: {again}");
    let late =
        incidents::acknowledge_by_link(&store, &plan, &key, &token, now + jiff::SignedDuration::from_hours(25)).await;
    assert!(late.unwrap_err().to_string().contains("expired"));

    // Acknowledged: at 30 minutes the lead is not paged. A step writes its pages into the outbox
    // before it returns, so the outbox after this step is what was decided.
    clock.advance(Duration::from_secs(20 * 60));
    daemon.incidents().step().await;
    let filter = upkeep_store::NotificationFilter {
        key_prefix: Some(format!("incident:{}:", incident.id)),
        limit: 100,
        ..Default::default()
    };
    let channels: Vec<String> = store.notifications(&filter).await.unwrap().into_iter().map(|n| n.channel).collect();
    assert!(channels.contains(&"ops-2-hook".to_string()), "the step did page before: {channels:?}");
    assert!(!channels.contains(&"lead-hook".to_string()), "{channels:?}");

    // The checks recover: both alerts resolve, and the incident with them.
    std::fs::write(&flag, "").unwrap();
    clock.advance(Duration::from_secs(10));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        daemon.alerting().tick().await;
        daemon.incidents().step().await;
        let (i, _) = incidents::load(&store, incident.id).await.unwrap().unwrap();
        if i.status == upkeep_incident::Status::Resolved {
            assert!(i.alerts.values().all(|a| !a.firing));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not resolved: {:?}", i.timeline);
        clock.advance(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Each channel a page went to hears once that it resolved.
    until(&daemon, "the resolve notices", || {
        let seen = seen.lock().unwrap();
        let resolved =
            |p: &str| seen.iter().filter(|(path, b)| path == p && b["incident"]["reason"] == "resolved").count();
        resolved("/ops-1") == 1 && resolved("/ops-2") == 1
    })
    .await;
    assert!(!paths(&seen).contains(&"/lead".to_string()), "the lead was never paged, so is not told");

    // The timeline has each step, deliveries included; the post-mortem has real times.
    let (i, _) = incidents::load(&store, incident.id).await.unwrap().unwrap();
    let view = incidents::view(&plan, &store, i.clone(), clock.now()).await.unwrap();
    let kinds: Vec<&str> = view.incident.timeline.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "opened",
        "alert_fired",
        "diagnostics",
        "notified",
        "delivered",
        "escalated",
        "acknowledged",
        "alert_resolved",
        "resolved",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let md = incidents::postmortem(&plan, &store, &i, clock.now()).await;
    assert!(md.contains("- **Severity**: P1"), "{md}");
    assert!(md.contains("(triggered 10:00 UTC, resolved 10:3"), "{md}");
    assert!(md.contains("| alert check_down (api) fired (expected exit_code == 0, got 1) | upkeep |"), "{md}");
    assert!(md.contains("| acknowledged by ops-1 (link of the level 1 page) | ops-1 |"), "{md}");
    daemon.shutdown().await;
}
