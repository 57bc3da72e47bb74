//! When an incident of a `diagnostics_on` severity (P1) opens, the state of the machine goes
//! into its timeline (000-96/97): each configured command's output (the busiest processes,
//! disk, memory), the tail of the app's log, and the latest result of every check. Each part
//! is bounded in size and has secrets masked — process arguments carry passwords (`mysql
//! -psecret`, `--password=...`, `DATABASE_URL=postgres://user:pass@...`) — and nothing is
//! written anywhere but the store (the manual's script wrote world-readable files to /tmp).

use crate::live::Live;
use jiff::Timestamp;
use regex::Regex;
use std::io::{Read, Seek, SeekFrom};
use std::sync::LazyLock;
use std::time::Duration;
use upkeep_config::MASK;
use upkeep_incident::{Incident, UNASSIGNED};
use upkeep_plan::Plan;

/// Diagnostics are taken while an incident is this young; one found later (after a restart)
/// would show a state that is not the incident's.
const FRESH: Duration = Duration::from_secs(3600);

pub fn wanted(plan: &Plan, incident: &Incident, now: Timestamp) -> bool {
    let young = incident.opened_at.duration_until(now).unsigned_abs() < FRESH;
    incident.is_open()
        && young
        && plan.incidents.diagnostics_on.contains(&incident.severity)
        && !incident.timeline.iter().any(|e| e.kind == "diagnostics")
}

/// Runs the commands, reads the log and the checks, and records it all as one entry.
pub async fn capture(plan: &Plan, live: &Live, incident: &mut Incident, now: Timestamp) {
    let cfg = &plan.incidents;
    let limit = cfg.diagnostics_limit as usize;
    let mut parts = Vec::new();
    let mut names = Vec::new();
    for d in &cfg.diagnostics {
        let (output, exit) = run(&d.command, cfg.diagnostics_timeout, limit).await;
        names.push(d.name.clone());
        parts
            .push(serde_json::json!({ "name": d.name, "command": d.command, "exit": exit, "output": redact(&output) }));
    }
    let mut log = None;
    if let Some(path) = &cfg.app_log {
        let text = tail(path, cfg.log_lines as usize, limit)
            .unwrap_or_else(|e| format!("cannot read {}: {e}", path.display()));
        names.push("app log".into());
        log = Some(serde_json::json!({ "path": path.display().to_string(), "lines": redact(&text) }));
    }
    let checks: Vec<serde_json::Value> = plan
        .checks
        .iter()
        .filter_map(|c| live.get(&c.name).map(|l| (c, l)))
        .map(|(c, l)| {
            serde_json::json!({
                "name": c.name,
                "status": if l.result.is_ok() { "ok" } else { "error" },
                "at": l.result.at.to_string(),
                "latency_ms": l.result.latency.as_secs_f64() * 1000.0,
                "message": l.result.message.as_deref().map(redact),
            })
        })
        .collect();
    let failing = checks.iter().filter(|c| c["status"] == "error").count();
    names.push(format!("{} checks ({failing} failing)", checks.len()));
    let detail = serde_json::json!({ "commands": parts, "log": log, "checks": checks });
    incident.record(now, UNASSIGNED, "diagnostics", format!("captured {}", names.join(", ")), Some(detail));
}

/// `sh -c command`, its stdout and stderr (at most `limit` bytes), and its exit code.
async fn run(command: &str, timeout: Duration, limit: usize) -> (String, Option<i32>) {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => return (format!("cannot run: {e}"), None),
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.stderr.is_empty() {
                text.push_str(&String::from_utf8_lossy(&out.stderr));
            }
            (bound(text, limit), out.status.code())
        }
        Ok(Err(e)) => (format!("failed: {e}"), None),
        Err(_) => (format!("timed out after {timeout:?}"), None),
    }
}

/// The first `limit` bytes, cut at a character boundary, with a note when cut.
fn bound(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n[cut]");
    }
    text
}

/// The last `lines` lines of the file, reading at most `limit` bytes from its end.
fn tail(path: &std::path::Path, lines: usize, limit: usize) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(limit as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(limit as u64).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().skip(usize::from(start > 0)).collect();
    Ok(all[all.len().saturating_sub(lines)..].join("\n"))
}

