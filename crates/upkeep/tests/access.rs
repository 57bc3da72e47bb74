//! Access control end to end: API tokens and roles, the dashboard login with CSRF and rate
//! limiting, sessions, sign-out, a protected /metrics, and refusing an open dashboard on the
//! network. The hashes come from the real `upkeep user hash-password` and `upkeep token new`.

mod support;

use std::process::Command;
use support::{Daemon, upkeep, write_config};

struct Secured {
    _dir: tempfile::TempDir,
    daemon: Daemon,
    token: String,
    client: reqwest::Client,
}

const PASSWORD: &str = "correct horse battery";

fn secured() -> Secured {
    let (hash, _) = upkeep(&["user", "hash-password"], &format!("{PASSWORD}\n"));
    let (token, stderr) = upkeep(&["token", "new", "--name", "ci"], "");
    let sha = stderr.split("sha256 = \"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[[user]]\nname = \"alice\"\npassword_hash = '{hash}'\nrole = \"admin\"\n\n\
             [[token]]\nname = \"ci\"\nsha256 = \"{sha}\"\n\n\
             [[check]]\nname = \"hb\"\nkind = \"heartbeat\"\nevery = \"1h\"\n"
        ),
    );
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Secured { _dir: dir, daemon, token, client }
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| (v.split(';').next().unwrap().split_once('=').unwrap().1.to_string(), v.to_string()))
}

impl Secured {
    async fn login_form(&self) -> (String, String) {
        let response = self.client.get(format!("{}/login", self.daemon.url)).send().await.unwrap();
        let (csrf_cookie, _) = cookie(&response, "upkeep_csrf").expect("a CSRF cookie");
        let html = response.text().await.unwrap();
        let field = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        (csrf_cookie, field)
    }

