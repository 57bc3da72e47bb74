//! The dispatcher: sends the outbox's due notifications, each channel in order and no faster
//! than it takes (`min_interval`), each channel in its own task so a receiver that hangs holds
//! up only its own channel, and records every attempt: delivered (with the receiver's
//! answer), due again after a backoff with jitter (at least its `Retry-After`), failed for good
//! (a 4xx other than 408 and 429, with the answer), or expired (still failing when its time ran
//! out). A delivery is recorded right after it happens, in small batches: a crash can at most
//! resend the few sent since the last record, each with its idempotency key.

use super::{Metrics, NotifyPlan};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use upkeep_notify::{Message, Outcome};
use upkeep_probe::Clock;
use upkeep_store::{Attempted, Delivery, Notification, Store};

/// Due notifications read per round.
const BATCH: u32 = 500;
/// Attempts recorded together.
const RECORD_EVERY: usize = 64;
/// How often an idle dispatcher looks for notifications written by another process
/// (`upkeep alert test` when its own attempt failed).
const IDLE_POLL: Duration = Duration::from_secs(1);

pub struct Dispatcher {
    pub store: Store,
    pub clock: Clock,
    pub plan: Arc<RwLock<Arc<NotifyPlan>>>,
    pub wake: Arc<Notify>,
    pub metrics: Metrics,
}

/// The channels being sent to, each by its own task, and when each last sent.
#[derive(Default)]
struct Lanes {
    running: JoinSet<(String, Option<Instant>)>,
    busy: HashSet<String>,
    last_sent: HashMap<String, Instant>,
}

impl Lanes {
    fn finished(&mut self, done: Result<(String, Option<Instant>), tokio::task::JoinError>) {
        match done {
            Ok((channel, last)) => {
                if let Some(last) = last {
                    self.last_sent.insert(channel.clone(), last);
                }
                self.busy.remove(&channel);
            }
            // A lane that panicked leaves its channel busy until the daemon restarts; the
            // notifications stay pending in the outbox.
            Err(e) => tracing::error!("a notification lane ended abnormally: {e}"),
        }
    }
}

