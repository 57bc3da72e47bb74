//! Incidents end to end, on the real binary: a critical alert opens a P1 and pages the primary's
//! on-call person through a webhook; unacknowledged, it climbs to the secondary and the lead;
//! `kill -9` of Upkeep in between neither skips a level nor pages one twice; the page's link
//! acknowledges once (its GET only shows a button) and is refused altered; the CLI, the API
//! and `/metrics` agree; and the schedule's calendar feed, read by Python's `icalendar`, says
//! what `upkeep oncall --at` says. Rows 003-01, 003-13, 004-41, 004-45, 000-96.

mod support;

use std::process::Command;
use std::sync::atomic::Ordering;
use support::{Daemon, app, eventually, receiver, write_config};

fn config(app: &str, hook: &str) -> String {
    format!(
        r#"[defaults]
alert_after = 1

[[check]]
name = "api"
kind = "http"
url = "http://{app}/health"
every = "1s"
timeout = "1s"
component = "API"

[[channel]]
name = "ops-1-hook"
kind = "webhook"
url = "http://{hook}/ops-1"

[[channel]]
name = "ops-2-hook"
kind = "webhook"
url = "http://{hook}/ops-2"

[[channel]]
name = "lead-hook"
kind = "webhook"
url = "http://{hook}/lead"

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
rotation = {{ every = "1w", handoff = "Mon 09:00", zone = "Europe/Berlin", people = ["ops-1", "ops-2"] }}

[[schedule]]
name = "secondary"
rotation = {{ every = "1w", handoff = "Mon 09:00", zone = "Europe/Berlin", people = ["ops-2", "ops-1"] }}

[incidents]
escalation = "default"

[[escalation]]
name = "default"
levels = [
  {{ after = "0s", notify = ["schedule:primary"] }},
  {{ after = "4s", notify = ["schedule:secondary"] }},
  {{ after = "8s", notify = ["person:ops-lead"] }},
]
"#
    )
}

