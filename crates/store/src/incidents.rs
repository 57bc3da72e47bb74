//! Incidents and on-call overrides. The store keeps an incident as a JSON document it does not
//! interpret, with the columns its queries need; each write names the version it read and is
//! refused if another writer came first (the caller reads again and redoes its change), and it
//! writes the outbox rows the change makes and the alert-event cursor in the same transaction.

use crate::{NewNotification, Store, StoreError};

/// An incident as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRow {
    pub id: i64,
    pub version: i64,
    pub doc: serde_json::Value,
}

/// The columns of one incident to write, besides its document.
#[derive(Clone, Debug)]
pub struct IncidentColumns {
    pub severity: String,
    pub status: String,
    pub group: Option<String>,
    pub opened: jiff::Timestamp,
    pub resolved: Option<jiff::Timestamp>,
    pub watched: bool,
}

/// Which incidents to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    /// Only those not resolved.
    pub open: bool,
    /// Only those the daemon still watches.
    pub watched: bool,
    /// Opened at or after.
    pub since: Option<jiff::Timestamp>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl Store {
    /// Adds an incident; returns its id. The cursor, when given, moves in the same transaction.
    pub async fn insert_incident(
        &self,
        columns: &IncidentColumns,
        doc: &serde_json::Value,
        cursor: Option<(&str, i64)>,
    ) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.insert_incident(columns, doc, cursor).await,
        }
    }

    /// Replaces incident `id` if it is still at `version`, with the notifications the change
    /// makes and the cursor; `false` (nothing written) when another writer came first.
    pub async fn update_incident(
        &self,
        id: i64,
        version: i64,
        columns: &IncidentColumns,
        doc: &serde_json::Value,
        new: &[NewNotification],
        cursor: Option<(&str, i64)>,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.update_incident(id, version, columns, doc, new, cursor).await,
        }
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.incident(id).await,
        }
    }

    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.incidents(filter).await,
        }
    }

    /// Moves a consumer's cursor alone (an alert event that changed no incident).
    pub async fn save_cursor(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        self.save_notify(&[], &[], Some((consumer, seq))).await
    }

    /// Adds or replaces an override; `ends` is when it stops mattering.
    pub async fn save_override(
        &self,
        id: &str,
        schedule: &str,
        starts: jiff::Timestamp,
        ends: jiff::Timestamp,
        doc: &serde_json::Value,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.save_override(id, schedule, starts, ends, doc).await,
        }
    }

    /// Overrides that end after `after`, by start.
    pub async fn overrides(&self, after: jiff::Timestamp) -> Result<Vec<serde_json::Value>, StoreError> {
        match self {
            Store::Sqlite(s) => s.overrides(after).await,
        }
    }

    /// Removes an override; `false` if there was none with this id.
    pub async fn delete_override(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.delete_override(id).await,
        }
    }
}
