//! The latest result of every check, in memory, for `/health`, the API and the dashboard: the
//! first consumer of committed results. Derived state: rebuilt from the store at start, so
//! nothing lives only here.

use crate::stream::{Committed, ConsumeFuture, Consumer};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use upkeep_probe::Check;
use upkeep_result::CheckResult;
use upkeep_store::{Store, StoreError};

/// A check's latest result and since when its status has been what it is.
#[derive(Clone, Debug)]
pub struct LiveCheck {
    pub result: CheckResult,
    pub since: jiff::Timestamp,
}

#[derive(Debug, Default)]
pub struct Live {
    checks: RwLock<HashMap<String, LiveCheck>>,
    /// Bumped on every change, so readers can cache what they render from this state.
    version: std::sync::atomic::AtomicU64,
}

impl Live {
    pub async fn restore(&self, store: &Store, checks: &[Arc<Check>]) -> Result<(), StoreError> {
        let since: HashMap<String, jiff::Timestamp> =
            store.statuses().into_iter().map(|s| (s.check, s.since)).collect();
        let wanted: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let latest = store.latest_results().await?;
        let _bump = Bump(self);
        let mut map = self.checks.write().unwrap_or_else(|e| e.into_inner());
        for result in latest {
            if wanted.contains(&result.check.as_str()) {
                let since = since.get(&result.check).copied().unwrap_or(result.at);
                map.insert(result.check.clone(), LiveCheck { result, since });
            }
        }
        Ok(())
    }

    /// Changes whenever any check's latest result does.
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }

    fn bump(&self) {
        self.version.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn update(&self, result: CheckResult) {
        self.update_all(std::iter::once(result));
    }

    /// Takes in many results under one lock (a committed batch).
    pub fn update_all(&self, results: impl IntoIterator<Item = CheckResult>) {
        let _bump = Bump(self);
        let mut map = self.checks.write().unwrap_or_else(|e| e.into_inner());
        for result in results {
            let since = match map.get(&result.check) {
                Some(previous) if previous.result.status == result.status => previous.since,
                _ => result.at,
            };
            map.insert(result.check.clone(), LiveCheck { result, since });
        }
    }

    pub fn get(&self, check: &str) -> Option<LiveCheck> {
        self.checks.read().unwrap_or_else(|e| e.into_inner()).get(check).cloned()
    }

    /// Forgets checks that are no longer configured.
    pub fn retain(&self, names: &[String]) {
        let _bump = Bump(self);
        self.checks.write().unwrap_or_else(|e| e.into_inner()).retain(|name, _| names.contains(name));
    }
}

impl Consumer for Live {
    fn name(&self) -> &'static str {
        "live state"
    }

    fn consume<'a>(&'a self, batch: &'a Committed) -> ConsumeFuture<'a> {
        self.update_all(batch.results.iter().map(|r| r.kept()));
        Box::pin(std::future::ready(()))
    }
}

/// Bumps the version when dropped: after the write lock is released, so a reader that sees the
/// new version also sees the new state.
struct Bump<'a>(&'a Live);

impl Drop for Bump<'_> {
    fn drop(&mut self) {
        self.0.bump();
    }
}
