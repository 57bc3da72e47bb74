//! The running monitor: every job on its schedule, results committed to the store by one
//! writer and published to the consumers of committed results, the live state `/health`, the
//! API and the dashboard read, Prometheus metrics, and housekeeping.
//!
//! ```text
//! scheduler ──(bounded channel)──► writer ──► store (batched, sequence-numbered)
//!   ▲ run now (/ping)                 │
//!                                     └──► stream of committed batches ──► live state
//!                                                                     ├──► check metrics
//!                                                                     └──► alerts (+ a timer)
//! alert events ──► notify router (groups) ──► outbox ──► dispatcher ──► channels
//! alert events ──► incidents ──(escalation timer)──► pages ──► outbox
//! maintenance windows ──(notice, start, end)──► outbox, and the app's maintenance mode
//! housekeeping: compaction every 10 seconds, retention every hour
//! ```
//!
//! The config in force is one snapshot ([`Plan`]): a reload replaces it whole, so no reader
//! sees half of one config and half of another.

mod alerts;
pub mod backups;
mod health;
mod housekeeping;
pub mod incidents;
mod live;
pub mod maintenance;
mod metrics;
mod missed;
pub mod notify;
mod slo_metrics;
mod stream;
mod windows;
mod writer;

pub use alerts::{Alerting, StoreHistory, stored_alerts, stored_silences};
pub use health::{CheckState, Health, Overall, health};
pub use live::{Live, LiveCheck};
pub use metrics::{CheckMetrics, Metrics};
pub use stream::{Committed, ConsumeFuture, Consumer, Stream};

use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use upkeep_plan::Plan;
use upkeep_probe::{CheckJob, Clock, Context};
use upkeep_result::CheckResult;
use upkeep_schedule::{Job, RunNow, Scheduler, SchedulerMetrics};
use upkeep_store::Store;

pub use upkeep_config::Retention;
pub use upkeep_maintain::TASK_KIND;

/// How the daemon is put together beyond its config; the defaults are production's.
pub struct Options {
    /// Results waiting for the writer; a full queue makes jobs wait rather than lose results.
    pub queue: usize,
    /// Committed batches a consumer may fall behind before it re-reads from the store.
    pub stream_capacity: usize,
    /// Consumers of committed results besides the live state and the check metrics.
    pub consumers: Vec<Arc<dyn Consumer>>,
}

impl Default for Options {
    fn default() -> Self {
        Options { queue: 16_384, stream_capacity: stream::DEFAULT_CAPACITY, consumers: Vec::new() }
    }
}

pub struct Daemon {
    store: Store,
    live: Arc<Live>,
    metrics: Metrics,
    check_metrics: Arc<CheckMetrics>,
    slo_metrics: slo_metrics::SloMetrics,
    backup_metrics: backups::BackupMetrics,
    alerting: Arc<Alerting>,
    notifying: Arc<notify::Notifying>,
    incidents: Arc<incidents::Incidents>,
    incident_metrics: incidents::IncidentMetrics,
    clock: Clock,
    /// The config in force, replaced whole on reload.
    plan: Arc<RwLock<Arc<Plan>>>,
    /// Woken on reload, for the maintenance windows' job.
    reloaded: Arc<tokio::sync::Notify>,
    scheduler: Mutex<Option<Scheduler>>,
    scheduler_metrics: Arc<SchedulerMetrics>,
    run_now: RunNow,
    /// Taken at shutdown: once the scheduler's clones are gone too, the writer drains and ends.
    sink: std::sync::Mutex<Option<mpsc::Sender<CheckResult>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    consumers: Mutex<Vec<JoinHandle<()>>>,
    housekeeping: Mutex<Option<JoinHandle<()>>>,
    alert_timer: Mutex<Option<JoinHandle<()>>>,
    notify_tasks: Mutex<Vec<JoinHandle<()>>>,
    stop: CancellationToken,
}

