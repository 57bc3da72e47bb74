//! `redis-maintenance`: a memory report (used, peak, limit, fragmentation), eviction and
//! expiry counters, and how many keys have no expiry — never `FLUSHDB`. Seed 004 flushes the
//! whole cache every evening, taking the sessions, queues and rate limits that share the
//! database with it; here a clean-up is scoped to a key pattern (`delete_matching`), in
//! batches of SCAN and UNLINK that never block the server.

use crate::task::{Failure, Kind, Outcome, Output, Run, bytes};
use std::path::Path;
use upkeep_config::{Diagnostics, Spanned, TableReader};

/// Keys looked at per SCAN step, and at most in all when counting keys without expiry.
const SCAN_COUNT: usize = 1000;
const DEFAULT_SCAN_LIMIT: i64 = 1_000_000;

#[derive(Debug)]
pub struct RedisMaintenance {
    url: String,
    delete_matching: Option<String>,
    scan_limit: u64,
}

impl Kind for RedisMaintenance {
    const KIND: &'static str = "redis-maintenance";

    fn build(t: &mut TableReader, d: &mut Diagnostics, _base: &Path) -> Option<Self> {
        let url = t.required_string(d, "url", "\"redis://127.0.0.1:6379/0\"");
        let delete_matching = t.string(d, "delete_matching");
        if let Some(pattern) = &delete_matching
            && pattern.get_ref().trim_matches('*').is_empty()
        {
            d.error(
                pattern.span(),
                "`delete_matching` would delete every key",
                Some("scope it to the keys meant, e.g. \"laravel_cache:*\"; a whole-database flush is what this task exists to avoid".into()),
            );
        }
        let scan_limit = t.integer(d, "scan_limit", 1..1_000_000_000).unwrap_or(DEFAULT_SCAN_LIMIT) as u64;
        Some(RedisMaintenance {
            url: url?.into_inner(),
            delete_matching: delete_matching.map(Spanned::into_inner),
            scan_limit,
        })
    }

    fn target(&self) -> String {
        upkeep_config::redact_url(&self.url, &[])
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let target = self.target();
        let fail = |e: redis::RedisError| Failure::from(format!("{target}: {e}"));
        let client = redis::Client::open(self.url.as_str()).map_err(fail)?;
        let mut conn = client.get_multiplexed_async_connection().await.map_err(fail)?;
        let info: String = redis::cmd("INFO").arg("all").query_async(&mut conn).await.map_err(fail)?;
        let field = |name: &str| -> f64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        let mut output = Output::default();
        let (used, peak, max) = (field("used_memory"), field("used_memory_peak"), field("maxmemory"));
        output.line(format!(
            "memory: {} used, {} peak, limit {}, fragmentation {:.2}",
            bytes(used),
            bytes(peak),
            if max > 0.0 { bytes(max) } else { "none".into() },
            field("mem_fragmentation_ratio")
        ));
        let (evicted, expired) = (field("evicted_keys"), field("expired_keys"));
        output.line(format!("evicted keys: {evicted}, expired keys: {expired}"));
        let (scanned, persistent) = self.count_persistent(&mut conn).await.map_err(fail)?;
        output.line(format!("keys without expiry: {persistent} of {scanned} scanned"));
        let mut outcome = Outcome::default()
            .change("used_memory", used)
            .change("evicted_keys", evicted)
            .change("expired_keys", expired)
            .change("keys_scanned", scanned as f64)
            .change("keys_without_ttl", persistent as f64);
        if max > 0.0 {
            outcome = outcome.change("used_memory_ratio", used / max);
        }
        let mut summary =
            format!("{} used; {persistent} of {scanned} keys have no expiry; {evicted} evicted", bytes(used));
        if let Some(pattern) = &self.delete_matching {
            let deleted = self.delete(&mut conn, pattern, run.dry_run).await.map_err(fail)?;
            let verb = if run.dry_run { "would delete" } else { "deleted" };
            summary.push_str(&format!("; {verb} {deleted} keys matching {pattern}"));
            outcome = outcome.change(if run.dry_run { "keys_matching" } else { "keys_deleted" }, deleted as f64);
        }
        outcome.summary = summary;
        Ok(outcome.output(output))
    }
}

impl RedisMaintenance {
    /// Keys without a TTL, among the first `scan_limit` that SCAN returns.
    async fn count_persistent(&self, conn: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<(u64, u64)> {
        let (mut cursor, mut scanned, mut persistent) = (0u64, 0u64, 0u64);
        loop {
            let (next, keys): (u64, Vec<String>) =
                redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(SCAN_COUNT).query_async(conn).await?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.cmd("TTL").arg(key);
                }
                let ttls: Vec<i64> = pipe.query_async(conn).await?;
                persistent += ttls.iter().filter(|t| **t == -1).count() as u64;
                scanned += keys.len() as u64;
            }
            cursor = next;
            if cursor == 0 || scanned >= self.scan_limit {
                return Ok((scanned, persistent));
            }
        }
    }

    async fn delete(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        pattern: &str,
        dry_run: bool,
    ) -> redis::RedisResult<u64> {
        let (mut cursor, mut deleted) = (0u64, 0u64);
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(conn)
                .await?;
            if !keys.is_empty() {
                if dry_run {
                    deleted += keys.len() as u64;
                } else {
                    let n: u64 = redis::cmd("UNLINK").arg(&keys).query_async(conn).await?;
                    deleted += n;
                }
            }
            cursor = next;
            if cursor == 0 {
                return Ok(deleted);
            }
        }
    }
}
