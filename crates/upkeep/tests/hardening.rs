//! What probing the daemon from outside found (issue 22), each kept out by a test against the
//! real binary: concurrent sign-ins, open redirects, idle and trickling connections, huge
//! bodies, secrets in responses and logs, and query errors.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{Daemon, eventually, token_sha, upkeep, write_config};

const PASSWORD: &str = "correct horse battery";

/// The login form's CSRF cookie and field.
async fn login_form(client: &reqwest::Client, url: &str) -> (String, String) {
    let response = client.get(format!("{url}/login")).send().await.unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("upkeep_csrf="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .unwrap();
    let html = response.text().await.unwrap();
    let field = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (cookie, field)
}

async fn sign_in(client: &reqwest::Client, url: &str, user: &str, password: &str, next: &str) -> reqwest::Response {
    let (cookie, field) = login_form(client, url).await;
    client
        .post(format!("{url}/login"))
        .header("cookie", format!("upkeep_csrf={cookie}"))
        .form(&[("user", user), ("password", password), ("csrf", &field), ("next", next)])
        .send()
        .await
        .unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn user_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let (hash, _) = upkeep(&["user", "hash-password"], &format!("{PASSWORD}\n"));
    write_config(dir, &format!("[[user]]\nname = \"alice\"\npassword_hash = '{hash}'\nrole = \"admin\"\n\n{extra}"))
}

/// Defect 1: the limiter checked, verified (19 MiB, ~50 ms of argon2) and only then counted a
/// failure, so 200 tries at once all got through and took the daemon to 4.8 GiB.
#[tokio::test]
async fn two_hundred_concurrent_sign_ins_get_five_tries_and_cost_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&user_config(dir.path(), ""));
    let client = no_redirects();
    let (cookie, field) = login_form(&client, &daemon.url).await;
    let before = daemon.rss_bytes();
    let tries = (0..200).map(|_| {
        let request = client
            .post(format!("{}/login", daemon.url))
            .header("cookie", format!("upkeep_csrf={cookie}"))
            .form(&[("user", "alice"), ("password", "guess"), ("csrf", &field)]);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses: Vec<u16> = futures_join(tries.collect()).await;
    let verified = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert!(verified <= 5, "{verified} passwords were verified: {statuses:?}");
    assert_eq!(verified + refused, 200, "{statuses:?}");
    let after = daemon.rss_bytes();
    assert!(after < before + (50 << 20), "RSS went from {} MiB to {} MiB", before >> 20, after >> 20);
    // Tries refused while every verifier was busy did not count; the ones verified did, and
    // the next ones fill the address's allowance for alice, after which even the right
    // password waits.
    for _ in verified..5 {
        assert_eq!(sign_in(&client, &daemon.url, "alice", "guess", "/").await.status(), 401);
    }
    assert_eq!(sign_in(&client, &daemon.url, "alice", PASSWORD, "/").await.status(), 429);
}

/// Runs every future concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..handles.len()).map(|_| None).collect();
    let mut pending: Vec<_> = handles.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(out) => {
                outputs[*i] = Some(out);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Defect 6: `next` is followed only to a path on this site, and control characters in it
/// give the home page instead of a 500.
#[tokio::test]
async fn sign_in_never_redirects_off_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&user_config(dir.path(), ""));
    let client = no_redirects();
    for next in ["/\t/evil.example", "//evil.example", "/\\evil.example", "/a\nb", "/a\rb", "/\u{7f}", "/checks/x"] {
        let response = sign_in(&client, &daemon.url, "alice", PASSWORD, next).await;
        assert_eq!(response.status(), 303, "{next:?}");
        let expected = if next == "/checks/x" { "/checks/x" } else { "/" };
        assert_eq!(response.headers()["location"], expected, "{next:?}");
        // Behind TLS the session cookie is Secure; it lives 12 hours.
        let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(cookie.contains("Max-Age=43200"), "{cookie}");
    }
    let (cookie, field) = login_form(&client, &daemon.url).await;
    let behind_tls = client
        .post(format!("{}/login", daemon.url))
        .header("cookie", format!("upkeep_csrf={cookie}"))
        .header("x-forwarded-proto", "https")
        .form(&[("user", "alice"), ("password", PASSWORD), ("csrf", &field)])
        .send()
        .await
        .unwrap();
    let session = behind_tls
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("upkeep_session="))
        .unwrap()
        .to_string();
    assert!(session.contains("; Secure"), "{session}");
}

/// Reads until the server closes the connection, for at most 20 s.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

