//! The daemon's pipeline in process, on a manual clock: jobs run on their cadence and on "run
//! now", every committed result reaches every consumer once and in order (even one that fell
//! behind), a reload swaps the whole config at once, a store that cannot be written loses
//! nothing, and shutdown starts no new run but finishes the running one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use upkeep_daemon::{Committed, ConsumeFuture, Consumer, Daemon, Options};
use upkeep_plan::Plan;
use upkeep_probe::Clock;
use upkeep_store::Store;

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn load(dir: &std::path::Path, checks: &str) -> Plan {
    let text = format!("[server]\ndata_dir = \"data\"\n\n{checks}");
    upkeep_plan::load_config(upkeep_config::Source::new(dir.join("upkeep.toml"), text), &upkeep_config::Env::Process)
        .unwrap_or_else(|d| panic!("{d}"))
}

/// A consumer that writes down what it is given, and can be held up.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(u64, String, jiff::Timestamp, bool)>>,
    hold: AtomicBool,
    released: Notify,
    batches: Notify,
}

impl Consumer for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn consume<'a>(&'a self, batch: &'a Committed) -> ConsumeFuture<'a> {
        Box::pin(async move {
            while self.hold.load(Ordering::SeqCst) {
                self.released.notified().await;
            }
            let mut seen = self.seen.lock().unwrap();
            for r in &batch.results {
                seen.push((batch.seq, r.check.clone(), r.at, batch.replayed));
            }
            drop(seen);
            self.batches.notify_waiters();
        })
    }
}

impl Recorder {
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Waits (for at most 30 s) until `done` holds, woken by each batch taken in.
    async fn until(&self, what: &str, done: impl Fn(&Recorder) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            // Registered before looking, so a batch in between is not missed.
            let waiting = self.batches.notified();
            tokio::pin!(waiting);
            waiting.as_mut().enable();
            if done(self) {
                return;
            }
            assert!(tokio::time::timeout_at(deadline, waiting).await.is_ok(), "timed out waiting for {what}");
        }
    }
}

/// Everything the store holds, as (check, time), oldest first.
async fn stored(store: &Store, checks: &[&str]) -> Vec<(String, jiff::Timestamp)> {
    let mut all = Vec::new();
    for check in checks {
        let results = store.results(check, jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::MAX, 100_000).await.unwrap();
        all.extend(results.into_iter().map(|r| (r.check, r.at)));
    }
    all.sort();
    all
}

const TWO_CHECKS: &str = "[[check]]\nname = \"root\"\nkind = \"file\"\npath = \"/\"\nevery = \"1m\"\n\n\
                          [[check]]\nname = \"tmp\"\nkind = \"file\"\npath = \"/tmp\"\nevery = \"1m\"\n";

#[tokio::test]
async fn a_consumer_sees_every_committed_result_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path(), TWO_CHECKS);
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-01T10:00:00Z"));
    let recorder = Arc::new(Recorder::default());
    let options = Options { consumers: vec![recorder.clone()], ..Options::default() };
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), options).await.unwrap();
    // The first runs within 5 s, then one a minute each.
    for (minute, expected) in [(0, 2), (1, 4), (2, 6), (3, 8)] {
        clock.advance(Duration::from_secs(if minute == 0 { 5 } else { 60 }));
        recorder.until(&format!("{expected} results"), |r| r.count() >= expected).await;
    }
    daemon.shutdown().await;
    let seen = recorder.seen.lock().unwrap().clone();
    let seqs: Vec<u64> = seen.iter().map(|s| s.0).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "out of commit order: {seqs:?}");
    let mut got: Vec<(String, jiff::Timestamp)> = seen.iter().map(|s| (s.1.clone(), s.2)).collect();
    got.sort();
    assert_eq!(got, stored(&store, &["root", "tmp"]).await, "each committed result once, nothing else");
    assert_eq!(got.len(), 8);
}

#[tokio::test]
async fn a_consumer_that_falls_behind_catches_up_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path(), TWO_CHECKS);
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-01T10:00:00Z"));
    let slow = Arc::new(Recorder::default());
    let watcher = Arc::new(Recorder::default());
    // A stream that holds one batch: the held-up consumer falls behind at the second.
    let options = Options { consumers: vec![slow.clone(), watcher.clone()], stream_capacity: 1, ..Options::default() };
    slow.hold.store(true, Ordering::SeqCst);
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), options).await.unwrap();
    clock.advance(Duration::from_secs(5));
    watcher.until("the first results", |r| r.count() >= 2).await;
    for minute in 1..=5 {
        clock.advance(Duration::from_secs(60));
        watcher.until("the next minute", |r| r.count() >= 2 + 2 * minute).await;
    }
    slow.hold.store(false, Ordering::SeqCst);
    slow.released.notify_waiters();
    slow.until("the held-up consumer to catch up", |r| r.count() >= 12).await;
    daemon.shutdown().await;
    let seen = slow.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.3), "it was told it lagged and given the batches from the store");
    let mut got: Vec<(String, jiff::Timestamp)> = seen.iter().map(|s| (s.1.clone(), s.2)).collect();
    got.sort();
    assert_eq!(got, stored(&store, &["root", "tmp"]).await, "every result once after catching up");
}

