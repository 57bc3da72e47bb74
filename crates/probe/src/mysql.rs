//! `mysql` (MariaDB and MySQL): connect, `SELECT 1`, database size, connections, and an
//! optional query. One connection is kept and replaced every five minutes, as for PostgreSQL.

use crate::database::{self, decode_any};
use crate::error::ProbeError;
use crate::kind::{Run, Spec};
use sqlx::Connection;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use std::str::FromStr;
use std::time::{Duration, Instant};
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Mysql {
    options: MySqlConnectOptions,
    target: String,
    query: Option<String>,
    timeout: Duration,
    kept: database::Kept<MySqlConnection>,
}

impl Mysql {
    pub const KIND: &'static str = "mysql";
    pub const DEFAULT_EXPECT: &'static [&'static str] = &[];

    pub fn schema() -> Schema {
        Schema::new(database::FIELDS)
            .with_fields(&[Field::new(
                "connections",
                Type::Number,
                "clients connected to the server (Threads_connected)",
            )])
            .with_dynamic(database::ROW)
    }

    pub fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let url = t.required_string(d, "url", "\"mysql://app@127.0.0.1:3306/app\"");
        let query = database::read_query(t, d);
        let url = url?;
        let options = match MySqlConnectOptions::from_str(url.get_ref()) {
            Ok(o) => o,
            Err(e) => {
                d.error(
                    url.span(),
                    format!("`url` is not a MySQL URL: {e}"),
                    Some("for example: url = \"mysql://app@127.0.0.1:3306/app\"".into()),
                );
                return None;
            }
        };
        Some(Mysql {
            options,
            target: database::short_target(url.get_ref()),
            query,
            timeout: spec.timeout,
            kept: database::Kept::default(),
        })
    }

    pub fn target(&self) -> String {
        self.target.clone()
    }

    /// A new connection and how long opening it took.
    async fn fresh(&self) -> Result<(MySqlConnection, Duration), sqlx::Error> {
        let started = Instant::now();
        let conn = MySqlConnection::connect_with(&self.options).await?;
        Ok((conn, started.elapsed()))
    }

    pub async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let fail = |e: sqlx::Error| ProbeError::new(database::describe(&e, &self.target, self.timeout));
        let select_one = async |conn: &mut MySqlConnection| {
            let started = Instant::now();
            sqlx::query("SELECT 1").execute(&mut *conn).await.map(|_| started.elapsed())
        };
        let reused = match self.kept.take() {
            Some((mut kept, opened)) => select_one(&mut kept).await.ok().map(|latency| (kept, opened, latency)),
            None => None,
        };
        // A kept connection the server closed is not the database's fault: judge a fresh one.
        let (mut conn, opened, latency, connect_time) = match reused {
            Some((conn, opened, latency)) => (conn, opened, latency, None),
            None => {
                let (mut conn, connect_time) = self.fresh().await.map_err(fail)?;
                let latency = select_one(&mut conn).await.map_err(fail)?;
                (conn, Instant::now(), latency, Some(connect_time))
            }
        };
        let size: u64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS UNSIGNED) FROM information_schema.tables WHERE table_schema = DATABASE()",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(fail)?;
        let threads: Option<(String, String)> = sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
            .fetch_optional(&mut conn)
            .await
            .map_err(fail)?;
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(latency));
        match connect_time {
            Some(took) => obs.insert("connect_time", Value::duration(took)),
            None => obs.mark_missing("connect_time", "this run reused the kept connection"),
        }
        obs.insert("database_size", Value::size(size));
        if let Some(n) = threads.and_then(|(_, v)| v.parse::<f64>().ok()) {
            obs.insert("connections", Value::Number(n));
        }
        if let Some(query) = &self.query {
            // The query comes from the operator's own config file, not from outside input.
            let rows = sqlx::query(sqlx::AssertSqlSafe(query.as_str())).fetch_all(&mut conn).await.map_err(fail)?;
            database::observe_rows(
                &rows,
                |row, i| decode_any!(row, i, [i64, u64, i32, u32, i16, f64, f32, bool, String]),
                &mut obs,
            );
        }
        if run.ctx.keep_connections {
            self.kept.put(conn, opened);
        } else {
            let _ = conn.close().await;
        }
        Ok(obs)
    }
}
