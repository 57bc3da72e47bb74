//! Notifications end to end, on the real binary: ten alerts firing together arrive as one signed
//! webhook message and resolve in one; a receiver that is down, then `kill -9` of Upkeep, then
//! the receiver up: every notification arrives, one per idempotency key; a permanent 400 is
//! failed with its answer; `upkeep alert test` reports delivery; the alerts page's test button
//! works for an admin and not for a viewer; the real Alertmanager shows the alert and its
//! resolve. Rows 000-50, 000-55/56/57, 004-37/38.

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use support::{Daemon, Received, app, eventually, receiver, receiver_on, write_config};

fn bodies(got: &Mutex<Vec<Received>>) -> Vec<serde_json::Value> {
    got.lock().unwrap().iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect()
}

/// `n` checks of one app, each failing on its first 503, and a webhook route for their down alerts.
fn config(app: &str, n: usize, channels: &str, route: &str) -> String {
    let mut text = String::from("[defaults]\nalert_after = 1\nrecover_after = 1\n\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[check]]\nname = \"web-{i}\"\nkind = \"http\"\nurl = \"http://{app}/health\"\nevery = \"1s\"\ntimeout = \"1s\"\n\n"
        ));
    }
    text.push_str(&format!("{route}\n{channels}"));
    text
}

