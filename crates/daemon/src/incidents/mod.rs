//! Incidents in the daemon: alert events open, join and resolve incidents (`alerts.rs`); a
//! timer steps every watched incident — escalation, targets, reminders — and puts the pages
//! into the outbox (`pages.rs`) in the same transaction as the incident that records them; a
//! P1 captures diagnostics when it opens (`diagnostics.rs`). The CLI and the API change
//! incidents with [`change`], which re-reads and retries when another writer came first, so a
//! CLI acknowledgement and the daemon's timer never overwrite each other.
//!
//! ```text
//! alert events ──(cursor `incidents`)──► open / join / resolve ──► store
//! timer ──► step each watched incident ──► incident + outbox rows, one transaction ──► dispatcher
//! ```

mod alerts;
mod diagnostics;
mod pages;
mod view;

pub use view::{
    IncidentView, OnCallLevel, OnCallSchedule, feed_url, impact, measures, new_override, oncall, postmortem, view,
};

use crate::live::Live;
use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, RwLock};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use upkeep_incident::{AckKey, Incident, Override, Refusal};
use upkeep_plan::Plan;
use upkeep_probe::Clock;
use upkeep_store::{IncidentColumns, IncidentFilter, Store, StoreError};

/// Its name in `consumer_cursors`: the last alert event taken in.
pub const CURSOR: &str = "incidents";

/// The longest the timer sleeps: incidents opened by the CLI are picked up within this.
const MAX_SLEEP: SignedDuration = SignedDuration::from_secs(15);

/// Incidents watched per step.
const WATCHED: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("there is no incident #{0}")]
    NotFound(i64),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The key that signs acknowledge links and feed tokens: `[incidents] secret`, or the key file
/// `incident.key` in `data_dir`, made on first use.
pub fn ack_key(plan: &Plan) -> Result<AckKey, String> {
    if let Some(secret) = &plan.incidents.secret {
        return Ok(AckKey::new(secret.as_bytes()));
    }
    let path = plan.server.data_dir.join("incident.key");
    let (secret, _) = upkeep_backup::generated_secret(&path)?;
    Ok(AckKey::new(secret.as_bytes()))
}

/// An incident and the version it was read at.
pub async fn load(store: &Store, id: i64) -> Result<Option<(Incident, i64)>, StoreError> {
    Ok(store.incident(id).await?.and_then(|row| {
        let mut incident: Incident = serde_json::from_value(row.doc).ok()?;
        incident.id = row.id;
        Some((incident, row.version))
    }))
}

/// Incidents as the filter says, newest first.
pub async fn list(store: &Store, filter: &IncidentFilter) -> Result<Vec<(Incident, i64)>, StoreError> {
    Ok(store
        .incidents(filter)
        .await?
        .into_iter()
        .filter_map(|row| {
            let mut incident: Incident = serde_json::from_value(row.doc).ok()?;
            incident.id = row.id;
            Some((incident, row.version))
        })
        .collect())
}

pub(crate) fn doc(i: &Incident) -> serde_json::Value {
    serde_json::to_value(i).unwrap_or_default()
}

pub(crate) fn columns(plan: &Plan, i: &Incident) -> IncidentColumns {
    IncidentColumns {
        severity: i.severity.clone(),
        status: i.status.as_str().into(),
        group: i.group.clone(),
        opened: i.opened_at,
        resolved: i.resolved_at,
        watched: i.watched(&rules(plan, i)),
    }
}

pub(crate) fn rules<'a>(plan: &'a Plan, i: &Incident) -> upkeep_incident::Rules<'a> {
    let incidents = &plan.incidents;
    upkeep_incident::Rules {
        severity: incidents.severity(&i.severity),
        policy: incidents.policy_for(&i.severity),
        postmortem_after: incidents.postmortem_after,
        follow_up: incidents.follow_up,
    }
}