impl Daemon {
    /// Rebuilds the live state from the store, then starts the writer, the consumers of
    /// committed results, the scheduler and housekeeping.
    pub async fn start(
        plan: &Plan,
        store: Store,
        clock: Clock,
        options: Options,
    ) -> Result<Arc<Daemon>, upkeep_store::StoreError> {
        let live = Arc::new(Live::default());
        live.restore(&store, &plan.checks).await?;
        let mut registry = prometheus_client::registry::Registry::with_prefix("upkeep");
        let check_metrics = Arc::new(CheckMetrics::register(&mut registry));
        for check in plan.checks.iter() {
            if let Some(latest) = live.get(&check.name) {
                check_metrics.restore(&check.name, latest.result.is_ok());
            }
        }
        let scheduler_metrics = SchedulerMetrics::register(&mut registry);
        let slo_metrics = slo_metrics::SloMetrics::register(&mut registry);
        let backup_metrics = backups::BackupMetrics::register(&mut registry);
        let writer_metrics = writer::WriterMetrics::register(&mut registry);
        let incident_metrics = incidents::IncidentMetrics::register(&mut registry);
        let latest = plan.checks.iter().filter_map(|c| live.get(&c.name).map(|l| l.result.clone())).collect();
        // Before the engine starts: the events it saves at start (resolves of removed rules) notify.
        let notify_after = notify::Notifying::cursor(&store).await?;
        let (alerting, alerts_after) =
            Alerting::start(Arc::clone(&plan.alerts), store.clone(), clock.clone(), latest, &mut registry).await?;
        let stop = CancellationToken::new();
        let (notifying, notify_tasks) = notify::Notifying::start(
            plan,
            store.clone(),
            clock.clone(),
            notify_after,
            alerting.events_saved(),
            &mut registry,
            stop.clone(),
        )
        .await?;

        let stream = Stream::new(options.stream_capacity);
        let after = store.last_commit();
        let mut consumers: Vec<Arc<dyn Consumer>> =
            vec![Arc::clone(&live) as Arc<dyn Consumer>, Arc::clone(&check_metrics) as Arc<dyn Consumer>];
        consumers.extend(options.consumers);
        let mut consumers: Vec<JoinHandle<()>> =
            consumers.into_iter().map(|c| stream.subscribe(c, store.clone(), after)).collect();
        // The alert engine resumes from its own cursor: what it had not taken in before a crash
        // is replayed to it.
        let alert_consumer = Arc::clone(&alerting) as Arc<dyn Consumer>;
        consumers.push(stream.subscribe(alert_consumer, store.clone(), alerts_after.min(after)));
        let (sink, results) = mpsc::channel(options.queue.max(1));
        let writer = tokio::spawn(writer::run(results, store.clone(), stream, writer_metrics));
        for result in missed::missed_runs(plan, &store, clock.now()).await? {
            let _ = sink.send(result).await;
        }

        let grace = plan.checks.iter().map(|c| c.timeout).max().unwrap_or_default() + Duration::from_secs(60);
        let housekeeping =
            tokio::spawn(housekeeping::run(store.clone(), clock.clone(), plan.retention, grace, stop.clone()));
        let alert_timer = tokio::spawn(Arc::clone(&alerting).run_timer(stop.clone()));
        let plan_in_force = Arc::new(RwLock::new(Arc::new(plan.clone())));
        let reloaded = Arc::new(tokio::sync::Notify::new());
        let windows = windows::Windows {
            store: store.clone(),
            clock: clock.clone(),
            plan: Arc::clone(&plan_in_force),
            notifying: Arc::clone(&notifying),
            reloaded: Arc::clone(&reloaded),
        };
        let mut notify_tasks = notify_tasks;
        notify_tasks.push(tokio::spawn(Arc::new(windows).run(stop.clone())));
        let key = incidents::ack_key(plan).map_err(|e| upkeep_store::StoreError::CreateDir {
            path: plan.server.data_dir.clone(),
            source: std::io::Error::other(e),
        })?;
        let incidents = Arc::new(incidents::Incidents::new(
            store.clone(),
            clock.clone(),
            Arc::clone(&plan_in_force),
            Arc::clone(&live),
            key,
            alerting.events_saved(),
            notifying.outbox_wake(),
        ));
        notify_tasks.push(tokio::spawn(Arc::clone(&incidents).run(stop.clone())));
        let daemon = Arc::new(Daemon {
            store,
            live,
            metrics: Metrics::new(registry),
            check_metrics,
            slo_metrics,
            backup_metrics,
            alerting,
            notifying,
            incidents,
            incident_metrics,
            clock,
            plan: plan_in_force,
            reloaded,
            scheduler: Mutex::new(None),
            scheduler_metrics,
            run_now: RunNow::default(),
            sink: std::sync::Mutex::new(Some(sink)),
            writer: Mutex::new(Some(writer)),
            consumers: Mutex::new(consumers),
            housekeeping: Mutex::new(Some(housekeeping)),
            alert_timer: Mutex::new(Some(alert_timer)),
            notify_tasks: Mutex::new(notify_tasks),
            stop,
        });
        daemon.schedule(plan).await;
        Ok(daemon)
    }

