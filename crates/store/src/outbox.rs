//! The outbox of notifications, and the notification groups. The store keeps the messages and
//! groups as JSON it does not interpret (the notify crate owns their meaning); it keeps the
//! delivery bookkeeping itself: when each is due, its attempts, its last error, when it was
//! delivered.

use crate::{AlertEventRow, Store, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    Pending,
    Delivered,
    Failed,
    Expired,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Delivery> {
        [Delivery::Pending, Delivery::Delivered, Delivery::Failed, Delivery::Expired]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// A notification to write.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub key: String,
    pub channel: String,
    pub created: jiff::Timestamp,
    pub due: jiff::Timestamp,
    pub expires: jiff::Timestamp,
    pub message: serde_json::Value,
}

/// A notification as kept.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Notification {
    pub id: i64,
    pub key: String,
    pub channel: String,
    pub created: jiff::Timestamp,
    pub due: jiff::Timestamp,
    pub expires: jiff::Timestamp,
    pub attempts: u32,
    pub state: Delivery,
    pub last_error: Option<String>,
    pub answer: Option<String>,
    pub delivered: Option<jiff::Timestamp>,
    pub message: serde_json::Value,
}

/// What became of one attempt, to record.
#[derive(Clone, Debug)]
pub struct Attempted {
    pub id: i64,
    pub state: Delivery,
    /// When to try again, for one still pending.
    pub due: jiff::Timestamp,
    pub error: Option<String>,
    pub answer: Option<String>,
    pub at: jiff::Timestamp,
}

/// Which notifications to list.
#[derive(Clone, Debug, Default)]
pub struct NotificationFilter {
    pub state: Option<Delivery>,
    pub channel: Option<String>,
    pub key: Option<String>,
    /// Keys that start with this (`incident:12:`, every page of one incident).
    pub key_prefix: Option<String>,
    /// Older than this id (paging, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

impl Store {
    /// Saves, in one transaction, the changed groups (`None` deletes one), new notifications
    /// (a key already written is left as it is) and the last alert event taken in.
    pub async fn save_notify(
        &self,
        groups: &[(String, Option<serde_json::Value>)],
        new: &[NewNotification],
        cursor: Option<(&str, i64)>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.save_notify(groups, new, cursor).await,
        }
    }

    pub async fn notify_groups(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        match self {
            Store::Sqlite(s) => s.notify_groups().await,
        }
    }

    /// Alert events after id `after`, oldest first.
    pub async fn alert_events_after(&self, after: i64, limit: u32) -> Result<Vec<AlertEventRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.alert_events_after(after, limit).await,
        }
    }

    /// The id of the newest alert event (0 when there is none).
    pub async fn last_alert_event(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.last_alert_event().await,
        }
    }

    /// Pending notifications due at `now`, oldest due first.
    pub async fn due_notifications(&self, now: jiff::Timestamp, limit: u32) -> Result<Vec<Notification>, StoreError> {
        match self {
            Store::Sqlite(s) => s.due_notifications(now, limit).await,
        }
    }

    /// When the next pending notification is due.
    pub async fn next_notification_due(&self) -> Result<Option<jiff::Timestamp>, StoreError> {
        match self {
            Store::Sqlite(s) => s.next_notification_due().await,
        }
    }

    /// Records attempts, in one transaction.
    pub async fn record_attempts(&self, attempts: &[Attempted]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.record_attempts(attempts).await,
        }
    }

    /// Moves pending notifications' next attempt to `due` (their channel is down), without
    /// counting an attempt.
    pub async fn defer_notifications(&self, ids: &[i64], due: jiff::Timestamp) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.defer_notifications(ids, due).await,
        }
    }

    /// Notifications newest first.
    pub async fn notifications(&self, filter: &NotificationFilter) -> Result<Vec<Notification>, StoreError> {
        match self {
            Store::Sqlite(s) => s.notifications(filter).await,
        }
    }

    /// How many notifications are pending.
    pub async fn pending_notifications(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.pending_notifications().await,
        }
    }

    /// How many notifications are in each state, per channel.
    pub async fn notification_counts(&self) -> Result<Vec<(String, Delivery, u64)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.notification_counts().await,
        }
    }
}