/// Makes a change to incident `id` (by hand: the CLI, the API, an acknowledge link), reading it
/// again and redoing the change if another writer saved it in between.
pub async fn change<F>(store: &Store, plan: &Plan, id: i64, mut f: F) -> Result<Incident, ChangeError>
where
    F: FnMut(&mut Incident) -> Result<(), Refusal>,
{
    loop {
        let Some((mut incident, version)) = load(store, id).await? else { return Err(ChangeError::NotFound(id)) };
        f(&mut incident).map_err(|r| ChangeError::Refused(r.to_string()))?;
        let doc = serde_json::to_value(&incident).unwrap_or_default();
        if store.update_incident(id, version, &columns(plan, &incident), &doc, &[], None).await? {
            return Ok(incident);
        }
    }
}

/// Acknowledges by a signed link: the token must be this key's, unexpired, and its incident not
/// yet acknowledged (so a link works once). The author is the person the page went to.
pub async fn acknowledge_by_link(
    store: &Store,
    plan: &Plan,
    key: &AckKey,
    token: &str,
    now: Timestamp,
) -> Result<Incident, ChangeError> {
    let t = key.verify(token, now).map_err(|e| ChangeError::Refused(e.to_string()))?;
    let by = t.person.clone().unwrap_or_else(|| "acknowledge link".into());
    let via = match t.level {
        Some(level) => format!("link of the level {} page", level + 1),
        None => "link".into(),
    };
    change(store, plan, t.incident, |i| i.acknowledge(&by, now, Some(&via))).await
}

/// Opens an incident by hand; the daemon pages its first level at its next step.
pub async fn open(
    store: &Store,
    plan: &Plan,
    opening: upkeep_incident::Opening,
    now: Timestamp,
) -> Result<Incident, StoreError> {
    let incidents = &plan.incidents;
    let policy = incidents.policy_for(&opening.severity).map(|p| p.name.clone());
    let severity = incidents.severity(&opening.severity);
    let mut incident = Incident::open(opening, now, severity, policy.as_deref(), incidents.breach_deadline);
    let doc = serde_json::to_value(&incident).unwrap_or_default();
    incident.id = store.insert_incident(&columns(plan, &incident), &doc, None).await?;
    Ok(incident)
}