#[tokio::test]
async fn a_job_runs_on_its_cadence_and_at_once_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path(), "[[check]]\nname = \"nightly\"\nkind = \"heartbeat\"\nevery = \"1d\"\n");
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-01T10:00:00Z"));
    let recorder = Arc::new(Recorder::default());
    let options = Options { consumers: vec![recorder.clone()], ..Options::default() };
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), options).await.unwrap();
    clock.advance(Duration::from_secs(5));
    recorder.until("the first judgement", |r| r.count() == 1).await;
    // A ping is judged at once, without the clock moving to the next minute.
    store.record_ping("nightly", &upkeep_probe::Ping { at: clock.now(), ok: false }, None).await.unwrap();
    let result = daemon.run_now().run("nightly").unwrap().await.unwrap();
    assert!(result.message.as_deref().unwrap_or_default().contains("reported a failure"), "{result:?}");
    recorder.until("the ping's result to be committed", |r| r.count() == 2).await;
    let live = daemon.live().get("nightly").unwrap();
    assert!(!live.result.is_ok());
    // Heartbeats are judged every minute whatever `every` says.
    clock.advance(Duration::from_secs(60));
    recorder.until("the next judgement", |r| r.count() == 3).await;
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_reload_swaps_the_whole_config_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let old = load(dir.path(), "[[check]]\nname = \"old\"\nkind = \"file\"\npath = \"/\"\n");
    let new = load(dir.path(), "[[check]]\nname = \"new\"\nkind = \"file\"\npath = \"/\"\n");
    let store = Store::open(&old.server.data_dir).await.unwrap();
    let daemon =
        Daemon::start(&old, store, Clock::manual(at("2026-12-01T10:00:00Z")), Options::default()).await.unwrap();
    let reader = {
        let daemon = Arc::clone(&daemon);
        tokio::spawn(async move {
            for _ in 0..2000 {
                let plan = daemon.plan();
                let names: Vec<&str> = plan.checks.iter().map(|c| c.name.as_str()).collect();
                assert!(names == ["old"] || names == ["new"], "half a config: {names:?}");
                tokio::task::yield_now().await;
            }
        })
    };
    for i in 0..20 {
        daemon.reload(if i % 2 == 0 { &new } else { &old }).await;
        tokio::task::yield_now().await;
    }
    reader.await.unwrap();
    assert!(daemon.run_now().knows("old") && !daemon.run_now().knows("new"));
    daemon.shutdown().await;
}

/// While the store cannot be written (another process holds its write lock), results wait —
/// in the writer, then in a full queue that makes jobs wait — and none is lost.
#[tokio::test]
async fn a_store_that_cannot_be_written_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let checks: String = (0..3)
        .map(|i| {
            format!(
                "[[check]]\nname = \"c{i}\"\nkind = \"command\"\nevery = \"1m\"\ncommand = 'echo c{i} >> {}'\n\n",
                runs.display()
            )
        })
        .collect();
    let loaded = load(dir.path(), &checks);
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-01T10:00:00Z"));
    let recorder = Arc::new(Recorder::default());
    let options = Options { consumers: vec![recorder.clone()], queue: 1, ..Options::default() };
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), options).await.unwrap();

    let lock = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(loaded.server.data_dir.join("upkeep.db")),
    )
    .await
    .unwrap();
    let mut holder = lock.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
    clock.advance(Duration::from_secs(5));
    for _ in 0..3 {
        clock.advance(Duration::from_secs(60));
        tokio::task::yield_now().await;
    }
    // The writer fails, says so, and retries.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !daemon.metrics().encode().contains("upkeep_store_write_errors_total 1") {
        assert!(tokio::time::Instant::now() < deadline, "no failed write was counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(recorder.count(), 0, "nothing is published before it is committed");
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    drop(holder);
    daemon.shutdown().await;
    let produced = std::fs::read_to_string(&runs).unwrap().lines().count();
    let kept = stored(&store, &["c0", "c1", "c2"]).await.len();
    assert!(produced >= 3, "{produced}");
    assert_eq!(kept, produced, "every run's result reached the store");
    assert_eq!(recorder.count(), produced, "and every consumer");
}

/// Shutdown (SIGTERM) starts no new run, lets the running one finish, and keeps its result.
#[tokio::test]
async fn shutdown_starts_nothing_new_and_finishes_what_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (started, release, quick) = (dir.path().join("started"), dir.path().join("release"), dir.path().join("quick"));
    let checks = format!(
        "[[check]]\nname = \"slow\"\nkind = \"command\"\nevery = \"1h\"\ntimeout = \"30s\"\n\
         command = 'touch {s} && while [ ! -e {r} ]; do sleep 0.02; done'\n\n\
         [[check]]\nname = \"quick\"\nkind = \"command\"\nevery = \"1m\"\ncommand = 'echo run >> {q}'\n",
        s = started.display(),
        r = release.display(),
        q = quick.display()
    );
    let loaded = load(dir.path(), &checks);
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-01T10:00:00Z"));
    let recorder = Arc::new(Recorder::default());
    let options = Options { consumers: vec![recorder.clone()], ..Options::default() };
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), options).await.unwrap();
    clock.advance(Duration::from_secs(5));
    recorder.until("the quick check's first result", |r| r.count() >= 1).await;
    while !started.exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopping = {
        let daemon = Arc::clone(&daemon);
        tokio::spawn(async move { daemon.shutdown().await })
    };
    // The quick check comes due while shutdown waits for the slow run: it must not start.
    tokio::task::yield_now().await;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(60));
        tokio::task::yield_now().await;
    }
    std::fs::write(&release, "").unwrap();
    stopping.await.unwrap();
    assert_eq!(std::fs::read_to_string(&quick).unwrap().lines().count(), 1, "a run started after shutdown began");
    let slow = store.results("slow", jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::MAX, 10).await.unwrap();
    assert_eq!(slow.len(), 1, "the running check's result was kept");
    assert!(slow[0].is_ok(), "{:?}", slow[0].message);
}
