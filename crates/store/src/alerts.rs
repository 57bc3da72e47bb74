//! Alert state, the stream of alert events, and silences. The store keeps them as JSON documents it does
//! not interpret (the alert engine owns their meaning), written together with the engine's
//! cursor over committed batches in one transaction: after a crash, state, events and cursor
//! agree.

use crate::{Store, StoreError};

/// One alert's state to write: its key, its state's name (for queries), the document. `None`
/// deletes it (its rule is gone).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub key: String,
    pub state: String,
    pub saved: Option<serde_json::Value>,
}

/// One stored event: its id in the stream, and the document.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertEventRow {
    pub id: i64,
    pub at: jiff::Timestamp,
    pub key: String,
    pub event: serde_json::Value,
}

impl Store {
    /// Writes changed alerts, new events and, when given, `(consumer, seq)`: the batch the
    /// engine has now taken in. All or nothing.
    pub async fn save_alerts(
        &self,
        rows: &[AlertRow],
        events: &[(jiff::Timestamp, String, serde_json::Value)],
        cursor: Option<(&str, u64)>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.save_alerts(rows, events, cursor).await,
        }
    }

    /// Every saved alert's document.
    pub async fn load_alerts(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        match self {
            Store::Sqlite(s) => s.load_alerts().await,
        }
    }

    /// Events newest first: those before `before` (an id), of one alert if `key` is given.
    pub async fn alert_events(
        &self,
        before: Option<i64>,
        key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AlertEventRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.alert_events(before, key, limit).await,
        }
    }

    /// Adds a silence, or replaces the one with this id (to expire it early).
    pub async fn save_silence(
        &self,
        id: &str,
        ends: jiff::Timestamp,
        silence: &serde_json::Value,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.save_silence(id, ends, silence).await,
        }
    }

    /// Every silence, oldest first.
    pub async fn silences(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        match self {
            Store::Sqlite(s) => s.silences().await,
        }
    }

    /// The last batch `consumer` saved as taken in.
    pub async fn consumer_cursor(&self, consumer: &str) -> Result<Option<u64>, StoreError> {
        match self {
            Store::Sqlite(s) => s.consumer_cursor(consumer).await,
        }
    }
}