fn upkeep_json(config: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(config).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn paths(got: &std::sync::Mutex<Vec<support::Received>>) -> Vec<String> {
    got.lock().unwrap().iter().map(|r| r.path.clone()).collect()
}

/// `icalendar` from PyPI, installed for the test if it is missing.
fn python_icalendar() {
    let has = Command::new("python3").args(["-c", "import icalendar"]).status().is_ok_and(|s| s.success());
    if !has {
        let ok = Command::new("python3").args(["-m", "pip", "install", "-q", "icalendar"]).status().unwrap();
        assert!(ok.success(), "cannot install icalendar from PyPI");
    }
}

#[tokio::test]
async fn a_p1_climbs_through_kill_9_once_per_level_and_its_link_acknowledges_it() {
    let app = app();
    app.healthy.store(false, Ordering::SeqCst);
    let (hook, got) = receiver(200);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config(&app.addr, &hook));
    let oncall = upkeep_json(&config, &["oncall", "--json"]);
    let primary = oncall["schedules"][0]["person"].as_str().unwrap().to_string();
    let secondary = oncall["schedules"][1]["person"].as_str().unwrap().to_string();
    assert_ne!(primary, secondary);

    let daemon = Daemon::start(&config);
    let first = format!("/{primary}");
    eventually("the level 1 page", async || paths(&got).contains(&first).then_some(())).await;
    let page: serde_json::Value = serde_json::from_str(&got.lock().unwrap()[0].body).unwrap();
    assert_eq!(page["incident"]["severity"], "P1");
    assert_eq!(page["incident"]["level"], 1);
    assert_eq!(page["incident"]["person"], primary.as_str());
    let id = page["incident"]["id"].as_i64().unwrap();

    // kill -9 between the first and the second level; the restarted daemon carries on.
    drop(daemon);
    let daemon = Daemon::start(&config);
    eventually("the lead's page", async || paths(&got).contains(&"/lead".to_string()).then_some(())).await;
    let mut seen = paths(&got);
    seen.sort();
    let mut want = vec![format!("/{primary}"), format!("/{secondary}"), "/lead".to_string()];
    want.sort();
    assert_eq!(seen, want, "each level exactly once");

    let metrics = daemon.get("/metrics").await.1;
    assert!(metrics.contains("upkeep_incidents_open{severity=\"P1\"} 1"), "{metrics}");

    // The lead's link: the GET shows a button and changes nothing; an altered token is refused;
    // the POST acknowledges; a second POST is refused as used.
    let lead: serde_json::Value =
        serde_json::from_str(&got.lock().unwrap().iter().find(|r| r.path == "/lead").unwrap().body).unwrap();
    let ack_url = lead["incident"]["ack_url"].as_str().unwrap();
    let path = &ack_url[ack_url.find("/ack/").unwrap()..];
    let (status, body) = daemon.get(path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Acknowledge as ops-lead") && body.contains("method=\"post\""), "{body}");
    assert_eq!(upkeep_json(&config, &["incident", "show", &id.to_string(), "--json"])["status"], "triggered");
    let altered = path.replacen(&format!("/ack/{id}-"), &format!("/ack/{}-", id + 1), 1);
    assert_eq!(daemon.get(&altered).await.0, 403);
    let client = reqwest::Client::new();
    let post = client.post(format!("{}{path}", daemon.url)).send().await.unwrap();
    assert_eq!(post.status().as_u16(), 200);
    assert!(post.text().await.unwrap().contains("escalation has stopped"));
    let again = client.post(format!("{}{path}", daemon.url)).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 409);

    let listed = upkeep_json(&config, &["incident", "list", "--json"]);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["status"], "acknowledged");
    assert_eq!(listed[0]["acknowledged_by"], "ops-lead");
    let shown = daemon.json(&format!("/api/v1/incidents/{id}")).await;
    let kinds: Vec<&str> = shown["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["opened", "alert_fired", "notified", "escalated", "delivered", "acknowledged"] {
        assert!(kinds.contains(&kind), "no {kind}: {kinds:?}");
    }

    // The app heals: the alert resolves and the incident with it; the post-mortem draft follows.
    app.healthy.store(true, Ordering::SeqCst);
    eventually("the incident resolves", async || {
        (daemon.json(&format!("/api/v1/incidents/{id}")).await["status"] == "resolved").then_some(())
    })
    .await;
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["incident", "postmortem", &id.to_string()])
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with(&format!("# Incident Post-Mortem: #{id} ")), "{md}");
    assert!(md.contains("## Timeline\n| Time (UTC) | Event | Who |") && md.contains("## Action Items"), "{md}");

    let measures = upkeep_json(&config, &["incident", "measures", "--json"]);
    assert_eq!(measures["by_severity"]["P1"]["incidents"], 1, "{measures}");
    assert_eq!(daemon.json("/api/v1/incidents/measures?days=7").await["by_severity"]["P1"]["incidents"], 1);

    // An override, in the schedule's zone (Berlin is UTC+1 in January), wins over the rotation.
    let added = upkeep_json(
        &config,
        &[
            "oncall",
            "override",
            "add",
            "--schedule",
            "primary",
            "--person",
            &secondary,
            "--start",
            "2030-01-01 10:00",
            "--end",
            "2030-01-01 12:00",
            "--json",
        ],
    );
    assert_eq!(added["start"], "2030-01-01T09:00:00Z");
    let covered = upkeep_json(&config, &["oncall", "--json", "--at", "2030-01-01T09:30:00Z"]);
    assert_eq!(covered["schedules"][0]["person"], secondary.as_str());
    assert_eq!(covered["schedules"][0]["by"], format!("override {}", added["id"].as_str().unwrap()));

    // The calendar feed parses with a real iCalendar parser, and its events say what
    // `upkeep oncall --at` says at their start and just before their end.
    let feed = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_upkeep"))
            .arg("-c")
            .arg(&config)
            .args(["oncall", "feed", "primary"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let feed_path = &feed.trim()[feed.find("/oncall/").unwrap()..];
    let (status, ics) = daemon.get(feed_path).await;
    assert_eq!(status, 200);
    assert_eq!(daemon.get("/oncall/primary.ics?token=00").await.0, 404, "a wrong token gets nothing");
    python_icalendar();
    let script = "import sys, icalendar\ncal = icalendar.Calendar.from_ical(sys.stdin.read())\n\
                  for e in cal.walk('VEVENT'):\n    print(e['SUMMARY'], e.decoded('DTSTART').isoformat(), e.decoded('DTEND').isoformat())\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), ics.as_bytes()).unwrap();
    let parsed = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let events: Vec<(String, jiff::Timestamp, jiff::Timestamp)> = parsed
        .lines()
        .map(|l| {
            let mut parts = l.rsplitn(3, ' ');
            let (end, start, summary) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
            let person = summary.rsplit(": ").next().unwrap().to_string();
            (person, start.parse().unwrap(), end.parse().unwrap())
        })
        .collect();
    assert!(events.len() >= 9, "a week back and 60 days ahead: {parsed}");
    for (person, start, end) in events.iter().take(4) {
        for at in [*start, *end - jiff::SignedDuration::from_secs(1)] {
            let asked = upkeep_json(&config, &["oncall", "--json", "--at", &at.to_string()]);
            assert_eq!(asked["schedules"][0]["person"], person.as_str(), "at {at}");
        }
    }
}

#[tokio::test]
async fn a_responder_works_the_incident_from_its_page_and_a_viewer_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (hash, _) = support::upkeep(&["user", "hash-password"], "correct horse battery\n");
    let config = write_config(
        dir.path(),
        &format!(
            "[[user]]\nname = \"ada\"\npassword_hash = '{hash}'\nrole = \"responder\"\n\n\
             [[user]]\nname = \"vic\"\npassword_hash = '{hash}'\nrole = \"viewer\"\n"
        ),
    );
    let opened = upkeep_json(&config, &["incident", "open", "--severity", "P2", "--title", "slow checkout", "--json"]);
    let id = opened["id"].as_i64().unwrap();
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page_of = async |cookie: &str| -> String {
        let page = client.get(format!("{}/incidents/{id}", daemon.url)).header("cookie", cookie).send().await.unwrap();
        page.text().await.unwrap()
    };
    let press = async |cookie: &str, csrf: &str, fields: &[(&str, &str)]| -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        client
            .post(format!("{}/incidents/{id}/act", daemon.url))
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    };
    let csrf_of =
        |html: &str| html.split("name=\"csrf\" value=\"").nth(1).map(|v| v.split('"').next().unwrap().to_string());

    // A viewer sees the incident and no form; pressing anyway changes nothing.
    let vic = support::session(&daemon.url, "vic").await;
    let page = page_of(&vic).await;
    assert!(page.contains("slow checkout") && !page.contains("Work it"), "{page}");
    let refused = press(&vic, "forged", &[("action", "ack")]).await;
    assert_eq!(refused.status(), 303);
    assert!(refused.headers()["location"].to_str().unwrap().contains("error="));

    // A responder acknowledges, notes, moves it on and resolves it, each from the page.
    let ada = support::session(&daemon.url, "ada").await;
    let page = page_of(&ada).await;
    assert!(page.contains("Work it") && page.contains(">Acknowledge</button>"), "{page}");
    let csrf = csrf_of(&page).unwrap();
    for fields in [
        vec![("action", "ack")],
        vec![("action", "note"), ("text", "the payment provider is slow")],
        vec![("action", "status"), ("status", "identified"), ("text", "provider incident")],
        vec![("action", "resolve"), ("text", "provider recovered")],
    ] {
        let answer = press(&ada, &csrf, &fields).await;
        assert_eq!(answer.status(), 303);
        assert_eq!(answer.headers()["location"], format!("/incidents/{id}").as_str(), "{fields:?} was refused");
    }
    let shown = upkeep_json(&config, &["incident", "show", &id.to_string(), "--json"]);
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["acknowledged_by"], "ada");
    let texts: Vec<&str> = shown["timeline"].as_array().unwrap().iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"the payment provider is slow"), "{texts:?}");
    assert!(texts.contains(&"status identified: provider incident"), "{texts:?}");
    assert!(texts.contains(&"resolved by ada: provider recovered"), "{texts:?}");
    assert!(!page_of(&ada).await.contains("Work it"), "a resolved incident has no forms");
}

