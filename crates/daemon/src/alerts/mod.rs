//! The alert engine in the daemon: a consumer of committed results (a result re-evaluates the
//! rules that read its check) and a timer (rules over history, and time passing over pending
//! and firing alerts). After every evaluation the changed alerts, their events and the last
//! batch taken in are saved in one transaction, so after `kill -9` the engine resumes from its
//! own cursor: nothing is forgotten, and nothing is notified twice.

mod history;
mod recent;

use crate::stream::{Committed, ConsumeFuture, Consumer};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use upkeep_alert::{Engine, Event, Rules, Saved};
use upkeep_probe::Clock;
use upkeep_store::{AlertRow, Store, StoreError};

pub use history::StoreHistory;
use recent::Recent;

/// The alerts the daemon saved, as the store keeps them.
pub async fn stored_alerts(store: &Store) -> Result<Vec<Saved>, StoreError> {
    Ok(decode(store.load_alerts().await?))
}

/// Every silence in the store (`upkeep silence add` and the API write them there).
pub async fn stored_silences(store: &Store) -> Result<Vec<upkeep_alert::Silence>, StoreError> {
    Ok(decode(store.silences().await?))
}

/// The store keeps alert documents it does not interpret; one it cannot read (from a newer
/// version) is skipped rather than failing every read.
fn decode<T: serde::de::DeserializeOwned>(docs: Vec<serde_json::Value>) -> Vec<T> {
    docs.into_iter().filter_map(|doc| serde_json::from_value(doc).ok()).collect()
}

/// Its name in `consumer_cursors`.
const CURSOR: &str = "alerts";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: String,
}

pub struct Alerting {
    engine: Mutex<Engine>,
    store: Store,
    clock: Clock,
    firing: Family<SeverityLabel, Gauge>,
    /// The last hours and days of the checks rules read over windows.
    recent: std::sync::Mutex<Recent>,
    /// The last batch the recent history was seeded with: older ones are in it already.
    seeded: u64,
    /// Woken whenever events were saved, one for each follower (notifications, incidents).
    saved: std::sync::Mutex<Vec<Arc<tokio::sync::Notify>>>,
}

impl Alerting {
    /// The engine with the saved state, and the batch it had taken in last (results committed
    /// after it are replayed to it).
    pub async fn start(
        rules: Arc<Rules>,
        store: Store,
        clock: Clock,
        latest: Vec<upkeep_result::CheckResult>,
        registry: &mut Registry,
    ) -> Result<(Arc<Alerting>, u64), StoreError> {
        let saved = stored_alerts(&store).await?;
        let now = clock.now();
        let (mut engine, mut events) = Engine::new(Arc::clone(&rules), saved, now);
        engine.restore_latest(latest);
        events.extend(engine.set_silences(stored_silences(&store).await?, now));
        seed_flips(&mut engine, &store, &rules, now).await?;
        let cursor = store.consumer_cursor(CURSOR).await?.unwrap_or_else(|| store.last_commit());
        let seeded = store.last_commit();
        let recent = std::sync::Mutex::new(Recent::seed(&rules, &store, now).await?);
        let firing = Family::default();
        registry.register("alerts_firing", "Alerts firing now, by severity", firing.clone());
        let saved = std::sync::Mutex::new(Vec::new());
        let alerting = Arc::new(Alerting { engine: Mutex::new(engine), store, clock, firing, recent, seeded, saved });
        let mut engine = alerting.engine.lock().await;
        alerting.save(&mut engine, events, None).await;
        alerting.count_firing(&engine);
        drop(engine);
        Ok((alerting, cursor))
    }

