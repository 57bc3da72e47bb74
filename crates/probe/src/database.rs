//! What the SQL probes share: describing driver errors in words, hiding passwords in targets,
//! and turning the first row of a user's `query` into `row.<column>` observations.

use crate::error::{describe_io, find_io};
use sqlx::{Column, Row};
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Type, Value};

/// The fields every SQL probe observes.
pub const FIELDS: &[Field] = &[
    Field::new("latency", Type::Duration, "round trip of SELECT 1"),
    Field::new("connect_time", Type::Duration, "time to open a connection, on runs that opened one"),
    Field::new("database_size", Type::Size, "size of the database"),
    Field::new("rows", Type::Number, "rows returned by `query`"),
];

pub const ROW: Field = Field::new("row", Type::Dynamic, "the first row of `query`, by column name");

/// A user query whose first row becomes observations, e.g. `SELECT count(*) AS failed FROM failed_jobs`.
pub fn read_query(t: &mut TableReader, d: &mut Diagnostics) -> Option<String> {
    let query = t.string(d, "query")?;
    let text = query.get_ref().trim();
    let first = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    if !matches!(first.as_str(), "SELECT" | "WITH" | "SHOW" | "PRAGMA" | "VALUES" | "EXPLAIN") {
        d.error(
            query.span(),
            "`query` must read, not write (start with SELECT, WITH, SHOW or PRAGMA)",
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

impl<C> Kept<C> {
    /// The kept connection, if there is one young enough to reuse.
    pub fn take(&self) -> Option<(C, std::time::Instant)> {
        let kept = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        (kept.1.elapsed() < MAX_CONNECTION_AGE).then_some(kept)
    }

    /// Keeps a connection that just worked, for the next run.
    pub fn put(&self, conn: C, opened: std::time::Instant) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((conn, opened));
    }
}
