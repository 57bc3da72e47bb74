//! `upkeep serve` as it runs in production: the real binary on a random port, real HTTP to it,
//! real signals (SIGHUP, SIGTERM, SIGKILL), and a real app it watches.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use support::{Daemon, app, eventually, http_check, write_config};

#[tokio::test]
async fn health_follows_the_watched_app_and_non_critical_checks_only_degrade() {
    let (api, admin) = (app(), app());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &(http_check("api", &api.addr, "") + &http_check("admin", &admin.addr, "critical = false")),
    );
    let daemon = Daemon::start(&config);
    eventually("both checks healthy", async || {
        let (status, body) = daemon.get("/health").await;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        (status == 200 && json["status"] == "healthy" && json["checks"].as_object()?.len() == 2).then_some(())
    })
    .await;

    admin.healthy.store(false, Ordering::SeqCst);
    let degraded = eventually("degraded", async || {
        let (status, body) = daemon.get("/health").await;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        (json["status"] == "degraded").then_some((status, json))
    })
    .await;
    assert_eq!(degraded.0, 200);
    assert_eq!(degraded.1["checks"]["admin"]["status"], "error");
    assert_eq!(degraded.1["checks"]["admin"]["message"], "expected status >= 200 and status < 300, got 503");

    api.healthy.store(false, Ordering::SeqCst);
    let status = eventually("unhealthy", async || {
        let (status, body) = daemon.get("/health").await;
        body.contains("\"unhealthy\"").then_some(status)
    })
    .await;
    assert_eq!(status, 503);
    assert_eq!(daemon.get("/up").await, (200, "ok".to_string()));
}