#[test]
fn the_cli_works_an_incident_through_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let opened = upkeep_json(
        &config,
        &[
            "incident",
            "open",
            "--severity",
            "P1",
            "--title",
            "records exported",
            "--type",
            "data-breach",
            "--component",
            "API",
            "--json",
        ],
    );
    let id = opened["id"].as_i64().unwrap().to_string();
    let targets: Vec<&str> =
        opened["targets"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(targets, ["respond", "resolve", "regulator"], "a data breach carries the regulator's deadline");
    let run = |args: &[&str]| upkeep_json(&config, &[&["incident"], args, &["--by", "ana", "--json"]].concat());
    assert_eq!(run(&["ack", &id])["acknowledged_by"], "ana");
    run(&["note", &id, "access revoked"]);
    assert_eq!(run(&["status", &id, "identified", "--text", "a leaked token"])["status"], "identified");
    assert_eq!(run(&["commander", &id, "ana"])["commander"], "ana");
    let met = run(&["met", &id, "regulator"]);
    assert!(
        met["targets"].as_array().unwrap().iter().any(|t| t["name"] == "regulator" && !t["met"].is_null()),
        "{met}"
    );
    assert_eq!(run(&["resolve", &id, "--text", "token rotated"])["status"], "resolved");
    // A resolved incident takes no more changes: exit 1 and why.
    let refused = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["incident", "ack", &id])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the incident is resolved"));
    let texts: Vec<String> = upkeep_json(&config, &["incident", "show", &id, "--json"])["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", e["author"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    for want in [
        "ana: access revoked",
        "ana: status identified: a leaked token",
        "ana: ana is the incident commander",
        "ana: resolved by ana: token rotated",
    ] {
        assert!(texts.iter().any(|t| t == want), "no `{want}` in {texts:?}");
    }
}
