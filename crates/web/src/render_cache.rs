//! Rendered JSON for the hottest reads (`/health`, `/api/v1/checks`), reused while the live
//! state has not changed and is younger than a second, so a load balancer polling hard costs
//! about what `/up` costs.

use axum::http::StatusCode;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How stale a cached body may get even when nothing changed (its timestamp, for one).
const MAX_AGE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct RenderCache {
    entries: Mutex<HashMap<&'static str, Entry>>,
}

struct Entry {
    version: u64,
    at: Instant,
    status: StatusCode,
    body: Bytes,
}

impl RenderCache {
    /// The cached rendering of `key` for this live-state `version`, or a fresh one.
    pub fn get_or_render(
        &self,
        key: &'static str,
        version: u64,
        render: impl FnOnce() -> (StatusCode, Vec<u8>),
    ) -> (StatusCode, Bytes) {
        if let Some(entry) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(key)
            && entry.version == version
            && entry.at.elapsed() < MAX_AGE
        {
            return (entry.status, entry.body.clone());
        }
        let (status, body) = render();
        let body = Bytes::from(body);
        let entry = Entry { version, at: Instant::now(), status, body: body.clone() };
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).insert(key, entry);
        (status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_again_only_when_the_version_changes() {
        let cache = RenderCache::default();
        let mut renders = 0;
        for version in [1, 1, 1, 2, 2] {
            cache.get_or_render("health", version, || {
                renders += 1;
                (StatusCode::OK, format!("v{version}").into_bytes())
            });
        }
        assert_eq!(renders, 2);
        assert_eq!(cache.get_or_render("health", 2, || unreachable!()).1, Bytes::from("v2"));
    }
}
