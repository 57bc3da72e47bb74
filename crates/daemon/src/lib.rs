//! The running monitor: checks on their schedules, results into the store, the live state that
//! `/health`, the API and the dashboard read, Prometheus metrics, and housekeeping.
//!
//! ```text
//! scheduler ──(bounded channel)──► writer ──► store (batched)
//!                                    └──────► live state + metrics
//! housekeeping: compaction every 10 seconds, retention every hour
//! ```

mod health;
mod housekeeping;
mod live;
mod metrics;
mod writer;

pub use health::{CheckState, Health, Overall, health};
pub use live::{Live, LiveCheck};
pub use metrics::Metrics;

use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use upkeep_probe::{Check, CheckJob, Clock, Context, Loaded};
use upkeep_schedule::{Job, RunNow, Scheduler, SchedulerMetrics};
use upkeep_store::Store;

pub use upkeep_config::Retention;

/// Results waiting for the writer; a full queue makes probes wait rather than lose results.
const QUEUE: usize = 16_384;

pub struct Daemon {
    store: Store,
    live: Arc<Live>,
    metrics: Arc<Metrics>,
    clock: Clock,
    checks: RwLock<Arc<Vec<Arc<Check>>>>,
    access: RwLock<Arc<upkeep_config::Access>>,
    scheduler: Mutex<Option<Scheduler>>,
    scheduler_metrics: Arc<SchedulerMetrics>,
    run_now: RunNow,
    /// Taken at shutdown: once the scheduler's clones are gone too, the writer drains and ends.
    sink: std::sync::Mutex<Option<mpsc::Sender<upkeep_result::CheckResult>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    housekeeping: JoinHandle<()>,
    stop_housekeeping: CancellationToken,
}

impl Daemon {
    /// Rebuilds the live state from the store, then starts the writer, the scheduler and
    /// housekeeping.
    pub async fn start(
        loaded: &Loaded,
        store: Store,
        clock: Clock,
        retention: Retention,
    ) -> Result<Arc<Daemon>, upkeep_store::StoreError> {
        let live = Arc::new(Live::default());
        live.restore(&store, &loaded.checks).await?;
        let mut metrics = Metrics::new();
        let scheduler_metrics = SchedulerMetrics::register(metrics.registry());
        let metrics = Arc::new(metrics);
        for check in loaded.checks.iter() {
            if let Some(latest) = live.get(&check.name) {
                metrics.restore(&check.name, latest.result.is_ok());
            }
        }
        let (sink, results) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(writer::run(results, store.clone(), Arc::clone(&live), Arc::clone(&metrics)));
        let stop_housekeeping = CancellationToken::new();
        let grace = loaded.checks.iter().map(|c| c.timeout).max().unwrap_or_default() + Duration::from_secs(60);
        let housekeeping =
            tokio::spawn(housekeeping::run(store.clone(), clock.clone(), retention, grace, stop_housekeeping.clone()));
        let daemon = Arc::new(Daemon {
            store,
            live,
            metrics,
            clock,
            checks: RwLock::new(Arc::new(Vec::new())),
            access: RwLock::new(Arc::new(loaded.access.clone())),
            scheduler: Mutex::new(None),
            scheduler_metrics,
            run_now: RunNow::default(),
            sink: std::sync::Mutex::new(Some(sink)),
            writer: Mutex::new(Some(writer)),
            housekeeping,
            stop_housekeeping,
        });
        daemon.schedule(loaded).await;
        Ok(daemon)
    }

    /// Replaces the running checks with a new config's. In-flight runs of the old checks finish
    /// and are kept.
    pub async fn reload(&self, loaded: &Loaded) {
        self.schedule(loaded).await;
    }

    async fn schedule(&self, loaded: &Loaded) {
        let mut slot = self.scheduler.lock().await;
        if let Some(old) = slot.take() {
            old.stop().await;
        }
        let names: Vec<String> = loaded.checks.iter().map(|c| c.name.clone()).collect();
        *self.checks.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded.checks.clone());
        // After the new checks are in place: this bumps the live version readers cache by.
        self.live.retain(&names);
        self.metrics.retain(&names);
        *self.access.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded.access.clone());
        let Some(sink) = self.sink.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return; // shutting down
        };
        let state: Arc<dyn upkeep_probe::ProbeState> = Arc::new(self.store.clone());
        let ctx = Context::new(Some(state), self.clock.clone()).long_running();
        let jobs: Vec<Arc<dyn Job>> = loaded
            .checks
            .iter()
            .map(|check| Arc::new(CheckJob { check: Arc::clone(check), ctx: ctx.clone() }) as Arc<dyn Job>)
            .collect();
        *slot = Some(Scheduler::start(
            jobs,
            self.clock.clone(),
            loaded.server.concurrency,
            sink,
            Arc::clone(&self.scheduler_metrics),
            &self.run_now,
        ));
    }

    /// Stops scheduling, lets in-flight runs finish, and flushes every result to the store.
    pub async fn shutdown(&self) {
        if let Some(scheduler) = self.scheduler.lock().await.take() {
            scheduler.stop().await;
        }
        self.stop_housekeeping.cancel();
        // The writer ends when every sender is gone; ours is the last one left.
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.await;
        }
        self.housekeeping.abort();
    }

    pub fn checks(&self) -> Arc<Vec<Arc<Check>>> {
        Arc::clone(&self.checks.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Who may use the API and the dashboard, as of the last (re)load.
    pub fn access(&self) -> Arc<upkeep_config::Access> {
        Arc::clone(&self.access.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn live(&self) -> &Live {
        &self.live
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs a job now (a heartbeat after a ping, a backup on request).
    pub fn run_now(&self) -> &RunNow {
        &self.run_now
    }
}