/// Defect 4: idle connections, trickled headers and bodies that never finish are closed by
/// timeouts; past the connection cap, `/up`, `/health` and `/ping` still answer.
#[tokio::test]
async fn idle_and_slow_connections_are_closed_and_health_answers_past_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[[check]]\nname = \"hb\"\nkind = \"heartbeat\"\nevery = \"1h\"\n");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[server]\n", "[server]\nmax_connections = 20\nidle_timeout = \"1s\"\nrequest_timeout = \"2s\"\n");
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config);
    let address = daemon.address();

    // Connected, never a byte: closed after the idle timeout.
    let mut idle = TcpStream::connect(&address).unwrap();
    assert!(closed_by_server(&mut idle), "an idle connection stayed open");
    // Headers trickled slower than the timeout allows: closed.
    let mut slow = TcpStream::connect(&address).unwrap();
    slow.write_all(b"GET /up HTTP/1.1\r\nhost: x\r\n").unwrap();
    assert!(closed_by_server(&mut slow), "trickled headers kept the connection");
    // A body that never finishes: 408 once the request timeout passes.
    let mut stuck = TcpStream::connect(&address).unwrap();
    stuck.write_all(b"POST /ping/hb HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly ten..").unwrap();
    let mut answer = String::new();
    stuck.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = stuck.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");

    // Twenty connections fill the cap, and more arrive beyond it.
    let mut held: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(&address).unwrap()).collect();
    for stream in &mut held[..20] {
        stream.write_all(b"GET /up HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    for path in ["/up", "/health", "/ping/hb"] {
        let status = client.get(format!("{}{path}", daemon.url)).send().await.unwrap().status();
        assert!(status.is_success(), "{path}: {status}");
    }
    let api = client.get(format!("{}/api/v1/checks", daemon.url)).send().await.unwrap();
    assert_eq!(api.status(), 503, "everything else waits for room");
    assert_eq!(api.headers()["retry-after"], "1");
    drop(held);
    eventually("room again", async || {
        let status = client.get(format!("{}/api/v1/checks", daemon.url)).send().await.ok()?.status();
        (status == 200).then_some(())
    })
    .await;
}

/// Defect 4, the file-descriptor half: started with systemd's default soft limit of 1,024, the
/// daemon raises it to the hard limit, and a thousand idle sockets leave `/health` answering.
#[tokio::test]
async fn a_thousand_idle_connections_do_not_take_health_offline() {
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum.unwrap_or(u64::MAX);
    if hard < 4096 {
        panic!("this test needs a hard limit on open files of at least 4096, not {hard}");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let daemon = Daemon::start_with(&config, "127.0.0.1:0", |command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let limit = rustix::process::Rlimit { current: Some(1024), maximum: Some(u64::MAX) };
                let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
                let _ = rustix::process::setrlimit(
                    rustix::process::Resource::Nofile,
                    rustix::process::Rlimit { maximum: hard, ..limit },
                );
                Ok(())
            });
        }
    });
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.child.id())).unwrap();
    let soft: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap();
    assert_eq!(soft, hard, "{limits}");
    let held: Vec<TcpStream> = (0..1000).map(|_| TcpStream::connect(daemon.address()).unwrap()).collect();
    let client = reqwest::Client::new();
    for path in ["/up", "/health"] {
        assert_eq!(client.get(format!("{}{path}", daemon.url)).send().await.unwrap().status(), 200, "{path}");
    }
    drop(held);
}

/// Defect 3: a failing check stored the whole observed body on every run.
#[tokio::test]
async fn a_failing_check_on_a_50_mb_body_stores_a_few_kilobytes() {
    let body = vec![b'x'; 50 << 20];
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[[check]]\nname = \"big\"\nkind = \"http\"\nurl = \"http://{addr}/\"\nevery = \"2s\"\ntimeout = \"2s\"\n\
             max_body = \"64MiB\"\nexpect = 'body contains \"never-there\"'\n"
        ),
    );
    let daemon = Daemon::start(&config);
    let runs = eventually("two failing runs stored", async || {
        let json = daemon.json("/api/v1/checks/big/results?limit=10000").await;
        let runs = json["results"].as_array()?.clone();
        (runs.len() >= 2).then_some(runs)
    })
    .await;
    for run in &runs {
        assert_eq!(run["status"], "error");
        let size = run.to_string().len();
        assert!(size < 64 << 10, "a stored run takes {size} bytes");
        assert_eq!(run["observations"]["_truncated"]["body"]["bytes"].as_u64(), Some(50 << 20), "{run}");
        assert_eq!(run["observations"]["size"].as_f64(), Some((50 << 20) as f64));
    }
    let dir_size: u64 =
        std::fs::read_dir(dir.path().join("data")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(dir_size < 16 << 20, "the store takes {dir_size} bytes after {} runs", runs.len());
}