#[tokio::test]
async fn heartbeats_are_pinged_over_http_and_judged() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[[check]]\nname = \"queue-worker\"\nkind = \"heartbeat\"\nid = \"worker-7f3a\"\nevery = \"1s\"\ngrace = \"1s\"\n",
    );
    let daemon = Daemon::start(&config);
    // Not pinged yet, but not late either: the daemon only just began watching.
    let first = eventually("a first judgement", async || {
        let checks = daemon.json("/api/v1/checks").await;
        (checks[0]["status"] != "pending").then(|| checks[0].clone())
    })
    .await;
    assert_eq!((first["status"].as_str(), first["message"].as_str()), (Some("ok"), None), "{first}");
    // Then, with no ping within every + grace, late.
    let late = eventually("the heartbeat to go late", async || {
        let checks = daemon.json("/api/v1/checks").await;
        (checks[0]["status"] == "error").then(|| checks[0]["message"].as_str().unwrap_or_default().to_string())
    })
    .await;
    assert!(late.starts_with("no ping received yet; watching since"), "{late}");

    let client = reqwest::Client::new();
    let ping = client.post(format!("{}/ping/worker-7f3a", daemon.url)).body("processed 12 jobs").send().await.unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(daemon.get("/ping/no-such-id").await.0, 404);
    // A ping turns it green again (the only way out of "late").
    eventually("the heartbeat to pass", async || {
        (daemon.json("/api/v1/checks").await[0]["status"] == "ok").then_some(())
    })
    .await;

    assert_eq!(daemon.get("/ping/worker-7f3a/fail").await.0, 200);
    eventually("the failure to show", async || {
        let checks = daemon.json("/api/v1/checks").await;
        checks[0]["message"].as_str().filter(|m| m.contains("reported a failure")).map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn the_api_serves_checks_results_and_its_openapi_document() {
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &http_check("api", &api.addr, "component = \"API\""));
    let mut daemon = Daemon::start(&config);
    // A few passing runs, then failing ones.
    eventually("three passing runs", async || {
        let json = daemon.json("/api/v1/checks/api/results").await;
        (json["results"].as_array()?.len() >= 3).then_some(())
    })
    .await;
    api.healthy.store(false, Ordering::SeqCst);
    eventually("two failing runs", async || {
        let json = daemon.json("/api/v1/checks/api/results").await;
        let failing = json["results"].as_array()?.iter().filter(|r| r["status"] == "error").count();
        (failing >= 2).then_some(())
    })
    .await;
    // Stop, and come back with the check hourly: after its one run at start, history stands
    // still, so the windows can be compared with the raw results exactly.
    daemon.signal(rustix::process::Signal::TERM);
    daemon.child.wait().unwrap();
    drop(daemon);
    api.healthy.store(true, Ordering::SeqCst);
    let hourly = std::fs::read_to_string(&config).unwrap().replace("every = \"1s\"", "every = \"1h\"");
    std::fs::write(&config, hourly).unwrap();
    let daemon = Daemon::start(&config);
    let (results, detail) = eventually("the windows to count every stored run", async || {
        let results = daemon.json("/api/v1/checks/api/results?from=2000-01-01T00:00:00Z").await;
        let results = results["results"].as_array()?.clone();
        let detail = daemon.json("/api/v1/checks/api").await;
        (detail["last_run"] != serde_json::Value::Null && detail["windows"]["24h"]["runs"] == results.len())
            .then_some((results, detail))
    })
    .await;
    let ok = results.iter().filter(|r| r["status"] == "ok").count();
    assert!(ok >= 3 && results.len() - ok >= 2, "{results:?}");
    for window in ["24h", "7d", "30d"] {
        let w = &detail["windows"][window];
        assert_eq!(w["runs"], results.len(), "{window}");
        assert_eq!(w["availability"].as_f64(), Some(ok as f64 / results.len() as f64), "{window}");
        let (p95, p99) = (w["p95_ms"].as_f64().unwrap(), w["p99_ms"].as_f64().unwrap());
        let slowest = results.iter().map(|r| r["latency_ms"].as_f64().unwrap()).fold(0.0, f64::max);
        assert!(
            0.0 < p95 && p95 <= p99 && p99 <= slowest * 2.5 + 0.5,
            "{window}: p95 {p95}, p99 {p99}, slowest {slowest}"
        );
    }
    // Newest first, and `limit` takes the newest.
    let times: Vec<&str> = results.iter().map(|r| r["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] > pair[1]), "{times:?}");
    let two = daemon.json("/api/v1/checks/api/results?from=2000-01-01T00:00:00Z&limit=2").await;
    assert_eq!(two["results"].as_array().unwrap()[..], results[..2]);
    assert_eq!(two["next_to"], results[1]["at"]);
    assert_eq!(detail["component"], "API");
    assert_eq!(detail["expect"], serde_json::json!(["status >= 200 and status < 300"]));

    let spec = daemon.json("/api/v1/openapi.json").await;
    assert_eq!(spec["openapi"], "3.1.0");
    for path in ["/health", "/api/v1/checks", "/api/v1/checks/{name}", "/api/v1/checks/{name}/results", "/ping/{id}"] {
        assert!(spec["paths"].get(path).is_some(), "{path} is not documented");
    }
    // A client generated from the document knows the API wants a bearer token or a session.
    assert_eq!(spec["components"]["securitySchemes"]["token"]["scheme"], "bearer");
    assert_eq!(
        spec["paths"]["/api/v1/checks/{name}"]["get"]["security"],
        serde_json::json!([{"token": []}, {"session": []}])
    );
    assert!(spec["paths"]["/health"]["get"].get("security").is_none());
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[[check]]\nname = \"hb\"\nkind = \"heartbeat\"\nevery = \"1h\"\n");
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::new();
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (client.get(format!("{}/api/v1/checks/nope", daemon.url)), 404),
        (client.get(format!("{}/api/v1/checks/hb/results?from=yesterday", daemon.url)), 400),
        (
            client.get(format!(
                "{}/api/v1/checks/hb/results?from=2026-11-25T10:00:00Z&to=2026-11-24T10:00:00Z",
                daemon.url
            )),
            400,
        ),
        (client.get(format!("{}/api/v1/checks/hb/results?limit=-1", daemon.url)), 400),
        (client.post(format!("{}/ping/hb", daemon.url)).body(vec![0xff, 0xfe, 0xfd]), 400),
        (client.get(format!("{}/checks/%2e%2e%2fetc%2fpasswd", daemon.url)), 404),
        (client.get(format!("{}/no/such/route", daemon.url)), 404),
        (client.delete(format!("{}/health", daemon.url)), 405),
    ];
    for (request, expected) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{}", response.url());
    }
    // An oversized body is refused once 64 KiB of it have arrived; the rest is never read.
    let address = daemon.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(stream, "POST /ping/hb HTTP/1.1\r\nhost: {address}\r\ncontent-length: 1048576\r\n\r\n").unwrap();
    stream.write_all(&[b'x'; 96 * 1024]).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut status_line = [0u8; 12];
    std::io::Read::read_exact(&mut stream, &mut status_line).unwrap();
    assert_eq!(&status_line, b"HTTP/1.1 413");
    assert_eq!(daemon.get("/up").await.0, 200, "still serving after all that");
}

