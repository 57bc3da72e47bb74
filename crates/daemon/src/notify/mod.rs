//! Notifications in the daemon: the router (alert events → groups → the outbox) and the
//! dispatcher (the outbox → channels), both resuming from the store after a restart.
//!
//! ```text
//! alert engine ──saves events──► router ──one transaction: groups, outbox rows, cursor──► store
//!                                                                    │
//!                                 dispatcher ◄──due notifications────┘ ──► channels
//! ```

mod dispatcher;
mod router;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use upkeep_notify::{Message, Notifications, Sender};
use upkeep_probe::Clock;
use upkeep_store::{Attempted, Delivery, NewNotification, Notification, NotificationFilter, Store, StoreError};

pub use dispatcher::{attempt, settle};
pub use router::CURSOR;

/// What notifying needs of the config in force.
#[derive(Debug)]
pub struct NotifyPlan {
    pub notifications: Arc<Notifications>,
    pub sender: Sender,
    /// The dashboard's address, for links.
    pub base_url: String,
}

impl NotifyPlan {
    pub fn new(plan: &upkeep_plan::Plan) -> NotifyPlan {
        NotifyPlan {
            notifications: Arc::clone(&plan.notifications),
            sender: Sender::new(plan.notifications.timeout),
            base_url: plan.server.base_url(),
        }
    }
}

/// Links to the dashboard's alerts page.
pub struct DashboardLinks {
    pub base: String,
}

impl upkeep_notify::Links for DashboardLinks {
    fn alert(&self, key: &str) -> String {
        self.page(&[("alert", key)])
    }

    fn group(&self, labels: &[(String, String)]) -> String {
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.page(&pairs)
    }
}

impl DashboardLinks {
    fn page(&self, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}/alerts", self.base);
        if !query.is_empty() {
            let q: Vec<String> = query.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
            url.push('?');
            url.push_str(&q.join("&"));
        }
        url
    }
}

/// Percent-encodes a query component.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

/// `upkeep_notifications_pending`, `_sent_total{channel}`, `_failed_total{channel}`.
#[derive(Clone)]
pub struct Metrics {
    pending: Gauge,
    sent: Family<ChannelLabel, Counter>,
    failed: Family<ChannelLabel, Counter>,
}

impl Metrics {
    fn register(registry: &mut Registry) -> Metrics {
        let m = Metrics { pending: Gauge::default(), sent: Family::default(), failed: Family::default() };
        registry.register("notifications_pending", "Notifications in the outbox not yet delivered", m.pending.clone());
        registry.register("notifications_sent", "Notifications delivered, by channel", m.sent.clone());
        registry.register(
            "notifications_failed",
            "Notifications given up (refused for good, or expired), by channel",
            m.failed.clone(),
        );
        m
    }

    fn count(&self, attempted: Attempted, channel: &str) -> Attempted {
        let label = ChannelLabel { channel: channel.to_string() };
        match attempted.state {
            Delivery::Delivered => {
                self.sent.get_or_create(&label).inc();
            }
            Delivery::Failed | Delivery::Expired => {
                self.failed.get_or_create(&label).inc();
            }
            Delivery::Pending => {}
        }
        attempted
    }

    async fn refresh_pending(&self, store: &Store) {
        if let Ok(pending) = store.pending_notifications().await {
            self.pending.set(pending as i64);
        }
    }
}

/// Notifying, started with the daemon.
pub struct Notifying {
    store: Store,
    clock: Clock,
    plan: Arc<RwLock<Arc<NotifyPlan>>>,
    outbox: Arc<Notify>,
    metrics: Metrics,
}

impl Notifying {
    /// The notify cursor: the last alert event already taken in, or (on the first start) the
    /// newest one, so a store from before notifications does not send its whole history.
    pub async fn cursor(store: &Store) -> Result<i64, StoreError> {
        match store.consumer_cursor(CURSOR).await? {
            Some(seq) => Ok(seq as i64),
            None => store.last_alert_event().await,
        }
    }

    /// Starts the router (from `cursor`, woken by `events`) and the dispatcher.
    pub async fn start(
        plan: &upkeep_plan::Plan,
        store: Store,
        clock: Clock,
        cursor: i64,
        events: Arc<Notify>,
        registry: &mut Registry,
        stop: CancellationToken,
    ) -> Result<(Arc<Notifying>, Vec<tokio::task::JoinHandle<()>>), StoreError> {
        let plan = Arc::new(RwLock::new(Arc::new(NotifyPlan::new(plan))));
        let outbox = Arc::new(Notify::new());
        let metrics = Metrics::register(registry);
        let router =
            router::Router::start(store.clone(), clock.clone(), Arc::clone(&plan), cursor, events, Arc::clone(&outbox))
                .await?;
        let dispatcher = dispatcher::Dispatcher {
            store: store.clone(),
            clock: clock.clone(),
            plan: Arc::clone(&plan),
            wake: Arc::clone(&outbox),
            metrics: metrics.clone(),
        };
        let tasks =
            vec![tokio::spawn(Arc::new(router).run(stop.clone())), tokio::spawn(Arc::new(dispatcher).run(stop))];
        Ok((Arc::new(Notifying { store, clock, plan, outbox, metrics }), tasks))
    }

    pub fn reload(&self, plan: &upkeep_plan::Plan) {
        *self.plan.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(NotifyPlan::new(plan));
    }

