//! What the SQL probes share: describing driver errors in words, hiding passwords in targets,
//! and turning the first row of a user's `query` into `row.<column>` observations.

pub mod mysql;
pub mod postgres;
pub mod sqlite;

use crate::error::{describe_io, find_io};
use sqlx::{Column, Row};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Type, Value};

/// The fields every SQL probe observes.
pub const FIELDS: &[Field] = &[
    Field::new("latency", Type::Duration, "round trip of SELECT 1"),
    Field::new("connect_time", Type::Duration, "time to open a connection, on runs that opened one"),
    Field::new("database_size", Type::Size, "size of the database (read at most once a minute)"),
    Field::new("rows", Type::Number, "rows returned by `query`"),
];

pub const ROW: Field = Field::new("row", Type::Dynamic, "the first row of `query`, by column name");

/// A user query whose first row becomes observations, e.g. `SELECT count(*) AS failed FROM failed_jobs`.
/// Refusing a query that starts like a write catches the obvious mistake at load time; the
/// probes also run it read-only (a read-only transaction, or a read-only SQLite connection),
/// so a write hidden further in is refused by the database.
pub fn read_query(t: &mut TableReader, d: &mut Diagnostics) -> Option<String> {
    let query = t.string(d, "query")?;
    let text = query.get_ref().trim();
    let first = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    if !matches!(first.as_str(), "SELECT" | "WITH" | "SHOW" | "PRAGMA" | "VALUES" | "EXPLAIN") {
        d.error(
            query.span(),
            "`query` must read, not write (start with SELECT, WITH, SHOW, PRAGMA, VALUES or EXPLAIN)",
            Some("probes run every few seconds; a write here would repeat forever".into()),
        );
        return None;
    }
    Some(text.to_string())
}

/// `host:port/db` from a URL, the part a person recognises.
pub fn short_target(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("localhost");
            match parsed.port() {
                Some(port) => format!("{host}:{port}{}", parsed.path()),
                None => format!("{host}{}", parsed.path()),
            }
        }
        Err(_) => "the database".to_string(),
    }
}

/// Describes a driver error the way an operator would say it.
pub fn describe(e: &sqlx::Error, target: &str, timeout: Duration) -> String {
    match e {
        sqlx::Error::Database(db) => format!("{target}: {}", db.message()),
        sqlx::Error::PoolTimedOut => {
            format!("no connection to {target} within {} (timeout)", Value::duration(timeout))
        }
        sqlx::Error::Io(io) => describe_io(io, target),
        sqlx::Error::Tls(tls) => format!("TLS to {target} failed: {tls}"),
        other => match find_io(other) {
            Some(io) => describe_io(io, target),
            None => format!("{target}: {other}"),
        },
    }
}

/// Decodes a column as the first type that fits, else null.
macro_rules! decode_any {
    ($row:expr, $i:expr, [$($ty:ty),*]) => {{
        use sqlx::Row as _;
        let mut value = serde_json::Value::Null;
        $(
            if value.is_null() {
                if let Ok(Some(v)) = $row.try_get::<Option<$ty>, _>($i) {
                    value = serde_json::json!(v);
                }
            }
        )*
        value
    }};
}
pub(crate) use decode_any;

/// Puts `rows` and the first row's columns (`row.<name>`) into the observations.
pub fn observe_rows<R: Row>(rows: &[R], decode: impl Fn(&R, usize) -> serde_json::Value, obs: &mut Observations) {
    obs.insert("rows", Value::Number(rows.len() as f64));
    match rows.first() {
        Some(first) => {
            let map = first
                .columns()
                .iter()
                .enumerate()
                .map(|(i, column)| (column.name().to_string(), decode(first, i)))
                .collect();
            obs.insert("row", Value::Json(serde_json::Value::Object(map)));
        }
        None => obs.mark_missing("row", "the query returned no rows"),
    }
}

/// Connections older than this are replaced, so the login path is exercised regularly.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(300);

