//! Notification targets, against a local webhook receiver (keep-alive, answers 200):
//!
//! 1. From a check failing to the webhook receiving its firing notification (`alert_after = 1`,
//!    `for = 0`, `group_wait = 0`), in the whole daemon: p99 under 1 s beyond the check's
//!    interval. Timed from the failing run (its result's time) to the request's arrival.
//! 2. The dispatcher drains 10,000 queued notifications to the receiver: 1,000 a second or more.
//!
//! For comparison, Alertmanager's default `group_wait` alone is 30 s.
//!
//! ```text
//! cargo bench -p upkeep-daemon --bench notify
//! RESULTS_MD=bench/results-daemon.md cargo bench -p upkeep-daemon --bench notify
//! ```
//! Tunables: `NOTIFY_ITERATIONS` (40), `NOTIFY_QUEUED` (10000).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use upkeep_daemon::{Daemon, Options};
use upkeep_probe::Clock;
use upkeep_store::{NewNotification, Store};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

/// A keep-alive HTTP receiver: counts requests, and notes when each body naming a check arrived.
struct Receiver {
    addr: String,
    count: Arc<AtomicUsize>,
    arrivals: Arc<Mutex<Vec<(String, jiff::Timestamp)>>>,
}

async fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let arrivals: Arc<Mutex<Vec<(String, jiff::Timestamp)>>> = Arc::default();
    let (c, a) = (Arc::clone(&count), Arc::clone(&arrivals));
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let (c, a) = (Arc::clone(&c), Arc::clone(&a));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16384];
                loop {
                    // One request: headers, then content-length bytes.
                    let (head_end, length) = loop {
                        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse().ok()))
                                .unwrap_or(0usize);
                            break (at + 4, length);
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    while buf.len() < head_end + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let now = jiff::Timestamp::now();
                    let body: Vec<u8> = buf.drain(..head_end + length).skip(head_end).collect();
                    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&body)
                        && let Some(check) = doc["alerts"][0]["labels"]["check"].as_str()
                        && doc["status"] == "firing"
                    {
                        a.lock().unwrap().push((check.to_string(), now));
                    }
                    c.fetch_add(1, Ordering::SeqCst);
                    if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Receiver { addr, count, arrivals }
}

/// A watched app: `/c-N` answers 503 once check N is broken.
async fn app(broken: Arc<Vec<AtomicBool>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let broken = Arc::clone(&broken);
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let i: usize = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.strip_prefix("/c-"))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let down = broken.get(i).is_some_and(|b| b.load(Ordering::SeqCst));
                let status = if down { "503 Service Unavailable" } else { "200 OK" };
                let _ = stream
                    .write_all(
                        format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                    )
                    .await;
            });
        }
    });
    addr
}

fn load(dir: &std::path::Path, text: String) -> upkeep_plan::Plan {
    upkeep_plan::load_config(upkeep_config::Source::new(dir.join("upkeep.toml"), text), &upkeep_config::Env::Process)
        .unwrap_or_else(|d| panic!("{d}"))
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1]
}

