//! Shared by the daemon tests: a watched app to switch on and off, the real `upkeep serve` on a
//! random port (killed when dropped), and polling with a deadline.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A watched app whose /health can be switched between 200 and 503.
pub struct App {
    pub addr: String,
    pub healthy: Arc<AtomicBool>,
}

pub fn app() -> App {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let healthy = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&healthy);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let (status, body) =
                if flag.load(Ordering::SeqCst) { ("200 OK", "ok") } else { ("503 Service Unavailable", "down") };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    App { addr, healthy }
}

/// The daemon, killed when the test ends.
pub struct Daemon {
    pub child: Child,
    pub url: String,
    log: mpsc::Receiver<String>,
    /// Every line the daemon has written to stderr so far.
    pub logged: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    pub fn start(config: &Path) -> Daemon {
        Daemon::start_on(config, "127.0.0.1:0")
    }

    /// As [`Daemon::start`], listening on `listen` (its URL always points at 127.0.0.1).
    pub fn start_on(config: &Path, listen: &str) -> Daemon {
        Daemon::start_with(config, listen, |_| {})
    }

    /// As [`Daemon::start_on`], with the command adjusted first (environment, limits).
    pub fn start_with(config: &Path, listen: &str, adjust: impl FnOnce(&mut Command)) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_upkeep"));
        command.arg("-c").arg(config).args(["serve", "--listen", listen]).stderr(Stdio::piped()).stdout(Stdio::null());
        adjust(&mut command);
        let mut child = command.spawn().unwrap();
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let logged: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let all = Arc::clone(&logged);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut daemon = Daemon { child, url: String::new(), log, logged };
        let line = daemon.wait_for_log("listening on ");
        daemon.url = line.split("listening on ").nth(1).unwrap().trim().replace("0.0.0.0", "127.0.0.1");
        daemon
    }

    /// The next log line containing `text`, waiting up to 30 s.
    pub fn wait_for_log(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(line) = self.log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if line.contains(text) {
                return line;
            }
        }
        panic!("the daemon never logged {text:?}");
    }

    /// The daemon's resident memory, from /proc.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb * 1024
    }

    /// host:port, for raw sockets.
    pub fn address(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).unwrap();
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.url)).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// A webhook receiver: records every request (path, headers, body) and answers `status`.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: String,
}

pub fn receiver_on(listener: TcpListener, status: u16) -> Arc<std::sync::Mutex<Vec<Received>>> {
    let got: Arc<std::sync::Mutex<Vec<Received>>> = Arc::default();
    let all = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head_end, length) = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                        .unwrap_or(0);
                    break (at + 4, length);
                }
            };
            if head_end == 0 {
                continue;
            }
            while buf.len() < head_end + length {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end - 4]).to_string();
            let mut lines = head.lines();
            let path = lines.next().unwrap().split(' ').nth(1).unwrap().to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
            all.lock().unwrap().push(Received { path, headers, body });
            let answer = if status == 400 { "no such team" } else { "ok" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    got
}

pub fn receiver(status: u16) -> (String, Arc<std::sync::Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (addr, receiver_on(listener, status))
}

/// Polls `probe` until it returns `Some`, for at most 30 s: waits for an event, not for luck.
pub async fn eventually<T, F: AsyncFnMut() -> Option<T>>(what: &str, mut probe: F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn write_config(dir: &Path, checks: &str) -> PathBuf {
    let path = dir.join("upkeep.toml");
    std::fs::write(&path, format!("[server]\ndata_dir = \"data\"\n\n{checks}")).unwrap();
    path
}

pub fn http_check(name: &str, addr: &str, extra: &str) -> String {
    format!(
        "[[check]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"http://{addr}/health\"\nevery = \"1s\"\ntimeout = \"1s\"\n{extra}\n\n"
    )
}

/// Runs `upkeep ARGS` with `stdin`, expecting success; returns stdout (trimmed) and stderr.
pub fn upkeep(args: &[&str], stdin: &str) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap().trim().to_string(), String::from_utf8(out.stderr).unwrap())
}

/// The `sha256 = "..."` line `upkeep token new` prints on stderr.
pub fn token_sha(stderr: &str) -> String {
    stderr.split("sha256 = \"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

/// Signs `user` in; the session's cookie header.
pub async fn session(url: &str, user: &str) -> String {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(format!("{url}/login")).send().await.unwrap();
    let csrf_cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = form.text().await.unwrap();
    let field = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let signed = client
        .post(format!("{url}/login"))
        .header("cookie", csrf_cookie)
        .form(&[("user", user), ("password", "correct horse battery"), ("csrf", field.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