    async fn sign_in(&self, password: &str) -> reqwest::Response {
        let (csrf_cookie, field) = self.login_form().await;
        self.client
            .post(format!("{}/login", self.daemon.url))
            .header("cookie", format!("upkeep_csrf={csrf_cookie}"))
            .form(&[("user", "alice"), ("password", password), ("csrf", &field), ("next", "/checks/hb")])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_api_wants_a_valid_token() {
    let s = secured();
    let url = format!("{}/api/v1/checks", s.daemon.url);
    let anonymous = s.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer realm=\"upkeep\"");
    let wrong = s.client.get(&url).bearer_auth("upk_not-a-real-token").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = s.client.get(&url).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(right.status(), 200);
    // Public routes stay public.
    for path in ["/up", "/health", "/api/v1/openapi.json", "/metrics"] {
        let status = s.client.get(format!("{}{path}", s.daemon.url)).send().await.unwrap().status();
        assert!(status == 200 || status == 503, "{path}: {status}");
    }
}

#[tokio::test]
async fn the_dashboard_sends_strangers_to_sign_in_and_lets_alice_in() {
    let s = secured();
    let page = s.client.get(format!("{}/checks/hb", s.daemon.url)).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login?next=/checks/hb");

    let wrong = s.sign_in("wrong password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("Wrong user name or password."));

    let signed_in = s.sign_in(PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/checks/hb");
    let (session, attributes) = cookie(&signed_in, "upkeep_session").expect("a session cookie");
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"), "{attributes}");

    let page = s
        .client
        .get(format!("{}/", s.daemon.url))
        .header("cookie", format!("upkeep_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<span>alice</span>") && html.contains("Sign out"));
    // The session also reads the API, as the dashboard's user would.
    let api = s
        .client
        .get(format!("{}/api/v1/checks", s.daemon.url))
        .header("cookie", format!("upkeep_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);

    // Signing out needs the session's CSRF token, then the session is gone.
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let forged = s
        .client
        .post(format!("{}/logout", s.daemon.url))
        .header("cookie", format!("upkeep_session={session}"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let out = s
        .client
        .post(format!("{}/logout", s.daemon.url))
        .header("cookie", format!("upkeep_session={session}"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = s
        .client
        .get(format!("{}/", s.daemon.url))
        .header("cookie", format!("upkeep_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303);
}

#[tokio::test]
async fn sign_in_without_the_form_s_csrf_token_is_refused() {
    let s = secured();
    let response = s
        .client
        .post(format!("{}/login", s.daemon.url))
        .header("cookie", "upkeep_csrf=one")
        .form(&[("user", "alice"), ("password", PASSWORD), ("csrf", "another")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(cookie(&response, "upkeep_session").is_none());
}

#[tokio::test]
async fn repeated_wrong_passwords_are_rate_limited() {
    let s = secured();
    for _ in 0..5 {
        assert_eq!(s.sign_in("guess").await.status(), 401);
    }
    let locked = s.sign_in(PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let (token, stderr) = upkeep(&["token", "new", "--name", "prometheus"], "");
    let sha = stderr.split("sha256 = \"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upkeep.toml");
    std::fs::write(
        &config,
        format!("[server]\ndata_dir = \"data\"\nmetrics = \"token\"\n\n[[token]]\nname = \"prometheus\"\nsha256 = \"{sha}\"\n"),
    )
    .unwrap();
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::new();
    assert_eq!(client.get(format!("{}/metrics", daemon.url)).send().await.unwrap().status(), 401);
    assert_eq!(client.get(format!("{}/metrics", daemon.url)).bearer_auth(&token).send().await.unwrap().status(), 200);
}

#[test]
fn an_open_dashboard_on_the_network_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upkeep.toml");
    std::fs::write(&config, "[server]\nlisten = \"0.0.0.0:8080\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["config", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(":2:10: listening on 0.0.0.0:8080 with no [[user]] or [[token]] would open the dashboard and API to the network"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_reload_that_would_open_the_dashboard_on_the_network_is_refused() {
    let (token, stderr) = upkeep(&["token", "new", "--name", "ci"], "");
    let sha = stderr.split("sha256 = \"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upkeep.toml");
    std::fs::write(&config, format!("[server]\ndata_dir = \"data\"\n\n[[token]]\nname = \"ci\"\nsha256 = \"{sha}\"\n"))
        .unwrap();
    let mut daemon = Daemon::start_on(&config, "0.0.0.0:0");
    std::fs::write(&config, "[server]\ndata_dir = \"data\"\n").unwrap();
    daemon.signal(rustix::process::Signal::HUP);
    let line = daemon.wait_for_log("not reloading");
    assert!(line.contains("with no [[user]] or [[token]] would open the dashboard and API to the network"), "{line}");
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/checks", daemon.url);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(client.get(&url).bearer_auth(&token).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let daemon = Daemon::start(&config);
    let client = reqwest::Client::new();
    for path in ["/up", "/health", "/login", "/no-such-page", "/api/v1/checks"] {
        let response = client.get(format!("{}{path}", daemon.url)).send().await.unwrap();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        let csp = header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        // Plain HTTP: no HSTS, which would pin a browser to an https that is not there.
        assert_eq!(header("strict-transport-security"), None, "{path}");
    }
    let behind_tls =
        client.get(format!("{}/up", daemon.url)).header("x-forwarded-proto", "https").send().await.unwrap();
    assert_eq!(
        behind_tls.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()),
        Some("max-age=31536000; includeSubDomains")
    );
}

/// A signed-in admin sets a silence from the alerts page's form and ends it with its button;
/// a form without the session's token is refused.
#[tokio::test]
async fn the_alerts_page_sets_and_ends_silences() {
    let s = secured();
    let signed_in = s.sign_in(PASSWORD).await;
    let (session, _) = cookie(&signed_in, "upkeep_session").expect("a session");
    let cookie_header = format!("upkeep_session={session}");
    let page = s.client.get(format!("{}/alerts", s.daemon.url)).header("cookie", &cookie_header).send().await.unwrap();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("action=\"/alerts/silences\"><input type=\"hidden\" name=\"csrf\" value=\"")
        .nth(1)
        .expect("the silence form")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let (client, cookie) = (s.client.clone(), cookie_header.clone());
        async move { client.post(path).header("cookie", cookie).form(&form).send().await.unwrap() }
    };
    let url = |path: &str| format!("{}{path}", s.daemon.url);
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("matchers", "check=hb".into()),
            ("duration", "1h".into()),
            ("comment", "moving the job".into()),
        ]
    };

    let forged = post(url("/alerts/silences"), form("not-the-token")).await;
    assert_eq!(forged.headers()["location"], "/alerts?error=the%20form%20has%20expired%3B%20try%20again");
    let set = post(url("/alerts/silences"), form(&csrf)).await;
    assert_eq!(set.status(), 303);
    assert_eq!(set.headers()["location"], "/alerts");
    let silences: serde_json::Value =
        s.client.get(url("/api/v1/silences")).bearer_auth(&s.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(silences.as_array().unwrap().len(), 1, "{silences}");
    assert_eq!(silences[0]["created_by"], "alice");
    assert_eq!(silences[0]["state"], "active");
    let id = silences[0]["id"].as_str().unwrap();
    let ended = post(url(&format!("/alerts/silences/{id}/expire")), vec![("csrf", csrf.clone())]).await;
    assert_eq!(ended.headers()["location"], "/alerts");
    let silences: serde_json::Value =
        s.client.get(url("/api/v1/silences")).bearer_auth(&s.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(silences[0]["state"], "expired");
}