impl Dispatcher {
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut lanes = Lanes::default();
        self.metrics.refresh_pending(&self.store).await;
        loop {
            if self.round(&mut lanes, &stop).await > 0 {
                continue;
            }
            // While lanes run, what is due is mostly theirs: wait for one to finish (or for new
            // notifications) rather than re-reading the outbox in a spin; a retry that falls due
            // for another channel meanwhile waits at most `IDLE_POLL`.
            let wait = if lanes.running.is_empty() {
                let next = self.store.next_notification_due().await.ok().flatten();
                next.map(|at| self.clock.now().duration_until(at).unsigned_abs()).unwrap_or(IDLE_POLL).min(IDLE_POLL)
            } else {
                IDLE_POLL
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
                Some(done) = lanes.running.join_next(), if !lanes.running.is_empty() => {
                    lanes.finished(done);
                    self.metrics.refresh_pending(&self.store).await;
                }
                _ = self.clock.sleep(wait) => {}
            }
        }
        // Each lane stops after the attempt in flight and records what it did.
        while let Some(done) = lanes.running.join_next().await {
            lanes.finished(done);
        }
    }

    /// Hands what is due now to a lane per channel not already being sent to; returns how many
    /// notifications it handed over.
    async fn round(self: &Arc<Self>, lanes: &mut Lanes, stop: &CancellationToken) -> usize {
        let now = self.clock.now();
        let due = match self.store.due_notifications(now, BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cannot read the outbox, will retry: {e}");
                return 0;
            }
        };
        let plan = Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()));
        let mut by_channel: HashMap<String, Vec<Notification>> = HashMap::new();
        for n in due.into_iter().filter(|n| !lanes.busy.contains(&n.channel)) {
            by_channel.entry(n.channel.clone()).or_default().push(n);
        }
        let count = by_channel.values().map(Vec::len).sum();
        for (channel, list) in by_channel {
            let gap = plan.notifications.channel(&channel).map_or(Duration::ZERO, |c| c.min_gap);
            let last = lanes.last_sent.get(&channel).copied();
            let (me, plan, stop) = (Arc::clone(self), Arc::clone(&plan), stop.clone());
            lanes.busy.insert(channel.clone());
            lanes.running.spawn(async move {
                let last = me.lane(&plan, list, gap, last, &stop).await;
                me.wake.notify_one();
                (channel, last)
            });
        }
        count
    }

    /// One channel's due notifications, in order, `gap` apart.
    async fn lane(
        &self,
        plan: &NotifyPlan,
        list: Vec<Notification>,
        gap: Duration,
        mut last: Option<Instant>,
        stop: &CancellationToken,
    ) -> Option<Instant> {
        let mut done = Vec::with_capacity(RECORD_EVERY);
        let mut list = list.into_iter();
        while let Some(n) = list.next() {
            if stop.is_cancelled() {
                break;
            }
            if let Some(wait) = last.map(|l| gap.saturating_sub(l.elapsed())).filter(|w| !w.is_zero()) {
                tokio::time::sleep(wait).await;
            }
            let outcome = attempt(plan, &n).await;
            last = Some(Instant::now());
            let attempted = self.metrics.count(settle(&n, outcome, self.clock.now()), &n.channel);
            // The receiver is down or busy: the rest of this channel's wait with this one,
            // rather than each costing an attempt (or a timeout) now.
            let wait_until = (attempted.state == Delivery::Pending).then_some(attempted.due);
            done.push(attempted);
            if let Some(due) = wait_until {
                let rest: Vec<i64> = list.by_ref().map(|n| n.id).collect();
                self.record(std::mem::take(&mut done)).await;
                self.defer(&rest, due).await;
                break;
            }
            if done.len() >= RECORD_EVERY {
                self.record(std::mem::take(&mut done)).await;
            }
        }
        self.record(done).await;
        last
    }

    async fn defer(&self, ids: &[i64], due: jiff::Timestamp) {
        if ids.is_empty() {
            return;
        }
        if let Err(e) = self.store.defer_notifications(ids, due).await {
            tracing::warn!("cannot defer notifications, they are tried again at once: {e}");
        }
    }

    /// Records attempts, retrying while the store cannot be written (a delivery that is not
    /// recorded would be sent again).
    async fn record(&self, attempts: Vec<Attempted>) {
        if attempts.is_empty() {
            return;
        }
        let mut backoff = Duration::from_millis(100);
        while let Err(e) = self.store.record_attempts(&attempts).await {
            tracing::error!("cannot record deliveries, retrying in {backoff:?}: {e}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// One attempt at sending `n` through its channel.
pub async fn attempt(plan: &NotifyPlan, n: &Notification) -> Outcome {
    let Some(channel) = plan.notifications.channel(&n.channel) else {
        return Outcome::Failed { error: format!("channel `{}` is no longer configured", n.channel) };
    };
    let message: Message = match serde_json::from_value(n.message.clone()) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed { error: format!("the stored message cannot be read: {e}") },
    };
    channel.channel.send(&message, &plan.sender).await
}

/// What an attempt's outcome means for the notification.
pub fn settle(n: &Notification, outcome: Outcome, now: jiff::Timestamp) -> Attempted {
    let done = |state, error, answer| Attempted { id: n.id, state, due: now, error, answer, at: now };
    match outcome {
        Outcome::Delivered { answer } => done(Delivery::Delivered, None, Some(answer)),
        Outcome::Failed { error } => done(Delivery::Failed, Some(error), None),
        Outcome::Retry { error, after } => {
            let wait = upkeep_notify::backoff(n.attempts + 1, after);
            let due = now + jiff::SignedDuration::try_from(wait).unwrap_or_default();
            if due > n.expires {
                done(Delivery::Expired, Some(error), None)
            } else {
                Attempted { id: n.id, state: Delivery::Pending, due, error: Some(error), answer: None, at: now }
            }
        }
    }
}