/// One connection kept between runs of a check. Connecting is done by the probe itself (not a
/// pool that retries until a deadline), so a refused connection or a bad password is reported
/// as what it is, at once.
#[derive(Debug)]
pub struct Kept<C> {
    slot: std::sync::Mutex<Option<(C, std::time::Instant)>>,
}

impl<C> Default for Kept<C> {
    fn default() -> Self {
        Kept { slot: std::sync::Mutex::new(None) }
    }
}

/// The database's size, read at most once a minute: asking for it walks the database's files
/// (most of the server's cost of a probe), and it changes slowly.
#[derive(Debug, Default)]
pub struct SizeCache {
    last: std::sync::Mutex<Option<(u64, std::time::Instant)>>,
}

impl SizeCache {
    const FRESH: Duration = Duration::from_secs(60);

    /// The size read less than a minute ago, or what `read` reads now.
    pub async fn get<E>(&self, read: impl Future<Output = Result<u64, E>>) -> Result<u64, E> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((size, at)) = last
            && at.elapsed() < Self::FRESH
        {
            return Ok(size);
        }
        let size = read.await?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((size, std::time::Instant::now()));
        Ok(size)
    }
}

/// A connection that just answered `SELECT 1`, and what that took.
pub struct Connected<C> {
    pub conn: C,
    opened: std::time::Instant,
    pub latency: Duration,
    /// Set when this run had to open the connection.
    pub connect_time: Option<Duration>,
}

impl<C> Connected<C> {
    /// `latency` and `connect_time` as observations.
    pub fn observe(&self, obs: &mut Observations) {
        obs.insert("latency", Value::duration(self.latency));
        match self.connect_time {
            Some(took) => obs.insert("connect_time", Value::duration(took)),
            None => obs.mark_missing("connect_time", "this run reused the kept connection"),
        }
    }
}

/// Runs `SELECT 1` on a connection of one driver (each driver's probe passes its own, which
/// keeps the driver's executor types out of this generic code).
pub type SelectOne<C> = for<'a> fn(&'a mut C) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'a>>;

impl<C: sqlx::Connection> Kept<C> {
    /// The kept connection if it still answers, else a fresh one; timed with `SELECT 1`. A kept
    /// connection the server closed is not the database's fault, so it is replaced, not blamed.
    pub async fn connect(
        &self,
        options: &<C as sqlx::Connection>::Options,
        select_one: SelectOne<C>,
    ) -> Result<Connected<C>, sqlx::Error> {
        let timed = async |conn: &mut C| {
            let started = std::time::Instant::now();
            select_one(conn).await.map(|()| started.elapsed())
        };
        let kept = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((mut conn, opened)) = kept.filter(|(_, opened)| opened.elapsed() < MAX_CONNECTION_AGE)
            && let Ok(latency) = timed(&mut conn).await
        {
            return Ok(Connected { conn, opened, latency, connect_time: None });
        }
        let started = std::time::Instant::now();
        let mut conn = C::connect_with(options).await?;
        let connect_time = started.elapsed();
        let latency = timed(&mut conn).await?;
        Ok(Connected { conn, opened: std::time::Instant::now(), latency, connect_time: Some(connect_time) })
    }

    /// Keeps the connection for the next run (in the daemon) or closes it cleanly.
    pub async fn release(&self, connected: Connected<C>, keep: bool) {
        if keep {
            *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((connected.conn, connected.opened));
        } else {
            let _ = connected.conn.close().await;
        }
    }
}

#[cfg(test)]
mod size_cache_tests {
    use super::SizeCache;

    #[tokio::test]
    async fn the_size_is_read_once_and_reused_while_fresh() {
        let cache = SizeCache::default();
        let mut reads = 0;
        for _ in 0..3 {
            let size = cache
                .get(async {
                    reads += 1;
                    Ok::<u64, ()>(4096)
                })
                .await;
            assert_eq!(size, Ok(4096));
        }
        assert_eq!(reads, 1);
        // A failed read is reported and not kept.
        let empty = SizeCache::default();
        assert_eq!(empty.get(async { Err::<u64, &str>("gone") }).await, Err("gone"));
        assert_eq!(empty.get(async { Ok::<u64, &str>(7) }).await, Ok(7));
    }
}
