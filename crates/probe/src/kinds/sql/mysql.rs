//! `mysql` (MariaDB and MySQL): connect, `SELECT 1`, database size, connections, and an
//! optional query. One connection is kept and replaced every five minutes, as for PostgreSQL.

use super::{self as database, decode_any};
use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use std::str::FromStr;
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Mysql {
    options: MySqlConnectOptions,
    target: String,
    query: Option<String>,
    timeout: Duration,
    kept: database::Kept<MySqlConnection>,
    size: database::SizeCache,
}

impl Kind for Mysql {
    const KIND: &'static str = "mysql";

    fn schema() -> Schema {
        Schema::new(database::FIELDS)
            .with_fields(&[Field::new(
                "connections",
                Type::Number,
                "clients connected to the server (Threads_connected)",
            )])
            .with_dynamic(database::ROW)
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
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
            size: database::SizeCache::default(),
        })
    }

    fn target(&self) -> String {
        self.target.clone()
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let fail = |e: sqlx::Error| ProbeError::new(database::describe(&e, &self.target, self.timeout));
        let mut connected = self.kept.connect(&self.options, select_one).await.map_err(fail)?;
        let size = self
            .size
            .get(
                sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS UNSIGNED) FROM information_schema.tables WHERE table_schema = DATABASE()",
                )
                .fetch_one(&mut connected.conn),
            )
            .await
            .map_err(fail)?;
        let threads: Option<(String, String)> = sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
            .fetch_optional(&mut connected.conn)
            .await
            .map_err(fail)?;
        let mut obs = Observations::new();
        connected.observe(&mut obs);
        obs.insert("database_size", Value::size(size));
        if let Some(n) = threads.and_then(|(_, v)| v.parse::<f64>().ok()) {
            obs.insert("connections", Value::Number(n));
        }
        if let Some(query) = &self.query {
            // The query comes from the operator's own config file, not from outside input. It
            // runs in a read-only transaction: a write hidden in it (a data-modifying CTE, say)
            // is refused by the server rather than repeated on every run.
            let mut tx =
                sqlx::Connection::begin_with(&mut connected.conn, "START TRANSACTION READ ONLY").await.map_err(fail)?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(query.as_str())).fetch_all(&mut *tx).await.map_err(fail)?;
            tx.rollback().await.map_err(fail)?;
            database::observe_rows(
                &rows,
                |row, i| decode_any!(row, i, [i64, u64, i32, u32, i16, f64, f32, bool, String]),
                &mut obs,
            );
        }
        self.kept.release(connected, run.ctx.long_running).await;
        Ok(obs)
    }
}

fn select_one(
    conn: &mut MySqlConnection,
) -> std::pin::Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + '_>> {
    Box::pin(async move { sqlx::query("SELECT 1").execute(conn).await.map(|_| ()) })
}