#[tokio::test]
async fn metrics_are_prometheus_text_that_promtool_accepts() {
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &http_check("api", &api.addr, ""));
    let daemon = Daemon::start(&config);
    let text = eventually("the first run in metrics", async || {
        let (_, text) = daemon.get("/metrics").await;
        text.contains("upkeep_check_up{check=\"api\"} 1").then_some(text)
    })
    .await;
    assert!(text.contains("# TYPE upkeep_check_duration_seconds histogram"));
    assert!(
        text.contains("upkeep_check_duration_seconds_bucket{le=\"+Inf\",check=\"api\"}")
            || text.contains("upkeep_check_duration_seconds_bucket{check=\"api\",le=\"+Inf\"}")
    );
    let Ok(mut promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        if std::env::var("UPKEEP_TEST_SERVICES").as_deref() == Ok("required") {
            panic!("promtool (Debian package prometheus) is not installed, and UPKEEP_TEST_SERVICES=required");
        }
        eprintln!("skipped the promtool part: promtool is not installed (Debian package prometheus)");
        return;
    };
    promtool.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn sighup_reloads_and_a_bad_config_keeps_the_old_one_running() {
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &http_check("api", &api.addr, ""));
    let mut daemon = Daemon::start(&config);
    write_config(dir.path(), &(http_check("api", &api.addr, "") + &http_check("admin", &api.addr, "")));
    daemon.signal(rustix::process::Signal::HUP);
    daemon.wait_for_log("reloaded");
    let names = daemon.json("/api/v1/checks").await;
    assert_eq!(names.as_array().unwrap().len(), 2);

    std::fs::write(&config, "[[check]]\nname = \"api\"\nkind = \"htp\"\n").unwrap();
    daemon.signal(rustix::process::Signal::HUP);
    daemon.wait_for_log("not reloading; the old config keeps running");
    assert_eq!(daemon.json("/api/v1/checks").await.as_array().unwrap().len(), 2);
    assert_eq!(daemon.get("/up").await.0, 200);
}

#[tokio::test]
async fn sigterm_lets_the_running_check_finish_and_stores_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let config = write_config(
        dir.path(),
        &format!(
            "[[check]]\nname = \"slow\"\nkind = \"command\"\ncommand = \"touch {} && sleep 1 && echo finished\"\nevery = \"1h\"\ntimeout = \"5s\"\n",
            started.display()
        ),
    );
    let mut daemon = Daemon::start(&config);
    eventually("the check to start its run", async || started.exists().then_some(())).await;
    daemon.signal(rustix::process::Signal::TERM);
    daemon.wait_for_log("stopped");
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // The run that was in flight at SIGTERM finished and reached the store before the exit.
    let store = upkeep_store::Store::open(&dir.path().join("data")).await.unwrap();
    let results = store.results("slow", jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::now(), 10).await.unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].is_ok(), "{:?}", results[0].message);
    assert!(results[0].latency >= std::time::Duration::from_secs(1), "{:?}", results[0].latency);
}

#[tokio::test]
async fn history_survives_kill_9_during_heavy_ingest() {
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    // An http check to read back through the API, and 500 file checks a second of ingest.
    let mut checks = http_check("c0", &api.addr, "");
    for i in 0..500 {
        checks += &format!("[[check]]\nname = \"f{i}\"\nkind = \"file\"\npath = \"/\"\nevery = \"1s\"\n\n");
    }
    let config = write_config(dir.path(), &checks);
    let daemon = Daemon::start(&config);
    // Results the API returns, and those the writer counts, are committed to the store.
    let before = eventually("stored results", async || {
        let json = daemon.json("/api/v1/checks/c0/results").await;
        let runs = json["results"].as_array()?.clone();
        (runs.len() >= 3).then_some(runs)
    })
    .await;
    let written = eventually("heavy ingest", async || {
        let (_, metrics) = daemon.get("/metrics").await;
        let line = metrics.lines().find(|l| l.starts_with("upkeep_store_results_written_total "))?;
        let written: u64 = line.rsplit(' ').next()?.parse().ok()?;
        (written >= 1500).then_some(written)
    })
    .await;
    daemon.signal(rustix::process::Signal::KILL);
    drop(daemon);

    let store = upkeep_store::Store::open(&dir.path().join("data")).await.unwrap();
    let mut stored = 0;
    for i in 0..500 {
        let check = format!("f{i}");
        stored +=
            store.results(&check, jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::now(), 100_000).await.unwrap().len();
    }
    stored += store.results("c0", jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::now(), 100_000).await.unwrap().len();
    assert!(stored as u64 >= written, "{stored} results in the store, {written} were committed before kill -9");
    drop(store);

    let daemon = Daemon::start(&config);
    let after = daemon.json("/api/v1/checks/c0/results").await;
    let after = after["results"].as_array().unwrap();
    for run in &before {
        assert!(after.contains(run), "lost {run} after kill -9");
    }
    // The live state was rebuilt from the store: the check is known before its next run.
    let checks = daemon.json("/api/v1/checks").await;
    assert!(checks.as_array().unwrap().iter().all(|c| c["status"] != "pending"), "{checks}");
}

