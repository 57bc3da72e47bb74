//! The scheduler: every job on its own cadence, never overlapping itself, with at most
//! `concurrency` runs at once, and runnable now through a [`RunNow`] handle. Stopping lets
//! runs already started finish and hand in their results.

use crate::cadence::Timeline;
use crate::{Clock, Job};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use upkeep_result::CheckResult;

/// The scheduler's own metrics, registered once and kept across reloads.
#[derive(Debug)]
pub struct SchedulerMetrics {
    lag: Histogram,
}

impl SchedulerMetrics {
    pub fn register(registry: &mut Registry) -> Arc<SchedulerMetrics> {
        let lag = Histogram::new([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]);
        registry.register("scheduler_lag_seconds", "How late each check run started after it was due", lag.clone());
        Arc::new(SchedulerMetrics { lag })
    }
}

/// A request to run a job now; the result is also sent to `done`, when given.
struct Trigger {
    done: Option<oneshot::Sender<CheckResult>>,
}

/// Runs a job now (after a run in progress, if any). Cheap to clone; it follows reloads, so one
/// handle serves the daemon's whole life.
#[derive(Clone, Debug, Default)]
pub struct RunNow {
    triggers: Arc<RwLock<HashMap<String, mpsc::Sender<Trigger>>>>,
}

impl RunNow {
    /// Asks job `name` to run as soon as a slot is free; the receiver gets its result. `None`
    /// when there is no such job, or when a run of it is already waiting to start (that run
    /// serves this request too).
    pub fn run(&self, name: &str) -> Option<oneshot::Receiver<CheckResult>> {
        let (done, result) = oneshot::channel();
        let triggers = self.triggers.read().unwrap_or_else(|e| e.into_inner());
        triggers.get(name)?.try_send(Trigger { done: Some(done) }).ok()?;
        Some(result)
    }

    /// Whether a job of this name is scheduled.
    pub fn knows(&self, name: &str) -> bool {
        self.triggers.read().unwrap_or_else(|e| e.into_inner()).contains_key(name)
    }
}

pub struct Scheduler {
    tasks: JoinSet<()>,
    cancel: CancellationToken,
}

impl Scheduler {
    /// Starts every job; results go to `sink` (a full sink makes jobs wait, never drops).
    pub fn start(
        jobs: Vec<Arc<dyn Job>>,
        clock: Clock,
        concurrency: usize,
        sink: mpsc::Sender<CheckResult>,
        metrics: Arc<SchedulerMetrics>,
        run_now: &RunNow,
    ) -> Scheduler {
        let cancel = CancellationToken::new();
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let mut triggers = HashMap::with_capacity(jobs.len());
        // One start time for all, read now: due times do not depend on when each task first runs.
        let started = clock.now();
        for job in jobs {
            let (trigger, requests) = mpsc::channel(1);
            triggers.insert(job.name().to_string(), trigger);
            let driver = Driver {
                job,
                clock: clock.clone(),
                permits: Arc::clone(&permits),
                sink: sink.clone(),
                metrics: Arc::clone(&metrics),
                cancel: cancel.clone(),
            };
            tasks.spawn(driver.run(started, requests));
        }
        *run_now.triggers.write().unwrap_or_else(|e| e.into_inner()) = triggers;
        Scheduler { tasks, cancel }
    }

    /// Stops scheduling; waits for runs already started to finish and hand in their results.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

struct Driver {
    job: Arc<dyn Job>,
    clock: Clock,
    permits: Arc<Semaphore>,
    sink: mpsc::Sender<CheckResult>,
    metrics: Arc<SchedulerMetrics>,
    cancel: CancellationToken,
}

impl Driver {
    async fn run(self, started: jiff::Timestamp, mut requests: mpsc::Receiver<Trigger>) {
        let mut timeline = Timeline::new(self.job.cadence());
        let mut due = timeline.first(self.job.name(), started);
        loop {
            // Biased: once stopping, nothing new starts, whatever else came due meanwhile.
            let trigger = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return,
                _ = sleep_until(&self.clock, due) => None,
                Some(trigger) = requests.recv() => Some(trigger),
            };
            let permit = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return,
                permit = Arc::clone(&self.permits).acquire_owned() => permit,
            };
            if trigger.is_none()
                && let Some(due) = due
            {
                let lag = due.duration_until(self.clock.now());
                self.metrics.lag.observe(lag.as_secs_f64().max(0.0));
            }
            // A job's run is a boxed future made now, so it exists only while it runs, not in every
            // sleeping task.
            let result = self.job.run().await;
            drop(permit);
            if let Some(Trigger { done: Some(done) }) = trigger {
                let _ = done.send(result.clone());
            }
            if self.sink.send(result).await.is_err() {
                return;
            }
            if let Some(was) = due
                && self.clock.now() >= was
            {
                due = timeline.after(was, self.clock.now());
            }
        }
    }
}