static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<head>--?[\w-]*(password|passwd|pass|pwd|secret|token|api[-_]?key|auth)[\w-]*(=|\s+))[^\s]+")
        .unwrap()
});
static ENV: LazyLock<Regex> = LazyLock::new(|| {
    // Environment variables are upper case: `DB_PASSWORD=`, `APP_KEY=`, `STRIPE_SECRET=`.
    Regex::new(r#"(?P<head>\b[A-Z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN|KEY)[A-Z0-9_]*=)("[^"]*"|'[^']*'|[^\s&]+)"#)
        .unwrap()
});
/// `password=x`, `"password": "x"`, `token: x` in logs and JSON.
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<head>\b[\w-]*(password|passwd|secret|token|api[_-]?key|authorization)[\w-]*"?\s{0,3}[:=]\s*)("[^"]*"|'[^']*'|[^\s&,;}]+)"#).unwrap()
});
static BASIC: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(?P<head>\bBasic\s+)[^\s]+").unwrap());
static REDIS_A: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?P<head>\s-a\s+)[^\s]+").unwrap());
static MYSQL_P: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?P<head>\s-p)[^\s]+").unwrap());
static BEARER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(?P<head>\bBearer\s+)[^\s]+").unwrap());

/// `text` with the secrets commands and logs show masked.
pub fn redact(text: &str) -> String {
    let text = upkeep_config::redact_url(text, &[]);
    let text = FLAG.replace_all(&text, format!("${{head}}{MASK}").as_str()).into_owned();
    let text = ENV.replace_all(&text, format!("${{head}}{MASK}").as_str()).into_owned();
    let text = BEARER.replace_all(&text, format!("${{head}}{MASK}").as_str()).into_owned();
    let text = BASIC.replace_all(&text, format!("${{head}}{MASK}").as_str()).into_owned();
    let text = PAIR.replace_all(&text, format!("${{head}}{MASK}").as_str()).into_owned();
    text.lines()
        .map(|line| {
            if line.contains("mysql") || line.contains("mariadb") {
                MYSQL_P.replace_all(line, format!("${{head}}{MASK}").as_str()).into_owned()
            } else if line.contains("redis-cli") {
                REDIS_A.replace_all(line, format!("${{head}}{MASK}").as_str()).into_owned()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_process_arguments_are_masked() {
        // 000-96: `ps aux` shows every argument; these are what apps' processes carry.
        let ps = r#"
  101 www  2.0 mysql -uroot -ps3cr3t app
  102 www  1.0 php worker --password=hunter2 --queue=default
  103 www  0.5 pg_dump postgres://app:dbpass@127.0.0.1/app
  104 www  0.1 env DB_PASSWORD=abc123 APP_KEY=base64:xyz php artisan
  105 www  0.1 curl -H Authorization: Bearer tok123 https://api/x?token=qq&page=2
  106 www  0.1 redis-cli --pass pw9 -a pwA
[2026-12-01] local.ERROR: login {"email":"a@b.c","password":"hunter3"} token=tk4 Authorization: Basic dXNlcjpwdw==
DB_PASSWORD="two words" php artisan"#;
        let out = redact(ps);
        for secret in [
            "s3cr3t",
            "hunter2",
            "dbpass",
            "abc123",
            "base64:xyz",
            "tok123",
            "qq",
            "pw9",
            "pwA",
            "hunter3",
            "tk4",
            "dXNlcjpwdw",
            "words",
        ] {
            assert!(!out.contains(secret), "{secret} in\n{out}");
        }
        assert!(out.contains("--queue=default") && out.contains("page=2"), "the rest is kept:\n{out}");
        assert!(out.contains("pg_dump postgres://app:***@127.0.0.1/app"), "{out}");
    }

    #[test]
    fn output_is_bounded_and_the_log_tail_is_its_last_lines() {
        assert_eq!(bound("héllo".into(), 2), "h\n[cut]");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("laravel.log");
        let lines: Vec<String> = (1..=500).map(|i| format!("[2026-12-01] local.ERROR: line {i}")).collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let t = tail(&path, 3, 1024).unwrap();
        assert_eq!(
            t,
            "[2026-12-01] local.ERROR: line 498\n[2026-12-01] local.ERROR: line 499\n[2026-12-01] local.ERROR: line 500"
        );
        let t = tail(&path, 1000, 300).unwrap();
        assert!(t.len() <= 300 && t.ends_with("line 500") && t.starts_with("[2026"), "whole lines only: {t}");
    }
}
