//! From alert events to the outbox: follows the stream of alert events the engine saved (from
//! its own cursor), puts each notified one into the groups of the routes it takes, and when a
//! group is due writes its message to the outbox, once per channel of its route. Groups, new
//! notifications and the cursor are saved in one transaction: after `kill -9` it resumes from
//! the last event it saved, and a message re-made from the same events has the same key, which
//! the outbox takes only once.

use super::{DashboardLinks, NotifyPlan};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use upkeep_alert::Event;
use upkeep_notify::{Group, Groups, Message};
use upkeep_probe::Clock;
use upkeep_store::{NewNotification, Store};

/// Its name in `consumer_cursors`.
pub const CURSOR: &str = "notify";

/// Events read per step.
const BATCH: u32 = 1000;

pub struct Router {
    store: Store,
    clock: Clock,
    plan: Arc<RwLock<Arc<NotifyPlan>>>,
    state: Mutex<(Groups, i64)>,
    /// Woken when the alert engine saved events.
    pub events: Arc<Notify>,
    /// Woken when notifications were written.
    outbox: Arc<Notify>,
}

impl Router {
    /// Resumes the saved groups; `cursor` is the last alert event already taken in.
    pub async fn start(
        store: Store,
        clock: Clock,
        plan: Arc<RwLock<Arc<NotifyPlan>>>,
        cursor: i64,
        events: Arc<Notify>,
        outbox: Arc<Notify>,
    ) -> Result<Router, upkeep_store::StoreError> {
        let groups: Vec<Group> =
            store.notify_groups().await?.into_iter().filter_map(|g| serde_json::from_value(g).ok()).collect();
        Ok(Router { store, clock, plan, state: Mutex::new((Groups::resume(groups), cursor)), events, outbox })
    }

    /// Takes in every new event and sends what is due, until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let next = self.step().await;
            let wait = next.unwrap_or_else(|| self.clock.now() + jiff::SignedDuration::from_secs(60));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.events.notified() => {}
                _ = self.clock.sleep_until(wait) => {}
            }
        }
    }

    /// Takes in the events saved since the last step and writes the messages due now; returns
    /// when a group is next due.
    pub async fn step(&self) -> Option<jiff::Timestamp> {
        let mut state = self.state.lock().await;
        loop {
            let (groups, cursor) = &mut *state;
            let rows = match self.store.alert_events_after(*cursor, BATCH).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!("cannot read alert events, will retry: {e}");
                    return Some(self.clock.now() + jiff::SignedDuration::from_secs(1));
                }
            };
            let plan = Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()));
            let last = rows.last().map_or(*cursor, |r| r.id);
            let full = rows.len() == BATCH as usize;
            for row in rows {
                let Ok(event) = serde_json::from_value::<Event>(row.event) else { continue };
                let labels: upkeep_alert::Labels = event.labels.clone().into();
                let routes = plan.notifications.routes.matching(&labels);
                groups.take(&event, &routes, event.at);
            }
            let now = self.clock.now();
            let links = DashboardLinks { base: plan.base_url.clone() };
            let lookup = |id: &str| plan.notifications.routes.get(id).cloned();
            let messages = groups.flush(lookup, now, &links);
            let new = notifications(&plan, &messages, now);
            let changed: Vec<(String, Option<serde_json::Value>)> = groups
                .take_changed()
                .into_iter()
                .map(|(key, g)| (key, g.map(|g| serde_json::to_value(g).unwrap_or_default())))
                .collect();
            if !changed.is_empty() || !new.is_empty() || last != *cursor {
                self.save(&changed, &new, last).await;
                *cursor = last;
            }
            if !new.is_empty() {
                for m in &messages {
                    tracing::info!(group = %m.group_key, alerts = m.alerts.len(), "notification {}", m.status.as_str());
                }
                self.outbox.notify_one();
            }
            if !full {
                return groups.next_due();
            }
        }
    }

    /// Saves, retrying while the store cannot be written: until then, nothing more is taken in.
    async fn save(&self, groups: &[(String, Option<serde_json::Value>)], new: &[NewNotification], cursor: i64) {
        let mut backoff = Duration::from_millis(100);
        while let Err(e) = self.store.save_notify(groups, new, Some((CURSOR, cursor))).await {
            tracing::error!("cannot save notifications, retrying in {backoff:?}: {e}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// One outbox row per channel of each message's route (a resolved message only to channels
/// that hear of resolves).
fn notifications(plan: &NotifyPlan, messages: &[Message], now: jiff::Timestamp) -> Vec<NewNotification> {
    let expires = now + jiff::SignedDuration::try_from(plan.notifications.expire).unwrap_or_default();
    let mut out = Vec::new();
    for message in messages {
        let Some(route) = plan.notifications.routes.get(&message.route) else { continue };
        let doc = serde_json::to_value(message).unwrap_or_default();
        for name in &route.channels {
            let Some(channel) = plan.notifications.channel(name) else { continue };
            if message.status == upkeep_notify::Status::Resolved && !channel.send_resolved {
                continue;
            }
            out.push(NewNotification {
                key: message.key.clone(),
                channel: name.clone(),
                created: now,
                due: now,
                expires,
                message: doc.clone(),
            });
        }
    }
    out
}
