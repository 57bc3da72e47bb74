//! Check results: written in batches by the one writer, each batch under the next sequence
//! number, with status transitions recorded as they happen; read back as history, as every
//! check's latest result, and, for consumers that fell behind, batch by batch.

use crate::{CheckResult, Store, StoreError};
use jiff::Timestamp;
use std::collections::HashMap;

/// A check's current status and since when.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckStatus {
    pub check: String,
    pub ok: bool,
    pub since: Timestamp,
}

impl Store {
    /// Writes a batch atomically and returns its sequence number. A result whose status differs
    /// from its check's previous one records a transition; failures and transitions keep their
    /// message and observations (bounded).
    pub async fn write(&self, batch: &[CheckResult]) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.write(batch).await,
        }
    }

    /// The sequence number of the last committed batch (0 before the first).
    pub fn last_commit(&self) -> u64 {
        match self {
            Store::Sqlite(s) => s.last_commit(),
        }
    }

    /// The results of the batches after `after` up to `through`, with their batch, in commit
    /// order, as stored (passing runs that changed nothing have no observations).
    pub async fn committed(&self, after: u64, through: u64) -> Result<Vec<(u64, CheckResult)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.committed(after, through).await,
        }
    }

    /// Every check's current status, as of the last write (kept in memory, rebuilt at open).
    pub fn statuses(&self) -> Vec<CheckStatus> {
        match self {
            Store::Sqlite(s) => s.statuses(),
        }
    }

    /// Raw results of one check in `[from, to)`, newest first, at most `limit`.
    pub async fn results(
        &self,
        check: &str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckResult>, StoreError> {
        match self {
            Store::Sqlite(s) => s.results(check, from, to, limit).await,
        }
    }

    /// The latest stored result of each check, for rebuilding in-memory state at start.
    pub async fn latest_results(&self) -> Result<Vec<CheckResult>, StoreError> {
        match self {
            Store::Sqlite(s) => s.latest_results().await,
        }
    }

    /// Status changes of one check in `[from, to)`, oldest first: (when, ok, message).
    pub async fn transitions(
        &self,
        check: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, bool, Option<String>)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.transitions(check, from, to).await,
        }
    }

    /// When each check changed status since `from`, oldest first: for flapping alerts after a
    /// restart, one read for every check.
    pub async fn changes_since(&self, from: Timestamp) -> Result<HashMap<String, Vec<Timestamp>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.changes_since(from).await,
        }
    }
}