/// The overrides set with the CLI or the API that still matter at `now`.
pub async fn stored_overrides(store: &Store, now: Timestamp) -> Result<Vec<Override>, StoreError> {
    Ok(store
        .overrides(now.checked_sub(SignedDuration::from_hours(24 * 31)).unwrap_or(now))
        .await?
        .into_iter()
        .filter_map(|d| serde_json::from_value(d).ok())
        .collect())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct SeverityLabel {
    severity: String,
}

/// `upkeep_incidents_open{severity}`: every configured severity, 0 when none is open.
#[derive(Clone)]
pub struct IncidentMetrics {
    open: prometheus_client::metrics::family::Family<SeverityLabel, prometheus_client::metrics::gauge::Gauge>,
}

impl IncidentMetrics {
    pub fn register(registry: &mut prometheus_client::registry::Registry) -> IncidentMetrics {
        let m = IncidentMetrics { open: Default::default() };
        registry.register("incidents_open", "Incidents not yet resolved, by severity", m.open.clone());
        m
    }

    pub async fn set(&self, plan: &Plan, store: &Store) -> Result<(), StoreError> {
        let open = list(store, &IncidentFilter { open: true, limit: 10_000, ..Default::default() }).await?;
        self.open.clear();
        for s in &plan.incidents.severities {
            let n = open.iter().filter(|(i, _)| i.severity == s.id).count();
            self.open.get_or_create(&SeverityLabel { severity: s.id.clone() }).set(n as i64);
        }
        Ok(())
    }
}

/// Incidents, started with the daemon.
pub struct Incidents {
    store: Store,
    clock: Clock,
    plan: Arc<RwLock<Arc<Plan>>>,
    live: Arc<Live>,
    key: AckKey,
    /// Woken when the alert engine saved events.
    events: Arc<Notify>,
    /// Woken by a change made here (the API), so the timer looks again.
    wake: Arc<Notify>,
    /// Woken when pages were written.
    outbox: Arc<Notify>,
    /// One step at a time.
    stepping: Mutex<()>,
    /// Incidents whose diagnostics are being captured.
    capturing: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
}

impl Incidents {
    pub fn new(
        store: Store,
        clock: Clock,
        plan: Arc<RwLock<Arc<Plan>>>,
        live: Arc<Live>,
        key: AckKey,
        events: Arc<Notify>,
        outbox: Arc<Notify>,
    ) -> Incidents {
        Incidents {
            store,
            clock,
            plan,
            live,
            key,
            events,
            wake: Arc::new(Notify::new()),
            outbox,
            stepping: Mutex::new(()),
            capturing: Arc::default(),
        }
    }

    pub fn key(&self) -> &AckKey {
        &self.key
    }

    fn plan(&self) -> Arc<Plan> {
        Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Takes in alert events and steps incidents until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let next = self.step().await;
            let wait = next.unwrap_or(Timestamp::MAX).min(self.clock.now() + MAX_SLEEP);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.events.notified() => {}
                _ = self.wake.notified() => {}
                _ = self.clock.sleep_until(wait) => {}
            }
        }
    }

    /// Asks the timer to look again now (after a change by hand).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// One pass: new alert events, then every watched incident; returns when the next thing is due.
    pub async fn step(&self) -> Option<Timestamp> {
        let _one = self.stepping.lock().await;
        let plan = self.plan();
        if let Err(e) = alerts::take_events(&self.store, &plan, &self.clock).await {
            tracing::warn!("cannot take alert events into incidents, will retry: {e}");
            return Some(self.clock.now() + SignedDuration::from_secs(5));
        }
        match self.step_watched(&plan).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!("cannot step incidents, will retry: {e}");
                Some(self.clock.now() + SignedDuration::from_secs(5))
            }
        }
    }

    async fn step_watched(&self, plan: &Plan) -> Result<Option<Timestamp>, StoreError> {
        let filter = IncidentFilter { watched: true, limit: WATCHED, ..Default::default() };
        let mut next: Option<Timestamp> = None;
        let overrides = stored_overrides(&self.store, self.clock.now()).await?;
        for (incident, version) in list(&self.store, &filter).await? {
            let due = self.step_one(plan, incident, version, &overrides).await?;
            next = match (next, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(next)
    }

    /// Captures diagnostics off the timer (the first page does not wait for `ps` on a sick
    /// machine), then adds them to the incident; once per incident at a time.
    fn capture(&self, incident: Incident, now: Timestamp) {
        if !self.capturing.lock().unwrap_or_else(|e| e.into_inner()).insert(incident.id) {
            return;
        }
        let (store, plan, live, capturing) =
            (self.store.clone(), self.plan(), Arc::clone(&self.live), Arc::clone(&self.capturing));
        tokio::spawn(async move {
            let mut scratch = incident.clone();
            diagnostics::capture(&plan, &live, &mut scratch, now).await;
            if let Some(entry) = scratch.timeline.pop() {
                let added = change(&store, &plan, incident.id, |i| {
                    if !i.timeline.iter().any(|e| e.kind == "diagnostics") {
                        i.timeline.push(entry.clone());
                    }
                    Ok(())
                })
                .await;
                if let Err(e) = added {
                    tracing::warn!(incident = incident.id, "cannot save the diagnostics: {e}");
                }
            }
            capturing.lock().unwrap_or_else(|e| e.into_inner()).remove(&incident.id);
        });
    }

    /// Steps one incident; on a conflict with another writer, reads it again and redoes it.
    async fn step_one(
        &self,
        plan: &Plan,
        mut incident: Incident,
        mut version: i64,
        overrides: &[Override],
    ) -> Result<Option<Timestamp>, StoreError> {
        loop {
            let now = self.clock.now();
            let before = incident.clone();
            let (due, next) = incident.step(now, &rules(plan, &incident));
            let mut new = pages::notifications(plan, &self.key, &mut incident, &due, overrides, now);
            new.extend(pages::resolved(plan, &mut incident, now));
            let saved = incident == before
                || self
                    .store
                    .update_incident(incident.id, version, &columns(plan, &incident), &doc(&incident), &new, None)
                    .await?;
            if saved {
                if !new.is_empty() {
                    self.outbox.notify_one();
                }
                if diagnostics::wanted(plan, &incident, now) {
                    self.capture(incident, now);
                }
                return Ok(next);
            }
            let Some((fresh, v)) = load(&self.store, incident.id).await? else { return Ok(None) };
            (incident, version) = (fresh, v);
        }
    }
}