    /// Puts new rules in force; alerts of rules that stay keep their state.
    pub async fn reload(&self, rules: Arc<Rules>) {
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            let mut tracking = Recent::tracking(&rules);
            tracking.keep_from(std::mem::take(&mut *recent));
            *recent = tracking;
        }
        let mut engine = self.engine.lock().await;
        let events = engine.reload(rules, self.clock.now());
        self.save(&mut engine, events, None).await;
    }

    /// One timer round: the silences as stored (`upkeep silence add` writes them there), what
    /// rules read from history; evaluate, save.
    pub async fn tick(&self) {
        self.refresh_silences().await;
        let now = self.clock.now();
        let rules = Arc::clone(self.engine.lock().await.rules());
        self.recent.lock().unwrap_or_else(|e| e.into_inner()).forget_before(now);
        let history = StoreHistory { store: &self.store, recent: Some(&self.recent), now };
        let fetched = match upkeep_alert::fetch(&rules, &history, now).await {
            Ok(fetched) => fetched,
            Err(e) => {
                tracing::warn!("alert rules could not read history, will retry: {e}");
                return;
            }
        };
        let mut engine = self.engine.lock().await;
        engine.forget_old_flips(now);
        let events = engine.on_tick(fetched, now);
        self.save(&mut engine, events, None).await;
    }

    /// Runs [`Alerting::tick`] every `evaluate_every` until `stop`.
    pub async fn run_timer(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let every = self.engine.lock().await.rules().evaluate_every.max(Duration::from_secs(1));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.clock.sleep(every) => self.tick().await,
            }
        }
    }

    /// Re-reads the silences from the store and puts them in force.
    pub async fn refresh_silences(&self) {
        let silences = match stored_silences(&self.store).await {
            Ok(silences) => silences,
            Err(e) => {
                tracing::warn!("cannot read silences, will retry: {e}");
                return;
            }
        };
        let mut engine = self.engine.lock().await;
        let events = engine.set_silences(silences, self.clock.now());
        self.save(&mut engine, events, None).await;
    }

    /// A new follower's wake-up: woken whenever the engine saved events.
    pub fn events_saved(&self) -> Arc<tokio::sync::Notify> {
        let notify = Arc::new(tokio::sync::Notify::new());
        self.saved.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&notify));
        notify
    }

    /// Every alert as shown: state, since, value, labels, annotations, what mutes it.
    pub async fn list(&self) -> Vec<serde_json::Value> {
        let engine = self.engine.lock().await;
        engine.views(self.clock.now())
    }

    /// Saves what changed, retrying while the store cannot be written: until it is saved, the
    /// engine takes in no more (and a crash replays from the last saved batch).
    async fn save(&self, engine: &mut Engine, events: Vec<Event>, seq: Option<u64>) {
        let changed = engine.take_changed();
        if changed.is_empty() && events.is_empty() && seq.is_none() {
            return;
        }
        let rows: Vec<AlertRow> = changed.iter().map(row).collect();
        let events: Vec<(jiff::Timestamp, String, serde_json::Value)> =
            events.iter().map(|e| (e.at, e.key.clone(), serde_json::to_value(e).unwrap_or_default())).collect();
        let mut backoff = Duration::from_millis(100);
        while let Err(e) = self.store.save_alerts(&rows, &events, seq.map(|s| (CURSOR, s))).await {
            tracing::error!("cannot save alert state, retrying in {backoff:?}: {e}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
        for event in &events {
            tracing::info!(alert = %event.1, "alert {}", event.2["to"].as_str().unwrap_or(""));
        }
        if !events.is_empty() {
            for follower in self.saved.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                follower.notify_one();
            }
        }
        if !rows.is_empty() || !events.is_empty() {
            self.count_firing(engine);
        }
    }

    fn count_firing(&self, engine: &Engine) {
        self.firing.clear();
        for severity in &engine.rules().severities {
            self.firing.get_or_create(&SeverityLabel { severity: severity.clone() }).set(0);
        }
        for alert in engine.alerts().filter(|a| a.memory.state.is_firing()) {
            self.firing.get_or_create(&SeverityLabel { severity: alert.rule.severity.to_string() }).inc();
        }
    }
}

impl Consumer for Alerting {
    fn name(&self) -> &'static str {
        "alerts"
    }

    fn consume<'a>(&'a self, batch: &'a Committed) -> ConsumeFuture<'a> {
        Box::pin(async move {
            if batch.seq > self.seeded {
                let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
                for result in &batch.results {
                    recent.record(result);
                }
            }
            let mut engine = self.engine.lock().await;
            let events = engine.on_results(&batch.results, self.clock.now(), batch.replayed);
            self.save(&mut engine, events, Some(batch.seq)).await;
        })
    }
}

/// Each check's recent status changes, for flapping alerts after a restart.
async fn seed_flips(engine: &mut Engine, store: &Store, rules: &Rules, now: jiff::Timestamp) -> Result<(), StoreError> {
    let windows = rules.rules.iter().filter_map(|r| match &r.condition {
        upkeep_alert::Condition::Flapping { window, .. } => Some(*window),
        _ => None,
    });
    let Some(longest) = windows.max() else { return Ok(()) };
    let since = now.checked_sub(jiff::SignedDuration::try_from(longest).unwrap_or_default()).unwrap_or(now);
    for (check, at) in store.changes_since(since).await? {
        engine.restore_flips(&check, at);
    }
    Ok(())
}

fn row(saved: &Saved) -> AlertRow {
    let forget = saved.memory == upkeep_alert::Memory::default() && !saved.holds;
    AlertRow {
        key: saved.key.clone(),
        state: saved.memory.state.name().to_string(),
        saved: (!forget).then(|| serde_json::to_value(saved).unwrap_or_default()),
    }
}
