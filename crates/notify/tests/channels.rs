//! Every HTTP channel kind against a local receiver: configured as a user writes it, sent one
//! fixed message, and the exact method, path, headers and body the receiver got are asserted.
//! What a receiver answers decides the outcome: 2xx delivered, 5xx/408/429 retried (with
//! `Retry-After`), any other 4xx failed with the answer, a hang bounded by the timeout.

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use upkeep_config::{Env, Source};
use upkeep_notify::{AlertItem, Message, Notifications, Outcome, Sender, Status};

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// A receiver answering `status` (and `extra` headers), or never answering when `status` is 0.
async fn receiver(status: u16, extra: &'static str) -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..at]).to_string();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        break (at + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end - 4]).to_string();
                let mut lines = head.lines();
                let mut first = lines.next().unwrap().split(' ');
                let (method, path) = (first.next().unwrap().to_string(), first.next().unwrap().to_string());
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let _ = tx.send(Received { method, path, headers, body });
                if status == 0 {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let answer = if status == 400 { "bad payload" } else { "ok" };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, rx)
}

fn notifications(toml: &str) -> Notifications {
    let (sections, mut d) = upkeep_config::parse(Source::new("upkeep.toml", toml.to_string()), &Env::fixed([]));
    let mut sections = sections.unwrap_or_else(|| panic!("{d}"));
    let n = upkeep_notify::read_notifications(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
    sections.finish(&mut d);
    d.into_result(n).unwrap_or_else(|d| panic!("{d}"))
}

fn message(status: Status) -> Message {
    let at: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    let labels: BTreeMap<String, String> =
        [("alertname", "check_down"), ("check", "api"), ("severity", "critical"), ("component", "API")]
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .into();
    let alert = AlertItem {
        key: "check_down{check=\"api\"}".into(),
        alertname: "check_down".into(),
        status,
        severity: "critical".into(),
        value: Some("503".into()),
        labels: labels.clone(),
        annotations: [("summary".to_string(), "api is down".to_string())].into(),
        starts_at: at,
        ends_at: (status == Status::Resolved).then_some(at + jiff::SignedDuration::from_mins(3)),
        link: "http://127.0.0.1:8080/alerts?alert=check_down%7Bcheck%3D%22api%22%7D".into(),
        runbook: Some("https://wiki.example.com/runbooks/api".into()),
    };
    Message {
        key: format!("critical{{alertname=\"check_down\"}}:{}:1", status.as_str()),
        status,
        route: "critical".into(),
        group_key: "critical{alertname=\"check_down\"}".into(),
        group_labels: [("alertname".to_string(), "check_down".to_string())].into(),
        common_labels: labels,
        alerts: vec![alert],
        created_at: at,
        keep_until: at + jiff::SignedDuration::from_hours(5),
        link: "http://127.0.0.1:8080/alerts?alertname=check_down".into(),
        test: false,
        maintenance: None,
        incident: None,
    }
}

/// Sends `message` through the one channel configured by `channel` (with `{addr}` replaced)
/// to a receiver answering 200; returns what it received.
async fn through(channel: &str, message: &Message) -> Received {
    let (addr, mut rx) = receiver(200, "").await;
    let n = notifications(&channel.replace("{addr}", &addr));
    let sender = Sender::new(Duration::from_secs(5));
    let outcome = n.channels[0].channel.send(message, &sender).await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    rx.recv().await.unwrap()
}

fn json(r: &Received) -> serde_json::Value {
    assert_eq!(r.headers["content-type"], "application/json");
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test]
async fn webhook_sends_the_documented_schema_signed_with_hmac() {
    let config = "[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{addr}/upkeep\"\nsecret = \"s3cret\"\nheaders = { X-Team = \"ops\" }\n";
    let m = message(Status::Firing);
    let r = through(config, &m).await;
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/upkeep"));
    assert_eq!(r.headers["x-team"], "ops");
    assert_eq!(r.headers["idempotency-key"], m.key);
    let body = json(&r);
    assert_eq!(body["version"], "1");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["alerts"][0]["labels"]["check"], "api");
    assert_eq!(body["alerts"][0]["runbook"], "https://wiki.example.com/runbooks/api");
    assert_eq!(body["alerts"][0]["value"], "503");
    assert_eq!(body["link"], m.link);
    // The signature, checked as a receiver would: HMAC-SHA256 over "timestamp.body".
    use hmac::{KeyInit, Mac};
    let ts = &r.headers["x-upkeep-timestamp"];
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(format!("{ts}.{}", r.body).as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.headers["x-upkeep-signature"], expected);
    let age = jiff::Timestamp::now().as_second() - ts.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "a fresh timestamp, so replays can be refused");
}

