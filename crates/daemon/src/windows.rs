//! Maintenance windows beyond muting: at each window's notice time, start and end, its
//! announcement goes to its `announce` channels through the outbox, and a window with
//! `mode = true` switches the app's maintenance mode on at its start and off at its end (the
//! `off` gated on the checks, as `upkeep maintenance off` is, and audited as `upkeep`). The
//! time of the last pass is kept in the store with the announcements it wrote, so after a
//! restart nothing is said twice and a window missed while down is not switched
//! ([`MaintenanceWindow::due`] has the rules).

use crate::notify::Notifying;
use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use upkeep_alert::{Due, MaintenanceWindow, Phase};
use upkeep_notify::{Announcement, Message};
use upkeep_plan::Plan;
use upkeep_probe::Clock;
use upkeep_store::{AuditEntry, NewNotification, Store};

/// Its name in `consumer_cursors`: the last pass, in milliseconds.
pub const CURSOR: &str = "windows";

/// The longest it sleeps between passes, in case the config's windows change under it.
const MAX_SLEEP: SignedDuration = SignedDuration::from_hours(1);

pub struct Windows {
    pub store: Store,
    pub clock: Clock,
    pub plan: Arc<RwLock<Arc<Plan>>>,
    pub notifying: Arc<Notifying>,
    /// Woken on reload.
    pub reloaded: Arc<Notify>,
}

impl Windows {
    /// A pass now, then one at each window's next phase, until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let next = self.pass().await;
            let wait = next.unwrap_or(Timestamp::MAX).min(self.clock.now() + MAX_SLEEP);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.reloaded.notified() => {}
                _ = self.clock.sleep_until(wait) => {}
            }
        }
    }

    /// Announces and switches what is due now; returns when the next phase of any window is.
    pub async fn pass(&self) -> Option<Timestamp> {
        let plan = Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()));
        let now = self.clock.now();
        let last = match self.store.consumer_cursor(CURSOR).await {
            Ok(ms) => ms.and_then(|ms| Timestamp::from_millisecond(ms as i64).ok()),
            Err(e) => {
                tracing::warn!("cannot read the maintenance windows' cursor, will retry: {e}");
                return Some(now + SignedDuration::from_secs(10));
            }
        };
        let windows = &plan.alerts.mutes.windows;
        let mut new = Vec::new();
        for window in windows {
            for due in window.due(last, now) {
                if due.switch && window.mode.is_some() {
                    switch_mode(&plan, &self.store, window, &due, now).await;
                }
                new.extend(announcements(&plan, window, &due, now));
            }
        }
        if let Err(e) = self.notifying.enqueue(&new, Some((CURSOR, now.as_millisecond()))).await {
            // The cursor did not move: the next pass says it again (the outbox takes it once).
            tracing::warn!("cannot save the maintenance announcements, will retry: {e}");
            return Some(now + SignedDuration::from_secs(10));
        }
        windows.iter().filter_map(|w| w.next_phase(now)).min()
    }
}

/// One outbox row per `announce` channel for this phase of this occurrence.
fn announcements(plan: &Plan, window: &MaintenanceWindow, due: &Due, now: Timestamp) -> Vec<NewNotification> {
    if window.announce.is_empty() {
        return Vec::new();
    }
    let announcement = Announcement {
        window: window.name.clone(),
        phase: due.phase.as_str().into(),
        starts_at: due.start,
        ends_at: due.end,
        components: window.components.clone(),
        description: window.description.clone(),
    };
    let link = format!("{}/tasks", plan.server.base_url());
    let message = Message::maintenance(announcement, &window.zone, now, &link);
    let doc = serde_json::to_value(&message).unwrap_or_default();
    let expires = now + SignedDuration::try_from(plan.notifications.expire).unwrap_or_default();
    window
        .announce
        .iter()
        .map(|channel| NewNotification {
            key: message.key.clone(),
            channel: channel.get_ref().clone(),
            created: now,
            due: now,
            expires,
            message: doc.clone(),
        })
        .collect()
}

/// On at the start, off at the end, unless another window that switches the mode still lasts.
/// A refused or failed switch is logged and audited: the app stays as it was.
async fn switch_mode(plan: &Plan, store: &Store, window: &MaintenanceWindow, due: &Due, now: Timestamp) {
    let on = due.phase == Phase::Started;
    let others =
        plan.alerts.mutes.windows.iter().any(|w| w.name != window.name && w.mode.is_some() && w.is_active(now));
    if !on && others {
        return;
    }
    let reason = format!("maintenance window \"{}\" {}", window.name, due.phase.as_str());
    match crate::maintenance::switch(plan, store, on, "upkeep", &reason, false, now).await {
        Ok(done) => tracing::info!(window = %window.name, "{done}"),
        // Switched, and audited so.
        Err(e @ crate::maintenance::SwitchError::Unverified { .. }) => {
            tracing::error!(window = %window.name, "maintenance mode: {e}")
        }
        Err(e) => {
            tracing::error!(window = %window.name, "maintenance mode: {e}");
            let action = if on { "maintenance.on.failed" } else { "maintenance.off.failed" };
            let entry = AuditEntry {
                at: now,
                actor: "upkeep".into(),
                action: action.into(),
                target: "app".into(),
                detail: format!("{reason}: {e}"),
            };
            if let Err(e) = store.audit(&entry).await {
                tracing::warn!(error = %e, "cannot write the audit log");
            }
        }
    }
}