async fn run() {
    let iterations = env_usize("NOTIFY_ITERATIONS", 40).max(1);
    let queued = env_usize("NOTIFY_QUEUED", 10_000).max(1);
    let hook = receiver().await;

    // 1. Check failing → webhook receiving, in the whole daemon.
    let broken: Arc<Vec<AtomicBool>> = Arc::new((0..iterations).map(|_| AtomicBool::new(false)).collect());
    let app = app(Arc::clone(&broken)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[server]\ndata_dir = \"data\"\n\n[defaults]\nalert_after = 1\n\n[notifications]\nchannels = [\"hook\"]\ngroup_wait = \"0s\"\ngroup_by = [\"check\"]\n\n\
         [[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n\n",
        hook.addr
    );
    for i in 0..iterations {
        let _ = write!(
            text,
            "[[check]]\nname = \"c-{i}\"\nkind = \"http\"\nurl = \"http://{app}/c-{i}\"\nevery = \"1s\"\ntimeout = \"1s\"\n\n"
        );
    }
    let plan = load(dir.path(), text);
    let store = Store::open(&plan.server.data_dir).await.unwrap();
    let daemon = Daemon::start(&plan, store.clone(), Clock::System, Options::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut pipeline = Vec::with_capacity(iterations);
    for (i, flag) in broken.iter().enumerate() {
        flag.store(true, Ordering::SeqCst);
        let check = format!("c-{i}");
        // Each check is its own group: one group of them all would send the second firing only
        // after `group_interval`, as Alertmanager does.
        let deadline = Instant::now() + Duration::from_secs(30);
        let arrived = loop {
            if let Some((_, at)) = hook.arrivals.lock().unwrap().iter().find(|(c, _)| *c == check) {
                break *at;
            }
            assert!(Instant::now() < deadline, "no firing notification for {check} within 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        // From the failing run: its result's time in the store.
        let failed = store.latest_results().await.unwrap().into_iter().find(|r| r.check == check).unwrap();
        pipeline.push(arrived.duration_since(failed.at).as_secs_f64() * 1e3);
    }
    daemon.shutdown().await;

    // 2. Drain a queue of notifications.
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\ndata_dir = \"data\"\n\n[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/drain\"\n",
        hook.addr
    );
    let plan = load(dir.path(), text);
    let store = Store::open(&plan.server.data_dir).await.unwrap();
    let now = jiff::Timestamp::now();
    let message = serde_json::to_value(upkeep_notify::Message::test("hook", now, "http://127.0.0.1/alerts")).unwrap();
    let rows: Vec<NewNotification> = (0..queued)
        .map(|i| NewNotification {
            key: format!("bench:{i}"),
            channel: "hook".into(),
            created: now,
            due: now,
            expires: now + jiff::SignedDuration::from_hours(24),
            message: message.clone(),
        })
        .collect();
    for chunk in rows.chunks(1000) {
        store.save_notify(&[], chunk, None).await.unwrap();
    }
    let before = hook.count.load(Ordering::SeqCst);
    let start = Instant::now();
    let daemon = Daemon::start(&plan, store.clone(), Clock::System, Options::default()).await.unwrap();
    loop {
        let pending = store
            .notification_counts()
            .await
            .unwrap()
            .iter()
            .filter(|(_, d, _)| *d == upkeep_store::Delivery::Pending)
            .map(|(_, _, n)| *n)
            .sum::<u64>();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = start.elapsed();
    daemon.shutdown().await;
    let received = hook.count.load(Ordering::SeqCst) - before;
    assert_eq!(received, queued, "every queued notification arrived once");
    let rate = queued as f64 / drained.as_secs_f64();

    let (p50, p99) = (quantile(&pipeline, 0.5), quantile(&pipeline, 0.99));
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## notifications (`cargo bench -p upkeep-daemon --bench notify`) — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "A local keep-alive webhook receiver answering 200. Pipeline: {iterations} checks every 1 s, each broken in turn (`alert_after = 1`, `for = 0`, `group_wait = 0`), timed from the failing run's result to the firing notification's arrival (nearest-rank p99). Drain: {queued} notifications queued in the outbox before the daemon starts, timed until none is pending."
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "| metric | median | p99 | target | met? |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | :---: |");
    let yes = |ok: bool| if ok { "yes" } else { "**no**" };
    let _ = writeln!(
        md,
        "| failing run → webhook received | {p50:.1} ms | {p99:.1} ms | p99 < 1 s beyond the 1 s interval | {} |",
        yes(p99 < 1000.0)
    );
    let _ = writeln!(
        md,
        "| drain {queued} queued notifications | {:.2} s | {rate:.0} /s | ≥ 1,000 /s | {} |",
        drained.as_secs_f64(),
        yes(rate >= 1000.0)
    );
    print!("{md}");
    if let Ok(path) = std::env::var("RESULTS_MD") {
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push('\n');
        text.push_str(&md);
        std::fs::write(&path, text).unwrap();
    }
}