#[tokio::test]
async fn slack_discord_teams_telegram_ntfy_bodies() {
    let m = message(Status::Firing);
    let slack = json(
        &through("[[channel]]\nname = \"s\"\nkind = \"slack\"\nurl = \"http://{addr}/services/T0/B0/x\"\n", &m).await,
    );
    assert_eq!(slack["text"], "[FIRING:1] check_down");
    assert_eq!(slack["attachments"][0]["color"], "#d32f2f", "critical is red");
    let blocks = &slack["attachments"][0]["blocks"];
    assert!(blocks[1]["text"]["text"].as_str().unwrap().starts_with("FIRING critical: api is down (value: 503)"));
    assert_eq!(blocks[2]["elements"][1]["url"], "https://wiki.example.com/runbooks/api", "the runbook button");

    let discord =
        through("[[channel]]\nname = \"d\"\nkind = \"discord\"\nurl = \"http://{addr}/api/webhooks/1/x\"\n", &m).await;
    assert_eq!(discord.path, "/api/webhooks/1/x");
    let discord = json(&discord);
    assert_eq!(discord["embeds"][0]["color"], 0xd32f2f);
    assert_eq!(discord["embeds"][0]["url"], m.link);

    let teams = json(
        &through("[[channel]]\nname = \"t\"\nkind = \"msteams\"\nurl = \"http://{addr}/workflows/x\"\n", &m).await,
    );
    let card = &teams["attachments"][0]["content"];
    assert_eq!(teams["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(card["body"][0]["text"], "[FIRING:1] check_down");
    assert_eq!(card["body"][0]["color"], "Attention");

    let telegram = through(
        "[[channel]]\nname = \"tg\"\nkind = \"telegram\"\ntoken = \"123:abc\"\nchat_id = \"-100\"\napi_url = \"http://{addr}\"\n",
        &m,
    )
    .await;
    assert_eq!(telegram.path, "/bot123:abc/sendMessage");
    let telegram = json(&telegram);
    assert_eq!(telegram["chat_id"], "-100");
    assert!(telegram["text"].as_str().unwrap().starts_with("[FIRING:1] check_down\n\nFIRING critical: api is down"));

    let ntfy = through(
        "[[channel]]\nname = \"n\"\nkind = \"ntfy\"\nurl = \"http://{addr}\"\ntopic = \"ops\"\ntoken = \"tk\"\n",
        &m,
    )
    .await;
    assert_eq!(ntfy.headers["authorization"], "Bearer tk");
    let ntfy = json(&ntfy);
    assert_eq!((ntfy["topic"].as_str(), ntfy["priority"].as_i64()), (Some("ops"), Some(5)));
    assert_eq!(ntfy["click"], m.link);
}

#[tokio::test]
async fn pagerduty_triggers_and_resolves_one_incident_and_opsgenie_closes_by_alias() {
    let config = "[[channel]]\nname = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"R0UT1NG\"\nurl = \"http://{addr}/v2/enqueue\"\n";
    let trigger = json(&through(config, &message(Status::Firing)).await);
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["routing_key"], "R0UT1NG");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["source"], "api");
    assert_eq!(trigger["payload"]["component"], "API");
    assert_eq!(trigger["links"][1]["href"], "https://wiki.example.com/runbooks/api");
    let resolve = json(&through(config, &message(Status::Resolved)).await);
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"], "one incident: the same dedup_key");
    assert_eq!(trigger["dedup_key"].as_str().unwrap().len(), 32);

    let config = "[[channel]]\nname = \"og\"\nkind = \"opsgenie\"\napi_key = \"K3Y\"\nurl = \"http://{addr}\"\n";
    let create = through(config, &message(Status::Firing)).await;
    assert_eq!((create.path.as_str(), create.headers["authorization"].as_str()), ("/v2/alerts", "GenieKey K3Y"));
    let alias = json(&create)["alias"].as_str().unwrap().to_string();
    assert_eq!(json(&create)["priority"], "P1");
    let close = through(config, &message(Status::Resolved)).await;
    assert_eq!(close.path, format!("/v2/alerts/{alias}/close?identifierType=alias"));
}

