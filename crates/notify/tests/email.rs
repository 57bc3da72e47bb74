//! The email channel against a real SMTP server: Python's aiosmtpd, started by the test,
//! delivering into a maildir that the test reads back (000-56: the email sender). The message
//! has the title as subject, the configured sender and recipients, and plain-text and HTML parts.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use upkeep_config::{Env, Source};
use upkeep_notify::{Message, Outcome, Sender};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// aiosmtpd, installed from PyPI if needed; `None` when it cannot be had (and services are not
/// required).
fn aiosmtpd() -> Option<()> {
    let has = || Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
    if has() {
        return Some(());
    }
    let _ = Command::new("python3").args(["-m", "pip", "install", "-q", "aiosmtpd"]).status();
    if has() {
        return Some(());
    }
    assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "aiosmtpd cannot be installed");
    eprintln!("skipped: aiosmtpd is not installed");
    None
}

#[tokio::test]
async fn email_arrives_at_a_real_smtp_server_with_both_parts() {
    if aiosmtpd().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Server(
        Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = format!(
        "[[channel]]\nname = \"ops-email\"\nkind = \"email\"\nsmtp = \"127.0.0.1:{port}\"\ntls = \"none\"\n\
         from = \"Upkeep <upkeep@example.com>\"\nto = [\"oncall@example.com\", \"ops@example.com\"]\n"
    );
    let (sections, mut d) = upkeep_config::parse(Source::new("upkeep.toml", config), &Env::fixed([]));
    let mut sections = sections.unwrap();
    let n = upkeep_notify::read_notifications(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
    let n = d.into_result(n).unwrap_or_else(|d| panic!("{d}"));
    let now: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    let message = Message::test("ops-email", now, "http://127.0.0.1:8080/alerts");
    let outcome = n.channels[0].channel.send(&message, &Sender::new(Duration::from_secs(10))).await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");

    let new = maildir.join("new");
    let file = std::fs::read_dir(&new).unwrap().next().expect("one message in the maildir").unwrap().path();
    let raw = std::fs::read_to_string(file).unwrap();
    assert!(raw.contains("From: Upkeep <upkeep@example.com>"), "{raw}");
    assert!(raw.contains("To: oncall@example.com, ops@example.com"), "{raw}");
    assert!(raw.contains("Subject: [TEST] [FIRING:1] upkeep_test"), "{raw}");
    assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
    assert!(raw.contains("Content-Type: text/html; charset=utf-8"), "{raw}");
    assert!(raw.contains("FIRING info: A test notification from Upkeep to channel `ops-email`"), "{raw}");
    assert!(raw.contains("Message-ID: <"), "{raw}");
}
