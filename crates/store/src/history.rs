//! History beyond raw results: rollups in three tiers (minute, hour, day) with latency
//! histograms for bars and sparklines, running totals for windows of any length, and the
//! housekeeping that derives them (compaction) and drops what retention no longer keeps.

use crate::{Store, StoreError, Summary};
use jiff::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

/// What a prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub results: u64,
    pub rollups: u64,
    pub totals: u64,
}

impl Store {
    /// Aggregates over `[from, to)` for every check (or one), to the minute: every minute that
    /// overlaps the window counts. A window that starts more than [`crate::FINE_TOTALS`] ago is
    /// widened back to the start of its hour; one that starts before retention counts from
    /// where retention starts. Checks without runs in the window are absent.
    pub async fn summaries(
        &self,
        from: Timestamp,
        to: Timestamp,
        only: Option<&str>,
    ) -> Result<HashMap<String, Summary>, StoreError> {
        match self {
            Store::Sqlite(s) => s.summaries(from, to, only).await,
        }
    }

    /// Rollups summed over `[from, to)` for every check (or one), with the latency histogram
    /// and the largest latency: percentiles over any window, from the fewest rows (whole days,
    /// whole hours, minutes at the edges). [`Store::summaries`] is cheaper when only counts
    /// are needed.
    pub async fn latencies(
        &self,
        from: Timestamp,
        to: Timestamp,
        only: Option<&str>,
    ) -> Result<HashMap<String, Summary>, StoreError> {
        match self {
            Store::Sqlite(s) => s.latencies(from, to, only).await,
        }
    }

    /// Counts the runs of each check against these latency thresholds from now on, as results
    /// are rolled up (a latency SLO's good events, exactly): check name → thresholds.
    pub fn track_thresholds(&self, thresholds: HashMap<String, Vec<Duration>>) {
        let thresholds = thresholds
            .into_iter()
            .map(|(check, t)| (check, t.into_iter().map(crate::rollup::micros).collect()))
            .collect();
        match self {
            Store::Sqlite(s) => s.track_thresholds(thresholds),
        }
    }

    /// Aggregates per period of `span` (60, 3600 or 86400 s) in `[from, to)`, for every check
    /// (or one): uptime bars and sparklines. Periods without results are absent.
    pub async fn bars(
        &self,
        span: i64,
        from: Timestamp,
        to: Timestamp,
        only: Option<&str>,
    ) -> Result<HashMap<String, Vec<(Timestamp, Summary)>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.bars(span, from, to, only).await,
        }
    }

    /// Rolls results up to `now` into rollups and running totals. Results younger than `grace`
    /// stay provisional and are counted again on the next call. Idempotent.
    pub async fn compact(&self, now: Timestamp, grace: Duration) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.compact(now, grace).await,
        }
    }

    /// Deletes what retention no longer keeps: raw results (and their batches) older than
    /// `raw`, rollups and transitions older than `rollups`; thins old running totals.
    pub async fn prune(&self, now: Timestamp, raw: Duration, rollups: Duration) -> Result<Pruned, StoreError> {
        match self {
            Store::Sqlite(s) => s.prune(now, raw, rollups).await,
        }
    }
}
