//! The scheduler: every check on its own cadence, spread by a stable jitter so ten thousand
//! checks do not fire in the same millisecond, never overlapping itself, with at most
//! `concurrency` probes running at once. Stopping lets in-flight runs finish.

use crate::metrics::Metrics;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use upkeep_probe::{Cadence, Check, CheckResult, Context};

pub struct Scheduler {
    tasks: JoinSet<()>,
    cancel: CancellationToken,
}

impl Scheduler {
    pub fn start(
        checks: Vec<Arc<Check>>,
        ctx: Context,
        concurrency: usize,
        sink: mpsc::Sender<CheckResult>,
        metrics: Arc<Metrics>,
    ) -> Scheduler {
        let cancel = CancellationToken::new();
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for check in checks {
            let job = Job {
                check,
                ctx: ctx.clone(),
                permits: Arc::clone(&permits),
                sink: sink.clone(),
                metrics: Arc::clone(&metrics),
                cancel: cancel.clone(),
            };
            tasks.spawn(job.run());
        }
        Scheduler { tasks, cancel }
    }

    /// Stops scheduling; waits for runs already started to finish and hand in their results.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

struct Job {
    check: Arc<Check>,
    ctx: Context,
    permits: Arc<Semaphore>,
    sink: mpsc::Sender<CheckResult>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
}

impl Job {
    async fn run(self) {
        let cadence = self.check.cadence();
        let started = Instant::now();
        // The first run comes within a few seconds (so a new daemon shows data at once); later
        // ones keep the check's stable phase within its interval (so checks stay spread out).
        let mut phase = match &cadence {
            Cadence::Every(every) => Some((started + jitter(&self.check.name, *every), *every)),
            Cadence::Cron(_) => None,
        };
        let mut due = match &cadence {
            Cadence::Every(every) => started + jitter(&self.check.name, (*every).min(FIRST_RUN_SPREAD)),
            Cadence::Cron(_) => match self.cron_due() {
                Some(due) => due,
                None => return,
            },
        };
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep_until(due) => {}
            }
            let permit = tokio::select! {
                _ = self.cancel.cancelled() => return,
                permit = Arc::clone(&self.permits).acquire_owned() => permit,
            };
            self.metrics.lag(Instant::now().saturating_duration_since(due));
            // Not cancelled: a run that has started finishes, bounded by its own timeout. Boxed, so
            // the probe's large future exists only while it runs, not in every sleeping task.
            let result = Box::pin(self.check.run(&self.ctx)).await;
            drop(permit);
            if self.sink.send(result).await.is_err() {
                return;
            }
            due = match &cadence {
                Cadence::Every(every) => match phase.take() {
                    Some((on_phase, _)) if on_phase > Instant::now() => on_phase,
                    Some((on_phase, every)) => next_due(on_phase, every, Instant::now()),
                    None => next_due(due, *every, Instant::now()),
                },
                Cadence::Cron(_) => match self.cron_due() {
                    Some(due) => due,
                    None => return,
                },
            };
        }
    }

    /// The next cron time, as an instant on the monotonic clock.
    fn cron_due(&self) -> Option<Instant> {
        let Cadence::Cron(expression) = self.check.cadence() else { return None };
        let cron = croner::Cron::from_str(&expression).ok()?;
        let now = self.ctx.clock.now();
        let next = next_cron(&cron, now, &jiff::tz::TimeZone::system())?;
        let wait = now.duration_until(next).unsigned_abs();
        Some(Instant::now() + wait)
    }
}

/// How soon after start every interval check has run once.
const FIRST_RUN_SPREAD: Duration = Duration::from_secs(5);

/// A stable offset in `[0, every)` from the check's name: the same check keeps its phase across
/// restarts, and many checks spread evenly over the interval.
pub fn jitter(name: &str, every: Duration) -> Duration {
    // FNV-1a: tiny, stable across builds and platforms (unlike the std hasher).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let span = every.as_micros().max(1) as u64;
    Duration::from_micros(hash % span)
}

/// The due time after `due`: one interval later, skipping ticks that a long run overran, so a
/// check never runs twice to catch up and never overlaps itself.
pub fn next_due(due: Instant, every: Duration, now: Instant) -> Instant {
    let next = due + every;
    if next > now {
        return next;
    }
    let behind = now - next;
    let skipped = behind.as_nanos() / every.as_nanos().max(1) + 1;
    next + every * u32::try_from(skipped).unwrap_or(u32::MAX)
}

/// The first time after `now` that a cron expression names, in `tz`.
pub fn next_cron(cron: &croner::Cron, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> Option<jiff::Timestamp> {
    cron.find_next_occurrence(&now.to_zoned(tz.clone()), false).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_spreads_checks_over_the_interval() {
        let every = Duration::from_secs(10);
        let mut per_second = [0u32; 10];
        for i in 0..10_000 {
            let offset = jitter(&format!("check-{i}"), every);
            assert!(offset < every);
            per_second[offset.as_secs() as usize] += 1;
        }
        // Even spread: each second gets roughly a tenth.
        assert!(per_second.iter().all(|&n| (800..1200).contains(&n)), "{per_second:?}");
        assert_eq!(jitter("api", every), jitter("api", every));
    }

    #[test]
    fn next_due_skips_overrun_ticks_keeping_phase() {
        let t0 = Instant::now();
        let every = Duration::from_secs(10);
        assert_eq!(next_due(t0, every, t0 + Duration::from_secs(1)), t0 + every);
        // A run that took 25 s: the ticks at 10 s and 20 s are skipped, not run late.
        assert_eq!(next_due(t0, every, t0 + Duration::from_secs(25)), t0 + Duration::from_secs(30));
        assert_eq!(next_due(t0, every, t0 + Duration::from_secs(10)), t0 + Duration::from_secs(20));
    }

    #[test]
    fn cron_finds_the_next_time_in_the_given_zone() {
        let cron = croner::Cron::from_str("0 2 * * *").unwrap();
        let utc = jiff::tz::TimeZone::UTC;
        let now: jiff::Timestamp = "2026-11-25T01:59:59Z".parse().unwrap();
        assert_eq!(next_cron(&cron, now, &utc).unwrap().to_string(), "2026-11-25T02:00:00Z");
        let now: jiff::Timestamp = "2026-11-25T02:00:00Z".parse().unwrap();
        assert_eq!(next_cron(&cron, now, &utc).unwrap().to_string(), "2026-11-26T02:00:00Z");
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        // 00:30 UTC is 01:30 in Berlin (CET, UTC+1): 02:00 there comes half an hour later.
        let now: jiff::Timestamp = "2026-11-25T00:30:00Z".parse().unwrap();
        assert_eq!(next_cron(&cron, now, &berlin).unwrap().to_string(), "2026-11-25T01:00:00Z");
        let now: jiff::Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
        assert_eq!(next_cron(&cron, now, &berlin).unwrap().to_string(), "2026-11-26T01:00:00Z");
    }
}