    /// Puts a test notification for `channel` in the outbox and wakes the dispatcher; returns
    /// its key.
    pub async fn test(&self, channel: &str) -> Result<String, String> {
        let plan = Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()));
        let now = self.clock.now();
        let key = enqueue_test(&self.store, &plan, channel, now, now).await?;
        self.outbox.notify_one();
        Ok(key)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// What wakes the dispatcher, for those that write the outbox themselves (incident pages).
    pub fn outbox_wake(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox)
    }

    /// Writes notifications made elsewhere (a maintenance window's announcements) into the
    /// outbox, with a consumer's cursor in the same transaction, and wakes the dispatcher.
    pub async fn enqueue(&self, new: &[NewNotification], cursor: Option<(&str, i64)>) -> Result<(), StoreError> {
        self.store.save_notify(&[], new, cursor).await?;
        if !new.is_empty() {
            self.outbox.notify_one();
        }
        Ok(())
    }
}

/// Writes a test notification for `channel` into the outbox, due at `due`.
pub async fn enqueue_test(
    store: &Store,
    plan: &NotifyPlan,
    channel: &str,
    now: jiff::Timestamp,
    due: jiff::Timestamp,
) -> Result<String, String> {
    if plan.notifications.channel(channel).is_none() {
        let names: Vec<String> = plan.notifications.channels.iter().map(|c| c.name.clone()).collect();
        let hint = upkeep_expr::closest_name(channel, names.iter().cloned())
            .map_or_else(|| format!("channels: {}", names.join(", ")), |n| format!("did you mean `{n}`?"));
        return Err(format!("there is no channel `{channel}`; {hint}"));
    }
    let links = DashboardLinks { base: plan.base_url.clone() };
    let message = Message::test(channel, now, &upkeep_notify::Links::group(&links, &[]));
    let new = NewNotification {
        key: message.key.clone(),
        channel: channel.to_string(),
        created: now,
        due,
        expires: now + jiff::SignedDuration::try_from(plan.notifications.expire).unwrap_or_default(),
        message: serde_json::to_value(&message).unwrap_or_default(),
    };
    store.save_notify(&[], &[new], None).await.map_err(|e| e.to_string())?;
    Ok(message.key)
}

/// The notification with `key` to `channel`, as stored now.
pub async fn find(store: &Store, key: &str, channel: &str) -> Result<Option<Notification>, StoreError> {
    let filter = NotificationFilter {
        key: Some(key.to_string()),
        channel: Some(channel.to_string()),
        limit: 1,
        ..Default::default()
    };
    Ok(store.notifications(&filter).await?.into_iter().next())
}

/// A notification as the CLI and the API show it: the bookkeeping, and what it said.
pub fn view(n: &Notification) -> serde_json::Value {
    let message = &n.message;
    serde_json::json!({
        "id": n.id,
        "key": n.key,
        "channel": n.channel,
        "state": n.state,
        "attempts": n.attempts,
        "created_at": n.created.to_string(),
        "next_attempt_at": (n.state == Delivery::Pending).then(|| n.due.to_string()),
        "expires_at": n.expires.to_string(),
        "delivered_at": n.delivered.map(|t| t.to_string()),
        "last_error": n.last_error,
        "answer": n.answer,
        "status": message["status"],
        "alerts": message["alerts"].as_array().map_or(0, Vec::len),
        "group_key": message["group_key"],
        "link": message["link"],
        "test": message["test"],
    })
}

/// One channel as shown: where it sends (no secrets), and whether its notifications get
/// through. A channel is failing while a notification to it is being retried, or when the
/// latest one that finished was refused or expired: a monitor whose alerts cannot get out is
/// itself down.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChannelState {
    pub name: String,
    pub kind: &'static str,
    pub target: String,
    pub send_resolved: bool,
    pub failing: bool,
    pub last_error: Option<String>,
    pub last_delivered_at: Option<String>,
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// Every configured channel's state, from the outbox.
pub async fn channel_states(store: &Store, notifications: &Notifications) -> Result<Vec<ChannelState>, StoreError> {
    let counts = store.notification_counts().await?;
    let mut out = Vec::with_capacity(notifications.channels.len());
    for c in &notifications.channels {
        let count = |d: &[Delivery]| -> u64 {
            counts.iter().filter(|(name, s, _)| *name == c.name && d.contains(s)).map(|(_, _, n)| n).sum()
        };
        let recent = |state: Option<Delivery>, limit: u32| NotificationFilter {
            channel: Some(c.name.clone()),
            state,
            limit,
            ..Default::default()
        };
        // Being retried: a pending one that was tried.
        let retrying =
            store.notifications(&recent(Some(Delivery::Pending), 100)).await?.into_iter().find(|n| n.attempts > 0);
        let latest = store.notifications(&recent(None, 20)).await?.into_iter().find(|n| n.state != Delivery::Pending);
        let delivered = store.notifications(&recent(Some(Delivery::Delivered), 1)).await?.into_iter().next();
        let given_up = latest.filter(|n| matches!(n.state, Delivery::Failed | Delivery::Expired));
        let failing = retrying.is_some() || given_up.is_some();
        out.push(ChannelState {
            name: c.name.clone(),
            kind: c.kind,
            target: c.target.clone(),
            send_resolved: c.send_resolved,
            failing,
            last_error: retrying.or(given_up).and_then(|n| n.last_error),
            last_delivered_at: delivered.and_then(|n| n.delivered).map(|t| t.to_string()),
            pending: count(&[Delivery::Pending]),
            delivered: count(&[Delivery::Delivered]),
            failed: count(&[Delivery::Failed, Delivery::Expired]),
        });
    }
    Ok(out)
}
