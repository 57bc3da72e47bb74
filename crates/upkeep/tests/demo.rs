//! `upkeep demo`, the README's first command: the sample shop comes up with Upkeep watching it,
//! everything is healthy, breaking the shop shows in `/health` and delivers a grouped firing
//! notification to the shop's webhook (printed by the demo), fixing it heals and delivers the
//! resolve, and the printed login works.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::eventually;

struct Demo {
    child: Child,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value after `label` on the first banner line that has it, waiting up to 60 s.
fn banner_value(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, label: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(line) = seen.iter().find(|l| l.trim_start().starts_with(label)) {
            return line.trim_start()[label.len()..].trim().to_string();
        }
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("the demo never printed {label:?}; it printed {seen:#?}"),
        }
    }
}

/// The first line printed that `wanted` accepts, waiting up to 60 s.
fn line_with(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(line) = seen.iter().find(|l| wanted(l)) {
            return line.clone();
        }
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("the demo never printed {what}; it printed {seen:#?}"),
        }
    }
}

async fn health(client: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_demo_watches_its_shop_break_and_heal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .args(["demo", "--port", "0", "--dir"])
        .arg(dir.path().join("demo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _demo = Demo { child };
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let dashboard = banner_value(&lines, &mut seen, "Dashboard:");
    let base = dashboard.trim_end_matches('/').to_string();
    let login = banner_value(&lines, &mut seen, "Login:");
    let password = login.split('`').nth(3).unwrap().to_string();
    let shop = banner_value(&lines, &mut seen, "Sample app:");
    let shop = shop.split_whitespace().next().unwrap().trim_end_matches('/').to_string();
    let client = reqwest::Client::new();

    // Every check of the demo passes once each has run (the heartbeat too, before its first ping).
    let configured = std::fs::read_to_string(dir.path().join("demo/upkeep.toml")).unwrap().matches("[[check]]").count();
    eventually("every check of the demo to pass", async || {
        let (status, body) = health(&client, &base).await;
        let checks = body["checks"].as_object().cloned().unwrap_or_default();
        let passing = checks.values().filter(|c| c["status"] == "ok").count();
        (status == 200 && body["status"] == "healthy" && passing == configured).then_some(())
    })
    .await;

    client.get(format!("{shop}/break")).send().await.unwrap();
    let broken = eventually("the broken shop to show", async || {
        let (status, body) = health(&client, &base).await;
        (status == 503 && body["checks"]["shop"]["status"] == "error").then_some(body)
    })
    .await;
    assert!(broken["checks"]["shop"]["message"].as_str().is_some(), "{broken}");
    // Three failed runs later (5 s apart), and the group's 5 s wait, the webhook prints one
    // notification listing every check that went down together.
    let firing = banner_value(&lines, &mut seen, "[webhook] notification firing:");
    assert!(firing.contains("check_down") && firing.contains("shop"), "{firing}");
    // The shop down is critical: a P1 incident pages whoever is on call in the demo's schedule,
    // with a link that acknowledges it in one click.
    let page = line_with(&lines, &mut seen, "the on-call person's page", |l| {
        l.contains("[pager → ") && l.contains("P1 incident #1")
    });
    assert!(page.contains("→ alex]") || page.contains("→ sam]"), "{page}");
    let link = line_with(&lines, &mut seen, "the page's acknowledge link", |l| l.contains("acknowledge: http"));
    let link = link.split("acknowledge: ").nth(1).unwrap().trim().to_string();
    assert!(link.starts_with(&format!("{base}/ack/")), "the link points at this demo: {link} vs {base}");
    let shown = client.get(&link).send().await.unwrap();
    assert_eq!(shown.status().as_u16(), 200);
    let acked = client.post(&link).send().await.unwrap();
    assert_eq!(acked.status().as_u16(), 200);
    assert!(acked.text().await.unwrap().contains("escalation has stopped"));

    client.get(format!("{shop}/fix")).send().await.unwrap();
    eventually("the shop to heal", async || {
        let (_, body) = health(&client, &base).await;
        (body["checks"]["shop"]["status"] == "ok").then_some(())
    })
    .await;
    // The shop's alert arrives resolved (the group may still hold others that heal later).
    line_with(&lines, &mut seen, "the shop's resolve at the webhook", |l| {
        l.contains("[webhook] notification") && l.contains("resolved check_down") && l.contains("shop")
    });

    // The printed login signs in.
    let form = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = form.text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = no_redirects
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[("user", "demo"), ("password", password.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);

    // The nightly backup and its weekly drill come configured, and the demo takes a first
    // backup and drills it as it starts: the backups page shows it proved good.
    let session = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = eventually("the demo's first backup, drilled", async || {
        let page =
            client.get(format!("{base}/backups")).header("cookie", &session).send().await.ok()?.text().await.ok()?;
        page.contains("badge ok\">good").then_some(page)
    })
    .await;
    assert!(page.contains("shop-db") && page.contains("<code>0 2 * * *</code>"), "{page}");
    assert!(page.contains("drill</small> <code>0 5 * * 0</code>"), "{page}");
}