/// Sleeps until `due`, or forever when nothing is due.
async fn sleep_until(clock: &Clock, due: Option<jiff::Timestamp>) {
    match due {
        Some(at) => clock.sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cadence, JobFuture};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;
    use upkeep_result::Status;

    /// A toy job: counts its runs and reports them as results.
    struct Counter {
        name: String,
        cadence: Cadence,
        runs: AtomicU32,
        clock: Clock,
    }

    impl Job for Counter {
        fn name(&self) -> &str {
            &self.name
        }

        fn cadence(&self) -> Cadence {
            self.cadence.clone()
        }

        fn run(&self) -> JobFuture<'_> {
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                CheckResult {
                    check: self.name.clone(),
                    at: self.clock.now(),
                    status: Status::Ok,
                    latency: Duration::from_millis(u64::from(n)),
                    message: None,
                    observations: Default::default(),
                }
            })
        }
    }

    fn start(cadence: Cadence) -> (Clock, Arc<Counter>, Scheduler, mpsc::Receiver<CheckResult>, RunNow) {
        let clock = Clock::manual("2026-12-01T10:00:00Z".parse().unwrap());
        let job = Arc::new(Counter { name: "job".into(), cadence, runs: AtomicU32::new(0), clock: clock.clone() });
        let (sink, results) = mpsc::channel(16);
        let metrics = SchedulerMetrics::register(&mut Registry::default());
        let run_now = RunNow::default();
        let scheduler = Scheduler::start(vec![job.clone()], clock.clone(), 4, sink, metrics, &run_now);
        (clock, job, scheduler, results, run_now)
    }

    #[tokio::test]
    async fn a_job_runs_on_its_cadence_as_the_clock_moves() {
        let (clock, job, scheduler, mut results, _) = start(Cadence::Every(Duration::from_secs(60)));
        // The first run comes within the first five seconds.
        clock.advance(Duration::from_secs(5));
        let first = results.recv().await.unwrap();
        assert_eq!(first.check, "job");
        // Then once a minute, however many times the clock is looked at in between.
        for minute in 1..=3u32 {
            clock.advance(Duration::from_secs(60));
            let next = results.recv().await.unwrap();
            assert_eq!(next.latency, Duration::from_millis(u64::from(minute) + 1));
        }
        assert_eq!(job.runs.load(Ordering::SeqCst), 4);
        scheduler.stop().await;
    }

    #[tokio::test]
    async fn run_now_runs_at_once_and_answers_with_the_result() {
        let (clock, job, scheduler, mut results, run_now) =
            start(Cadence::cron("0 3 * * *", jiff::tz::TimeZone::UTC).unwrap());
        assert!(run_now.run("nope").is_none());
        let answer = run_now.run("job").unwrap();
        let result = answer.await.unwrap();
        assert_eq!(result.check, "job");
        assert_eq!(results.recv().await.unwrap(), result, "the run's result also goes to the writer");
        assert_eq!(job.runs.load(Ordering::SeqCst), 1);
        // Its schedule is unchanged: the next run is at 03:00.
        clock.advance(Duration::from_secs(17 * 3600 - 1));
        tokio::task::yield_now().await;
        assert!(results.try_recv().is_err());
        clock.advance(Duration::from_secs(1));
        assert_eq!(results.recv().await.unwrap().at.to_string(), "2026-12-02T03:00:00Z");
        scheduler.stop().await;
    }
}