fn cli(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(config).args(args).output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn ten_alerts_firing_together_arrive_as_one_signed_message_and_resolve() {
    let app = app();
    let (hook, got) = receiver(200);
    let dir = tempfile::tempdir().unwrap();
    let channels = format!(
        "[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{hook}/upkeep\"\nsecret = \"s3cret\"\n"
    );
    let route =
        "[[route]]\nalertname = \"check_down\"\nchannels = [\"hook\"]\ngroup_wait = \"3s\"\ngroup_interval = \"3s\"\n";
    let config = write_config(dir.path(), &config(&app.addr, 10, &channels, route));
    let daemon = Daemon::start(&config);
    app.healthy.store(false, Ordering::SeqCst);

    eventually("one firing message", async || (!got.lock().unwrap().is_empty()).then_some(())).await;
    let first = bodies(&got).remove(0);
    assert_eq!(first["status"], "firing");
    assert_eq!(
        first["alerts"].as_array().unwrap().len(),
        10,
        "ten alerts that fired within group_wait, one message: {first}"
    );
    assert_eq!(first["group_labels"]["alertname"], "check_down");
    let r = got.lock().unwrap()[0].clone();
    assert_eq!(r.path, "/upkeep");
    assert_eq!(r.headers["idempotency-key"], first["key"].as_str().unwrap());
    {
        use hmac::{KeyInit, Mac};
        let ts = &r.headers["x-upkeep-timestamp"];
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(format!("{ts}.{}", r.body).as_bytes());
        assert_eq!(r.headers["x-upkeep-signature"], format!("v1={}", hex::encode(mac.finalize().into_bytes())));
    }
    assert!(first["alerts"][0]["link"].as_str().unwrap().starts_with(&format!("{}/alerts?alert=", daemon.url)));

    app.healthy.store(true, Ordering::SeqCst);
    let resolved = eventually("every alert reported resolved", async || {
        let all = bodies(&got);
        let n: usize = all
            .iter()
            .flat_map(|b| b["alerts"].as_array().unwrap().clone())
            .filter(|a| a["status"] == "resolved")
            .count();
        (n >= 10).then_some(all)
    })
    .await;
    let keys: Vec<&str> = resolved.iter().map(|b| b["key"].as_str().unwrap()).collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(keys.len(), unique.len(), "one delivery per key: {keys:?}");
    assert_eq!(resolved.last().unwrap()["status"], "resolved");

    let list = daemon.json("/api/v1/notifications").await;
    let rows = list["notifications"].as_array().unwrap();
    assert!(rows.iter().all(|n| n["state"] == "delivered" && n["attempts"] == 1), "{list}");
    let metrics = daemon.get("/metrics").await.1;
    assert!(
        metrics.contains(&format!("upkeep_notifications_sent_total{{channel=\"hook\"}} {}", rows.len())),
        "{metrics}"
    );
    assert!(metrics.contains("upkeep_notifications_pending 0"), "{metrics}");
}

#[tokio::test]
async fn a_receiver_down_then_kill_9_then_up_gets_every_notification_once() {
    let app = app();
    // The receiver's port is taken but nobody answers yet.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = listener.local_addr().unwrap().to_string();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let channels = format!("[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{hook}/upkeep\"\n");
    let route = "[[route]]\nchannels = [\"hook\"]\ngroup_wait = \"0s\"\ngroup_by = [\"...\"]\n";
    let config = write_config(dir.path(), &config(&app.addr, 3, &channels, route));
    let daemon = Daemon::start(&config);
    app.healthy.store(false, Ordering::SeqCst);
    // One attempt fails; the others wait with it rather than each trying the dead receiver.
    eventually("three notifications pending, the channel tried", async || {
        let list = daemon.json("/api/v1/notifications?state=pending").await;
        let rows = list["notifications"].as_array().unwrap().clone();
        (rows.len() == 3 && rows.iter().any(|n| n["attempts"].as_u64() >= Some(1))).then_some(())
    })
    .await;
    let (code, failing) = cli(&config, &["notifications", "list", "--pending"]);
    assert_eq!(code, Some(0), "{failing}");
    assert!(failing.contains("pending") && failing.contains("connect"), "{failing}");
    let page = daemon.get("/alerts").await.1;
    assert!(page.contains("Notifications are not getting out"), "the dashboard shows the failing channel");

    drop(daemon); // kill -9
    let got = receiver_on(TcpListener::bind(&hook).unwrap(), 200);
    let daemon = Daemon::start(&config);
    eventually("all three delivered", async || {
        let list = daemon.json("/api/v1/notifications?state=delivered").await;
        (list["notifications"].as_array().unwrap().len() == 3).then_some(())
    })
    .await;
    let keys: Vec<String> = bodies(&got).iter().map(|b| b["key"].as_str().unwrap().to_string()).collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(keys.len(), 3, "nothing lost, nothing twice: {keys:?}");
    assert_eq!(unique.len(), 3, "{keys:?}");
    let pending = daemon.json("/api/v1/notifications?state=pending").await;
    assert!(pending["notifications"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_fails_with_the_answer_and_alert_test_reports_delivery() {
    let app = app();
    let (bad, _) = receiver(400);
    let (good, got) = receiver(200);
    let dir = tempfile::tempdir().unwrap();
    let channels = format!(
        "[[channel]]\nname = \"bad\"\nkind = \"slack\"\nurl = \"http://{bad}/services/x\"\n\n\
         [[channel]]\nname = \"good\"\nkind = \"webhook\"\nurl = \"http://{good}/hook\"\n"
    );
    let config = write_config(
        dir.path(),
        &config(&app.addr, 1, &channels, "[notifications]\nchannels = [\"bad\"]\ngroup_wait = \"0s\"\n"),
    );
    let daemon = Daemon::start(&config);
    app.healthy.store(false, Ordering::SeqCst);
    let failed = eventually("the notification failed", async || {
        let list = daemon.json("/api/v1/notifications?state=failed").await;
        list["notifications"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(failed["attempts"], 1, "a 400 is not retried");
    assert_eq!(failed["last_error"], "HTTP 400: no such team");
    let (code, listed) = cli(&config, &["notifications", "list", "--failed"]);
    assert_eq!(code, Some(1), "exit 1 while a notification failed: {listed}");
    assert!(listed.contains("HTTP 400: no such team"), "{listed}");
    let channels = daemon.json("/api/v1/channels").await;
    let bad_state = channels.as_array().unwrap().iter().find(|c| c["name"] == "bad").unwrap().clone();
    assert_eq!(bad_state["failing"], true);
    assert_eq!(bad_state["target"], "http://127.0.0.1", "no path: a webhook URL's path is its secret");
    let metrics = daemon.get("/metrics").await.1;
    assert!(metrics.contains("upkeep_notifications_failed_total{channel=\"bad\"} 1"), "{metrics}");

    // `upkeep alert test`, while the daemon runs: delivered once, and recorded.
    let (code, said) = cli(&config, &["alert", "test", "good"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("delivered to `good` at "), "{said}");
    let (code, said) = cli(&config, &["alert", "test", "bad"]);
    assert_eq!(code, Some(1));
    assert!(said.contains("refused by `bad`: HTTP 400: no such team"), "{said}");
    let (code, said) = cli(&config, &["alert", "test", "godo"]);
    assert_eq!(code, Some(2));
    assert!(said.contains("did you mean `good`?"), "{said}");
    eventually("the daemon leaves the test alone", async || {
        let list = daemon.json("/api/v1/notifications?channel=good").await;
        let rows = list["notifications"].as_array().unwrap().clone();
        (rows.len() == 1 && rows[0]["state"] == "delivered").then_some(())
    })
    .await;
    assert_eq!(got.lock().unwrap().len(), 1, "the test was sent once");
    let test = bodies(&got).remove(0);
    assert_eq!(test["test"], true);
    // The API's test button needs an admin: with no users or tokens, nobody may.
    let client = reqwest::Client::new();
    let answer = client.post(format!("{}/api/v1/channels/good/test", daemon.url)).send().await.unwrap();
    assert_eq!(answer.status(), 403);
}

#[tokio::test]
async fn the_real_alertmanager_shows_the_alert_and_its_resolve() {
    let Some(binary) = ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        if std::env::var("UPKEEP_TEST_SERVICES").as_deref() == Ok("required") {
            panic!("prometheus-alertmanager is not installed");
        }
        eprintln!("skipped: prometheus-alertmanager is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("am.yml"), "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        .unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _am = Kill(
        Command::new(binary)
            .arg(format!("--config.file={}", dir.path().join("am.yml").display()))
            .arg(format!("--storage.path={}", dir.path().join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let am_alerts = async || -> Option<serde_json::Value> {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/api/v2/alerts?active=true&silenced=true&inhibited=true"))
            .await
            .ok()?;
        r.json().await.ok()
    };
    eventually("Alertmanager answers", async || am_alerts().await).await;

    let app = app();
    let channels = format!("[[channel]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:{port}\"\n");
    let config = write_config(
        dir.path(),
        &config(
            &app.addr,
            1,
            &channels,
            "[notifications]\nchannels = [\"am\"]\ngroup_wait = \"0s\"\ngroup_interval = \"1s\"\n",
        ),
    );
    let _daemon = Daemon::start(&config);
    app.healthy.store(false, Ordering::SeqCst);
    let shown = eventually("the alert is active in Alertmanager", async || {
        let alerts = am_alerts().await?;
        alerts.as_array()?.iter().find(|a| a["labels"]["alertname"] == "check_down").cloned()
    })
    .await;
    assert_eq!(shown["labels"]["check"], "web-0");
    assert_eq!(shown["status"]["state"], "active");
    assert!(shown["generatorURL"].as_str().unwrap().contains("/alerts?alert="));
    app.healthy.store(true, Ordering::SeqCst);
    eventually("the alert resolves in Alertmanager", async || {
        let alerts = am_alerts().await?;
        let active = alerts.as_array()?.iter().any(|a| a["labels"]["alertname"] == "check_down");
        (!active).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_alerts_pages_test_button_sends_for_an_admin_and_not_for_a_viewer() {
    let (hook, got) = receiver(200);
    let dir = tempfile::tempdir().unwrap();
    let (hash, _) = support::upkeep(&["user", "hash-password"], "correct horse battery\n");
    let config = write_config(
        dir.path(),
        &format!(
            "[[user]]\nname = \"ada\"\npassword_hash = '{hash}'\nrole = \"admin\"\n\n\
             [[user]]\nname = \"vic\"\npassword_hash = '{hash}'\nrole = \"viewer\"\n\n\
             [[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\n"
        ),
    );
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (user, admin) in [("vic", false), ("ada", true)] {
        let cookie = support::session(&daemon.url, user).await;
        let page = client
            .get(format!("{}/alerts", daemon.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(page.contains("action=\"/alerts/channels/hook/test\""), admin, "{user} sees the button: {admin}");
        let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let pressed = client
            .post(format!("{}/alerts/channels/hook/test", daemon.url))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(pressed.status(), 303, "back to the alerts page");
    }
    eventually("the admin's test notification", async || (got.lock().unwrap().len() == 1).then_some(())).await;
    assert_eq!(bodies(&got)[0]["test"], true);
    let (listed, _) = support::upkeep(&["-c", config.to_str().unwrap(), "notifications", "list", "--json"], "");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "the viewer's press queued nothing: {listed}");
}