#[tokio::test]
async fn alertmanager_and_http_channels() {
    let am = through(
        "[[channel]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://{addr}/\"\n",
        &message(Status::Firing),
    )
    .await;
    assert_eq!(am.path, "/api/v2/alerts");
    let alerts = json(&am);
    assert_eq!(alerts[0]["labels"]["alertname"], "check_down");
    assert_eq!(alerts[0]["endsAt"], "2026-12-01T15:00:00Z", "firing: ends past the next repeat unless renewed");
    assert_eq!(alerts[0]["annotations"]["runbook_url"], "https://wiki.example.com/runbooks/api");
    let resolved = json(
        &through(
            "[[channel]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://{addr}\"\n",
            &message(Status::Resolved),
        )
        .await,
    );
    assert_eq!(resolved[0]["endsAt"], "2026-12-01T10:03:00Z");

    // 000-57: an SMS gateway, from config alone.
    let sms = "[[channel]]\nname = \"sms\"\nkind = \"http\"\nmethod = \"PUT\"\nurl = \"http://{addr}/sms/{{ severity }}\"\n\
               headers = { Authorization = \"Basic {{ 'abc' }}\" }\ncontent_type = \"application/x-www-form-urlencoded\"\n\
               body = \"To=%2B15550100&Body={{ title | urlencode }}\"\n";
    let r = through(sms, &message(Status::Firing)).await;
    assert_eq!((r.method.as_str(), r.path.as_str()), ("PUT", "/sms/critical"));
    assert_eq!(r.headers["authorization"], "Basic abc");
    assert_eq!(r.headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(r.body, "To=%2B15550100&Body=%5BFIRING%3A1%5D%20check_down");
}

#[tokio::test]
async fn answers_decide_retry_failure_and_timeouts() {
    let sender = Sender::new(Duration::from_millis(300));
    let m = message(Status::Firing);
    let send = async |status: u16, extra: &'static str| {
        let (addr, _rx) = receiver(status, extra).await;
        let n = notifications(&format!("[[channel]]\nname = \"h\"\nkind = \"webhook\"\nurl = \"http://{addr}/\"\n"));
        n.channels[0].channel.send(&m, &sender).await
    };
    assert!(matches!(send(200, "").await, Outcome::Delivered { .. }));
    assert_eq!(send(503, "").await, Outcome::Retry { error: "HTTP 503: ok".into(), after: None });
    assert_eq!(
        send(429, "retry-after: 7\r\n").await,
        Outcome::Retry { error: "HTTP 429: ok".into(), after: Some(Duration::from_secs(7)) }
    );
    assert_eq!(send(400, "").await, Outcome::Failed { error: "HTTP 400: bad payload".into() });
    match send(0, "").await {
        Outcome::Retry { error, .. } => assert!(error.contains("timed out") || error.contains("timeout"), "{error}"),
        other => panic!("a hanging receiver is retried: {other:?}"),
    }
    // Nobody listening: retried, and the error does not show the URL (it may hold a secret).
    let n =
        notifications("[[channel]]\nname = \"h\"\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/services/SECRET\"\n");
    match n.channels[0].channel.send(&m, &sender).await {
        Outcome::Retry { error, .. } => assert!(!error.contains("SECRET"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn config_errors_name_the_place_and_the_fix() {
    let text = "[[route]]\nseverity = \"critical\"\nchannels = [\"oncall-slak\"]\nactive_during = [\"office\"]\n\n\
                [[channel]]\nname = \"oncall-slack\"\nkind = \"slak\"\nurl = \"x\"\n\n\
                [[channel]]\nname = \"mail\"\nkind = \"email\"\nsmtp = \"localhost:2525\"\nfrom = \"not an address\"\nto = [\"ops@example.com\"]\ntitle = \"{{ status \"\n";
    let (sections, mut d) = upkeep_config::parse(Source::new("upkeep.toml", text.to_string()), &Env::fixed([]));
    let mut sections = sections.unwrap();
    let _ = upkeep_notify::read_notifications(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
    let summary = d.summary().join("\n");
    for expected in [
        "upkeep.toml:3:13: `oncall-slak` is not a channel",
        "upkeep.toml:4:18: `office` is not a time interval",
        "upkeep.toml:8:8: `slak` is not a channel kind",
        "`not an address` is not an email address",
        "template `title` does not compile",
    ] {
        assert!(summary.contains(expected), "missing {expected:?} in:\n{summary}");
    }
    let shown = d.to_string();
    assert!(shown.contains("did you mean `slack`?"), "{shown}");
}
