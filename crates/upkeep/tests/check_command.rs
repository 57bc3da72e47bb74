//! `upkeep check` and `upkeep config validate` as a person or a script runs them: the real
//! binary, a real HTTP server, exit codes 0 / 1 / 2, the table and the `--json` shape.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// An HTTP server on loopback: `/health` answers 200 JSON, everything else 503.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 2048];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /health ") {
                ("200 OK", r#"{"status":"healthy"}"#)
            } else {
                ("503 Service Unavailable", r#"{"status":"unhealthy"}"#)
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr.to_string()
}

fn upkeep(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(config).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("upkeep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn two_checks(addr: &str) -> String {
    format!(
        "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://{addr}/health\"\nexpect = ['status == 200', 'json.status == \"healthy\"']\n\n\
         [[check]]\nname = \"admin\"\nkind = \"http\"\nurl = \"http://{addr}/admin\"\nexpect = 'status == 200'\n"
    )
}

#[test]
fn healthy_checks_exit_zero_and_print_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &two_checks(&serve()));
    let out = upkeep(&config, &["check", "api"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAME  KIND  STATUS  LATENCY  MESSAGE"), "{table}");
    assert!(lines[1].starts_with("api   http  ok"), "{table}");
    assert!(lines[3].starts_with("1 ok, 0 failing, in "), "{table}");
}

#[test]
fn an_unhealthy_check_exits_one_and_says_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &two_checks(&serve()));
    let out = upkeep(&config, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("admin  http  error") && table.contains("expected status == 200, got 503"), "{table}");
}

#[test]
fn json_output_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &two_checks(&serve()));
    let out = upkeep(&config, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["name"], "api");
    assert_eq!(results[0]["kind"], "http");
    assert_eq!(results[0]["status"], "ok");
    assert!(results[0]["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(results[0]["message"], serde_json::Value::Null);
    assert_eq!(results[0]["observations"]["status"], 200.0);
    assert_eq!(results[1]["status"], "error");
    assert_eq!(results[1]["message"], "expected status == 200, got 503");
}

#[test]
fn a_bad_config_exits_two_with_every_error_located() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://x/\"\ntimout = \"5s\"\nexpect = 'lantency < 200ms'\n",
    );
    let out = upkeep(&config, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let path = config.display();
    assert!(stderr.contains(&format!("{path}:5:1: unknown key `timout` in check \"api\"")), "{stderr}");
    assert!(
        stderr.contains(&format!("{path}:6:11: in `expect` of a http check: unknown field `lantency`")),
        "{stderr}"
    );
    assert!(stderr.ends_with(&format!("2 errors in {path}\n")), "{stderr}");

    let out = upkeep(&config, &["config", "validate", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][1]["line"], 6);
    assert_eq!(report["errors"][1]["column"], 11);
    assert_eq!(report["errors"][1]["hint"], "did you mean `latency`?");
}

#[test]
fn unknown_names_and_missing_files_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &two_checks(&serve()));
    let out = upkeep(&config, &["check", "apii"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "error: there is no check named `apii`; did you mean `api`?\n");

    let out = upkeep(&dir.path().join("missing.toml"), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("error: there is no config file at "));
}

#[test]
fn config_validate_counts_the_checks() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &two_checks("127.0.0.1:9"));
    let out = upkeep(&config, &["config", "validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{} is valid: 2 checks\n", config.display()));
}
