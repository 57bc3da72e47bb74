//! Check results: written in batches by one writer, with status transitions recorded as they
//! happen; read back as history, windows and uptime bars.

use super::SqliteStore;
use super::compact;
use crate::rollup::{self, Summary};
use crate::{CheckResult, CheckStatus, StoreError};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;
use std::time::Duration;
use upkeep_result::Status;

/// Derived from the tables at open, so nothing important lives only here.
#[derive(Debug, Default)]
pub struct Cache {
    ids: HashMap<String, i64>,
    /// check id → (ok, since ms)
    status: HashMap<i64, (bool, i64)>,
}

impl Cache {
    pub(crate) async fn load(pool: &SqlitePool) -> Result<Cache, StoreError> {
        let mut cache = Cache::default();
        for row in sqlx::query("SELECT id, name FROM check_names").fetch_all(pool).await? {
            cache.ids.insert(row.get(1), row.get(0));
        }
        for row in sqlx::query("SELECT check_id, ok, since_ms FROM check_state").fetch_all(pool).await? {
            cache.status.insert(row.get(0), (row.get(1), row.get(2)));
        }
        Ok(cache)
    }
}

/// A result as stored: `at_ms, ok, latency_us, message, observations` as its first columns.
fn stored(check: &str, row: &sqlx::sqlite::SqliteRow) -> CheckResult {
    CheckResult {
        check: check.to_string(),
        at: ts(row.get(0)),
        status: Status::from_ok(row.get(1)),
        latency: Duration::from_micros(row.get::<i64, _>(2).max(0) as u64),
        message: row.get(3),
        observations: row
            .get::<Option<String>, _>(4)
            .and_then(|o| serde_json::from_str(&o).ok())
            .map(upkeep_expr::Observations::from_json)
            .unwrap_or_default(),
    }
}

fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl SqliteStore {
    /// The id of a check name, creating it on first sight.
    async fn check_id(&self, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).ids.get(name) {
            return Ok(*id);
        }
        sqlx::query("INSERT OR IGNORE INTO check_names (name) VALUES (?)").bind(name).execute(&self.pool).await?;
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM check_names WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).ids.insert(name.to_string(), id);
        Ok(id)
    }

    pub(crate) fn known_id(&self, name: &str) -> Option<i64> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).ids.get(name).copied()
    }

    pub(crate) fn all_ids(&self) -> Vec<(String, i64)> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).ids.iter().map(|(n, i)| (n.clone(), *i)).collect()
    }

    /// Writes a batch in one transaction under the next sequence number, and returns it. A
    /// result whose status differs from the check's last one records a transition; its message
    /// and observations are kept, as are a failure's.
    pub(crate) async fn write(&self, batch: &[CheckResult]) -> Result<u64, StoreError> {
        let mut ids = Vec::with_capacity(batch.len());
        for record in batch {
            ids.push(self.check_id(&record.check).await?);
        }
        let seq = self.last_commit.load(std::sync::atomic::Ordering::Acquire) + 1;
        let mut tx = self.pool.begin().await?;
        // Status as this batch goes along; the shared cache learns it only once committed.
        let mut changed: HashMap<i64, (bool, i64)> = HashMap::new();
        for (record, &id) in batch.iter().zip(&ids) {
            let at_ms = record.at.as_millisecond();
            let previous = match changed.get(&id) {
                Some(status) => Some(*status),
                None => self.cache.lock().unwrap_or_else(|e| e.into_inner()).status.get(&id).copied(),
            };
            let ok = record.is_ok();
            let transition = previous.is_none_or(|(was, _)| was != ok);
            let keep_detail = transition || !ok;
            sqlx::query("INSERT OR REPLACE INTO results (check_id, at_ms, ok, latency_us, message, observations, batch) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(id)
                .bind(at_ms)
                .bind(ok)
                .bind(record.latency.as_micros().min(i64::MAX as u128) as i64)
                .bind(if keep_detail { upkeep_result::bound_message(record.message.clone()) } else { None })
                .bind(if keep_detail { record.kept_observations().map(|o| o.to_string()) } else { None })
                .bind(seq as i64)
                .execute(&mut *tx)
                .await?;
            if transition {
                sqlx::query("INSERT OR REPLACE INTO transitions (check_id, at_ms, ok, message) VALUES (?, ?, ?, ?)")
                    .bind(id)
                    .bind(at_ms)
                    .bind(ok)
                    .bind(upkeep_result::bound_message(record.message.clone()))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO check_state (check_id, ok, since_ms, last_ms) VALUES (?, ?, ?, ?)
                     ON CONFLICT (check_id) DO UPDATE SET ok = excluded.ok, since_ms = excluded.since_ms, last_ms = excluded.last_ms",
                )
                .bind(id)
                .bind(ok)
                .bind(at_ms)
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
                changed.insert(id, (ok, at_ms));
            }
        }
        let times = batch.iter().map(|r| r.at.as_millisecond());
        let (first, last) = (times.clone().min().unwrap_or(0), times.max().unwrap_or(0));
        sqlx::query("INSERT INTO commits (seq, first_ms, last_ms) VALUES (?, ?, ?)")
            .bind(seq as i64)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.last_commit.store(seq, std::sync::atomic::Ordering::Release);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.status.extend(changed);
        Ok(seq)
    }

    pub(crate) fn last_commit(&self) -> u64 {
        self.last_commit.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The results of the batches after `after` up to `through`, in commit order, as stored.
    pub(crate) async fn committed(&self, after: u64, through: u64) -> Result<Vec<(u64, CheckResult)>, StoreError> {
        let (lo, hi): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(first_ms), MAX(last_ms) FROM commits WHERE seq > ? AND seq <= ?")
                .bind(after as i64)
                .bind(through as i64)
                .fetch_one(&self.pool)
                .await?;
        let (Some(lo), Some(hi)) = (lo, hi) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for (name, id) in self.all_ids() {
            let rows = sqlx::query(
                "SELECT at_ms, ok, latency_us, message, observations, batch FROM results
                 WHERE check_id = ? AND at_ms >= ? AND at_ms <= ? AND batch > ? AND batch <= ?",
            )
            .bind(id)
            .bind(lo)
            .bind(hi)
            .bind(after as i64)
            .bind(through as i64)
            .fetch_all(&self.pool)
            .await?;
            out.extend(rows.iter().map(|row| (row.get::<i64, _>(5) as u64, stored(&name, row))));
        }
        out.sort_by_key(|(seq, r)| (*seq, r.at));
        Ok(out)
    }

    /// Every check's current status, as of the last write.
    pub(crate) fn statuses(&self) -> Vec<CheckStatus> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let names: HashMap<i64, &String> = cache.ids.iter().map(|(n, i)| (*i, n)).collect();
        let mut out: Vec<CheckStatus> = cache
            .status
            .iter()
            .filter_map(|(id, (ok, since))| {
                Some(CheckStatus { check: names.get(id)?.to_string(), ok: *ok, since: ts(*since) })
            })
            .collect();
        out.sort_by(|a, b| a.check.cmp(&b.check));
        out
    }

    /// Raw results of one check in `[from, to)`, newest first, at most `limit`.
    pub(crate) async fn results(
        &self,
        check: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckResult>, StoreError> {
        let Some(id) = self.known_id(check) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT at_ms, ok, latency_us, message, observations FROM results
             WHERE check_id = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms DESC LIMIT ?",
        )
        .bind(id)
        .bind(from.as_millisecond())
        .bind(to.as_millisecond())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|row| stored(check, row)).collect())
    }

    /// The latest stored result of each check, for rebuilding in-memory state at start.
    pub(crate) async fn latest_results(&self) -> Result<Vec<CheckResult>, StoreError> {
        let mut out = Vec::new();
        for (name, _) in self.all_ids() {
            let far = jiff::Timestamp::MAX;
            if let Some(latest) = self.results(&name, jiff::Timestamp::UNIX_EPOCH, far, 1).await?.pop() {
                out.push(latest);
            }
        }
        Ok(out)
    }

    /// Status changes of one check in `[from, to)`, oldest first.
    pub(crate) async fn transitions(
        &self,
        check: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<(jiff::Timestamp, bool, Option<String>)>, StoreError> {
        let Some(id) = self.known_id(check) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT at_ms, ok, message FROM transitions WHERE check_id = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms",
        )
        .bind(id)
        .bind(from.as_millisecond())
        .bind(to.as_millisecond())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (ts(r.get(0)), r.get(1), r.get(2))).collect())
    }

    pub(crate) async fn changes_since(
        &self,
        from: jiff::Timestamp,
    ) -> Result<HashMap<String, Vec<jiff::Timestamp>>, StoreError> {
        let rows = sqlx::query("SELECT check_id, at_ms FROM transitions WHERE at_ms >= ? ORDER BY at_ms")
            .bind(from.as_millisecond())
            .fetch_all(&self.pool)
            .await?;
        let mut by_id: HashMap<i64, Vec<jiff::Timestamp>> = HashMap::new();
        for row in rows {
            by_id.entry(row.get(0)).or_default().push(ts(row.get(1)));
        }
        Ok(self.named(by_id))
    }

    /// Aggregates per period of `span` (a tier: 60, 3600 or 86400 s) in `[from, to)`, for every
    /// check (or one): the data behind uptime bars and sparklines. Periods without results are
    /// absent.
    pub(crate) async fn bars(
        &self,
        span: i64,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        only: Option<&str>,
    ) -> Result<HashMap<String, Vec<(jiff::Timestamp, Summary)>>, StoreError> {
        let Some(filter) = self.filter(only) else {
            return Ok(HashMap::new());
        };
        let (from, to) = (from.as_second().div_euclid(span) * span, to.as_second());
        let compacted = if span == rollup::MINUTE {
            to
        } else {
            self.compacted_until().await?.get(&span).copied().unwrap_or(0).clamp(from, to)
        };
        let mut rows = self.rollup_rows(span, from, compacted, None, filter).await?;
        // Periods not compacted yet are summed from their minutes.
        rows.extend(self.rollup_rows(rollup::MINUTE, compacted, to, Some(span), filter).await?);
        let mut by_id: HashMap<i64, std::collections::BTreeMap<i64, Summary>> = HashMap::new();
        for (id, start, summary) in rows {
            by_id.entry(id).or_default().entry(start).or_default().merge(&summary);
        }
        let by_id = by_id
            .into_iter()
            .map(|(id, periods)| (id, periods.into_iter().map(|(start, s)| (ts(start * 1000), s)).collect()))
            .collect();
        Ok(self.named(by_id))
    }

    /// `Some(None)` for all checks, `Some(Some(id))` for one known check, `None` for an unknown one.
    pub(crate) fn filter(&self, only: Option<&str>) -> Option<Option<i64>> {
        match only {
            None => Some(None),
            Some(name) => self.known_id(name).map(Some),
        }
    }

    pub(crate) fn named<T>(&self, by_id: HashMap<i64, T>) -> HashMap<String, T> {
        let names: HashMap<i64, String> = self.all_ids().into_iter().map(|(n, i)| (i, n)).collect();
        by_id.into_iter().filter_map(|(id, v)| Some((names.get(&id)?.clone(), v))).collect()
    }

    /// Rollup rows of `tier` with start in `[start, end)`, summed per check and per `group`-second
    /// period (or per row when `group` is `None`).
    pub(crate) async fn rollup_rows(
        &self,
        tier: i64,
        start: i64,
        end: i64,
        group: Option<i64>,
        only: Option<i64>,
    ) -> Result<Vec<(i64, i64, Summary)>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT check_id, start_s, total, ok, latency_sum_us, latency_max_us, histogram, thresholds FROM rollups
             WHERE tier = ? AND start_s >= ? AND start_s < ? {}",
            if only.is_some() { "AND check_id = ?" } else { "" }
        );
        // Built only from fixed text above.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tier).bind(start).bind(end);
        if let Some(id) = only {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut periods: std::collections::BTreeMap<(i64, i64), Summary> = std::collections::BTreeMap::new();
        for row in &rows {
            let at: i64 = row.get(1);
            let period = group.map_or(at, |g| at.div_euclid(g) * g);
            periods.entry((row.get(0), period)).or_default().merge(&compact::rollup_summary(row, 2));
        }
        Ok(periods.into_iter().map(|((id, period), s)| (id, period, s)).collect())
    }
}