    /// Replaces the config in force with a new one, whole. In-flight runs of the old checks
    /// finish and are kept.
    pub async fn reload(&self, plan: &Plan) {
        self.schedule(plan).await;
        self.notifying.reload(plan);
        self.alerting.reload(Arc::clone(&plan.alerts)).await;
        self.reloaded.notify_one();
    }

    async fn schedule(&self, plan: &Plan) {
        let mut slot = self.scheduler.lock().await;
        if let Some(old) = slot.take() {
            old.stop().await;
        }
        let names: Vec<String> = plan.checks.iter().map(|c| c.name.clone()).collect();
        *self.plan.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(plan.clone());
        // After the new config is in place: this bumps the live version readers cache by.
        self.live.retain(&names);
        self.check_metrics.retain(&names);
        let thresholds = upkeep_slo::latency_thresholds(plan.slos.iter().map(|s| &**s));
        self.store.track_thresholds(thresholds.clone());
        self.check_metrics.track_thresholds(thresholds);
        let Some(sink) = self.sink.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return; // shutting down
        };
        let state: Arc<dyn upkeep_probe::ProbeState> = Arc::new(self.store.clone());
        let ctx = Context::new(Some(state), self.clock.clone()).long_running();
        let jobs: Vec<Arc<dyn Job>> = plan
            .checks
            .iter()
            .map(|check| Arc::new(CheckJob { check: Arc::clone(check), ctx: ctx.clone() }) as Arc<dyn Job>)
            .collect();
        *slot = Some(Scheduler::start(
            jobs,
            self.clock.clone(),
            plan.server.concurrency,
            sink,
            Arc::clone(&self.scheduler_metrics),
            &self.run_now,
        ));
    }

    /// Stops scheduling, lets in-flight runs finish, commits every result and lets every
    /// consumer take them in.
    pub async fn shutdown(&self) {
        if let Some(scheduler) = self.scheduler.lock().await.take() {
            scheduler.stop().await;
        }
        self.stop.cancel();
        // The writer ends when every sender is gone; ours is the last one left. Its stream
        // closes with it, and the consumers end once they have taken in the last batch.
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.await;
        }
        for consumer in self.consumers.lock().await.drain(..) {
            let _ = consumer.await;
        }
        if let Some(housekeeping) = self.housekeeping.lock().await.take() {
            let _ = housekeeping.await;
        }
        if let Some(timer) = self.alert_timer.lock().await.take() {
            let _ = timer.await;
        }
        for task in self.notify_tasks.lock().await.drain(..) {
            let _ = task.await;
        }
    }

    /// The config in force: one snapshot, whole.
    pub fn plan(&self) -> Arc<Plan> {
        Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()))
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

    /// Where every SLO stands now, from the store, in config order.
    pub async fn slo_reports(&self) -> Result<Vec<upkeep_slo::Report>, String> {
        let plan = self.plan();
        let now = self.clock.now();
        let mut reports = Vec::with_capacity(plan.slos.len());
        for slo in &plan.slos {
            reports.push(upkeep_slo::report(slo, &self.store, now).await?);
        }
        Ok(reports)
    }

    /// Brings the SLO metrics up to date, for a scrape of `/metrics`.
    pub async fn refresh_slo_metrics(&self) -> Result<(), String> {
        self.slo_metrics.set(&self.slo_reports().await?);
        Ok(())
    }

    /// Brings the backup metrics up to date, for a scrape of `/metrics`.
    pub async fn refresh_backup_metrics(&self) -> Result<(), String> {
        let plan = self.plan();
        let statuses = backups::statuses(&plan, &self.store, self.clock.now()).await.map_err(|e| e.to_string())?;
        self.backup_metrics.set(&statuses);
        Ok(())
    }

    /// The alert engine: every alert's state, and a timer round on demand.
    pub fn alerting(&self) -> &Alerting {
        &self.alerting
    }

    /// Incidents: the timer that escalates them, and the key of their links.
    pub fn incidents(&self) -> &incidents::Incidents {
        &self.incidents
    }

    /// Brings `upkeep_incidents_open` up to date, for a scrape of `/metrics`.
    pub async fn refresh_incident_metrics(&self) -> Result<(), String> {
        let plan = self.plan();
        self.incident_metrics.set(&plan, &self.store).await.map_err(|e| e.to_string())
    }

    /// Notifications: test sends and the outbox's metrics.
    pub fn notifying(&self) -> &notify::Notifying {
        &self.notifying
    }

    /// Runs a job now (a heartbeat after a ping, a backup on request).
    pub fn run_now(&self) -> &RunNow {
        &self.run_now
    }
}