/// Defect 5: no secret planted in the config appears in a response, a page or a log line.
#[tokio::test]
async fn no_planted_secret_reaches_a_response_a_page_or_the_log() {
    let app = support::app();
    let (viewer_token, stderr) = upkeep(&["token", "new", "--name", "grafana"], "");
    let sha = token_sha(&stderr);
    let (hash, _) = upkeep(&["user", "hash-password"], &format!("{PASSWORD}\n"));
    let dir = tempfile::tempdir().unwrap();
    let checks = format!(
        "[[user]]\nname = \"val\"\npassword_hash = '{hash}'\nrole = \"viewer\"\n\n\
         [[token]]\nname = \"grafana\"\nsha256 = \"{sha}\"\nrole = \"viewer\"\n\n\
         [[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://ops:PW-IN-URL@{addr}/health?token=TOKEN-IN-QUERY&page=1\"\nevery = \"1s\"\n\n\
         [[check]]\nname = \"db\"\nkind = \"postgres\"\nurl = \"postgres://app:${{DB_PASSWORD}}@127.0.0.1:1/app\"\nevery = \"1s\"\ntimeout = \"500ms\"\n\n\
         [[check]]\nname = \"nightly\"\nkind = \"heartbeat\"\nid = \"HEARTBEAT-ID-SECRET\"\nevery = \"1s\"\ngrace = \"1s\"\n",
        addr = app.addr
    );
    let config = write_config(dir.path(), &checks);
    let mut daemon = Daemon::start_with(&config, "127.0.0.1:0", |command| {
        command.env("DB_PASSWORD", "PW-FROM-ENV");
    });
    let secrets = ["PW-IN-URL", "TOKEN-IN-QUERY", "PW-FROM-ENV", "HEARTBEAT-ID-SECRET"];
    let client = no_redirects();
    let auth = |path: &str| client.get(format!("{}{path}", daemon.url)).bearer_auth(&viewer_token);
    eventually("every check judged, the heartbeat late", async || {
        let checks: serde_json::Value = auth("/api/v1/checks").send().await.ok()?.json().await.ok()?;
        let all = checks.as_array()?;
        (all.iter().all(|c| c["status"] == "error" || c["status"] == "ok")
            && all.iter().any(|c| c["name"] == "nightly" && c["status"] == "error"))
        .then_some(())
    })
    .await;
    let signed_in = sign_in(&client, &daemon.url, "val", PASSWORD, "/").await;
    let session = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = |path: &str| client.get(format!("{}{path}", daemon.url)).header("cookie", session.clone());
    let mut seen = Vec::new();
    for path in [
        "/api/v1/checks",
        "/api/v1/checks/api",
        "/api/v1/checks/api/results",
        "/api/v1/checks/db/results",
        "/api/v1/checks/nightly",
    ] {
        seen.push((path, auth(path).send().await.unwrap().text().await.unwrap()));
    }
    for path in ["/", "/checks/api", "/checks/db", "/checks/nightly"] {
        let response = page(path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        seen.push((path, response.text().await.unwrap()));
    }
    for path in ["/health", "/metrics"] {
        seen.push((path, client.get(format!("{}{path}", daemon.url)).send().await.unwrap().text().await.unwrap()));
    }
    // A reload that fails on the very line holding a password: the error shows the line.
    let broken = std::fs::read_to_string(&config).unwrap().replace("url = \"http://ops:", "url = \"htp://ops:");
    std::fs::write(&config, broken).unwrap();
    daemon.signal(rustix::process::Signal::HUP);
    daemon.wait_for_log("not reloading");
    daemon.wait_for_log(&format!("in {}", config.display()));
    let log = daemon.logged.lock().unwrap().join("\n");
    assert!(log.contains("url = \"htp://ops:***@"), "{log}");
    seen.push(("the log", log));
    for (place, text) in &seen {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} appears in {place}:\n{text}");
        }
    }
    assert!(seen[0].1.contains("http://ops:***@"), "{}", seen[0].1);
    assert!(seen[0].1.contains("token=***&page=1"), "{}", seen[0].1);
}

/// The API's query errors are JSON, as its document says; `limit` is 1 to 10,000; `bearer` is
/// as good as `Bearer`; and private answers are not cached.
#[tokio::test]
async fn query_errors_are_json_and_limits_hold() {
    let (token, stderr) = upkeep(&["token", "new", "--name", "ci"], "");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[[token]]\nname = \"ci\"\nsha256 = \"{}\"\n\n[[check]]\nname = \"hb\"\nkind = \"heartbeat\"\nevery = \"1h\"\n",
            token_sha(&stderr)
        ),
    );
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::new();
    for query in ["limit=0", "limit=10001", "limit=abc", "from=yesterday", "limit=-1"] {
        let response = client
            .get(format!("{}/api/v1/checks/hb/results?{query}", daemon.url))
            .header("authorization", format!("bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.headers()["content-type"], "application/json", "{query}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{query}: {body}");
    }
    let ok = client
        .get(format!("{}/api/v1/checks/hb/results?limit=1", daemon.url))
        .header("authorization", format!("BEARER {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