#[tokio::test]
async fn a_hanging_check_does_not_stall_the_others() {
    // A server that accepts and never answers, watched by a check with a short timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(1000) {
            held.push(stream);
        }
    });
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    // concurrency 1: the hung probe holds the only slot until its timeout, then lets go.
    let config = dir.path().join("upkeep.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"data\"\nconcurrency = 1\n\n{}{}",
            http_check("hung", &silent_addr, ""),
            http_check("api", &api.addr, "")
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config);
    let runs = eventually("three runs of the healthy check", async || {
        let json = daemon.json("/api/v1/checks/api/results").await;
        let runs = json["results"].as_array()?.len();
        (runs >= 3).then_some(runs)
    })
    .await;
    assert!(runs >= 3);
    let hung = daemon.json("/api/v1/checks/hung").await;
    assert_eq!(hung["status"], "error");
    assert_eq!(hung["message"], format!("no answer from http://{silent_addr}/health within 1s (timeout)"));
}

/// `serve` refuses to start, with exit code 2 and a message, on a bad config, a store it cannot
/// open and an address it cannot bind.
#[test]
fn serve_exits_2_when_it_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &std::path::Path, listen: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
            .arg("-c")
            .arg(config)
            .args(["serve", "--listen", listen])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[check]]\nname = \"api\"\nkind = \"htp\"\n").unwrap();
    let (code, stderr) = run(&bad, "127.0.0.1:0");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:3:8: unknown check kind `htp`"), "{stderr}");

    // The data directory is a file: the store cannot be opened there.
    std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
    let unopenable = dir.path().join("store.toml");
    std::fs::write(&unopenable, "[server]\ndata_dir = \"not-a-dir\"\n").unwrap();
    let (code, stderr) = run(&unopenable, "127.0.0.1:0");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot open the store"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let good = write_config(dir.path(), "");
    let (code, stderr) = run(&good, &taken.local_addr().unwrap().to_string());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on {}", taken.local_addr().unwrap())), "{stderr}");
}

/// SIGHUP reloads who may come in (users, tokens, `metrics`) and how many probes run at once.
#[tokio::test]
async fn sighup_reloads_access_and_concurrency() {
    let token = |name: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_upkeep")).args(["token", "new", "--name", name]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let sha = stderr.split("sha256 = \"").nth(1).unwrap().split('"').next().unwrap().to_string();
        (String::from_utf8(out.stdout).unwrap().trim().to_string(), sha)
    };
    let ((old, old_sha), (new, new_sha)) = (token("old"), token("new"));
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    // Two slow checks that note whether the other is running while they run.
    let slow = |name: &str, other: &str| {
        format!(
            "[[check]]\nname = \"{name}\"\nkind = \"command\"\nevery = \"1s\"\ntimeout = \"900ms\"\n\
             command = 'cd {m} && touch {name}.running && (test -e {other}.running && touch overlapped; true) && sleep 0.3 && rm {name}.running && echo x >> {name}.runs'\n\n",
            m = marks.display()
        )
    };
    let checks = slow("a", "b") + &slow("b", "a");
    let write = |concurrency: usize, sha: &str, metrics: &str| {
        let text = format!(
            "[server]\ndata_dir = \"data\"\nconcurrency = {concurrency}\nmetrics = \"{metrics}\"\n\n\
             [[token]]\nname = \"t\"\nsha256 = \"{sha}\"\n\n{checks}"
        );
        std::fs::write(dir.path().join("upkeep.toml"), text).unwrap();
    };
    write(1, &old_sha, "public");
    let mut daemon = Daemon::start(&dir.path().join("upkeep.toml"));
    let client = reqwest::Client::new();
    let url = daemon.url.clone();
    let status = async |path: &str, token: Option<&str>| {
        let mut request = client.get(format!("{url}{path}"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send().await.unwrap().status().as_u16()
    };
    let runs =
        |name: &str| std::fs::read_to_string(marks.join(format!("{name}.runs"))).map_or(0, |t| t.lines().count());
    eventually("three runs of each", async || (runs("a") >= 3 && runs("b") >= 3).then_some(())).await;
    assert!(!marks.join("overlapped").exists(), "with concurrency 1 two probes ran at once");
    assert_eq!(status("/api/v1/checks", Some(&old)).await, 200);
    assert_eq!(status("/metrics", None).await, 200);

    write(2, &new_sha, "token");
    daemon.signal(rustix::process::Signal::HUP);
    daemon.wait_for_log("reloaded");
    assert_eq!(status("/api/v1/checks", Some(&old)).await, 401);
    assert_eq!(status("/api/v1/checks", Some(&new)).await, 200);
    assert_eq!(status("/metrics", None).await, 401);
    assert_eq!(status("/metrics", Some(&new)).await, 200);
    eventually("the two checks to overlap", async || marks.join("overlapped").exists().then_some(())).await;
}
