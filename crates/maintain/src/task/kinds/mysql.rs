//! `mysql-maintenance` (MySQL and MariaDB): `ANALYZE TABLE`, `CHECK TABLE` (failing when any
//! table is not OK, seed 002), and `OPTIMIZE TABLE` only after a free-space check: on InnoDB it
//! rebuilds the table, needing about its size free on the server's disk (seed 002-18 runs it
//! monthly on every table, blind).

use crate::task::{Failure, Kind, Outcome, Output, Run, bytes, identifiers, quote};
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{Connection, Row};
use std::path::Path;
use upkeep_config::{Diagnostics, TableReader};

const STEPS: &[&str] = &["analyze", "check", "optimize"];
const DEFAULT_STEPS: &[&str] = &["analyze", "check"];

#[derive(Debug)]
pub struct MysqlMaintenance {
    url: String,
    steps: Vec<&'static str>,
    /// Empty: every base table of the database.
    tables: Vec<String>,
}

impl Kind for MysqlMaintenance {
    const KIND: &'static str = "mysql-maintenance";

    fn build(t: &mut TableReader, d: &mut Diagnostics, _base: &Path) -> Option<Self> {
        let url = t.required_string(d, "url", "\"mysql://upkeep@127.0.0.1/app\"");
        let tables = identifiers(t, d, "tables");
        let steps = crate::task::steps(t, d, STEPS, DEFAULT_STEPS);
        Some(MysqlMaintenance { url: url?.into_inner(), steps, tables })
    }

    fn target(&self) -> String {
        upkeep_config::redact_url(&self.url, &[])
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let target = self.target();
        let fail = |e: sqlx::Error| Failure::from(format!("{target}: {e}"));
        let mut conn = MySqlConnection::connect(&self.url).await.map_err(fail)?;
        let tables = match self.tables.is_empty() {
            false => self.tables.clone(),
            true => sqlx::query_scalar(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
            )
            .fetch_all(&mut conn)
            .await
            .map_err(fail)?,
        };
        if tables.is_empty() {
            return Ok(Outcome::new("no tables"));
        }
        let list = tables.iter().map(|t| quote(t, '`')).collect::<Vec<_>>().join(", ");
        let mut output = Output::default();
        let mut outcome = Outcome::default();
        let mut done = Vec::new();
        for step in &self.steps {
            let summary = match *step {
                "analyze" if run.dry_run => format!("would analyze {} tables", tables.len()),
                "analyze" => {
                    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("ANALYZE TABLE {list}")))
                        .fetch_all(&mut conn)
                        .await
                        .map_err(fail)?;
                    report(&rows, &mut output);
                    format!("analyzed {} tables", tables.len())
                }
                "check" => {
                    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CHECK TABLE {list}")))
                        .fetch_all(&mut conn)
                        .await
                        .map_err(fail)?;
                    let bad = report(&rows, &mut output);
                    outcome.changes.insert("tables_not_ok".into(), bad.len() as f64);
                    if !bad.is_empty() {
                        return Err(Failure {
                            message: format!("CHECK TABLE: {} not OK ({})", bad.len(), bad.join(", ")),
                            output: output.into_string(),
                        });
                    }
                    format!("checked {} tables: all OK", tables.len())
                }
                "optimize" => self.optimize(&mut conn, &tables, &list, run, &mut output).await?,
                _ => continue,
            };
            done.push(summary);
        }
        outcome.summary = done.join("; ");
        let _ = conn.close().await;
        Ok(outcome.output(output))
    }
}

impl MysqlMaintenance {
    /// OPTIMIZE rebuilds each table into a copy; refused unless the server's disk has the
    /// largest table's size free, plus a margin, so the rebuild cannot fill it.
    async fn optimize(
        &self,
        conn: &mut MySqlConnection,
        tables: &[String],
        list: &str,
        run: Run,
        output: &mut Output,
    ) -> Result<String, Failure> {
        let target = self.target();
        let fail = |e: sqlx::Error| Failure::from(format!("{target}: {e}"));
        let mut largest = 0.0f64;
        for table in tables {
            let size: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(data_length + index_length AS SIGNED) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?",
            )
            .bind(table.rsplit('.').next().unwrap_or(table))
            .fetch_optional(&mut *conn)
            .await
            .map_err(fail)?
            .flatten();
            largest = largest.max(size.unwrap_or(0) as f64);
        }
        let datadir: String =
            sqlx::query_scalar("SELECT CAST(@@datadir AS CHAR)").fetch_one(&mut *conn).await.map_err(fail)?;
        let path = Path::new(&datadir).join(".");
        if !Path::new(&datadir).is_dir() {
            return Err(format!(
                "OPTIMIZE refused: the server's data directory {datadir} is not on this machine, so its free space cannot be checked; \
                 run this task where MySQL runs, or leave `optimize` out of `steps`"
            )
            .into());
        }
        let free = super::sqlite::free_space(&path).await?;
        let needed = largest * 1.1;
        if free < needed {
            return Err(format!(
                "OPTIMIZE refused: {} free in {datadir}, and rebuilding the largest table needs about {}",
                bytes(free),
                bytes(needed)
            )
            .into());
        }
        if run.dry_run {
            return Ok(format!(
                "would optimize {} tables ({} free, {} needed)",
                tables.len(),
                bytes(free),
                bytes(needed)
            ));
        }
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("OPTIMIZE TABLE {list}")))
            .fetch_all(&mut *conn)
            .await
            .map_err(fail)?;
        report(&rows, output);
        Ok(format!("optimized {} tables", tables.len()))
    }
}

/// Writes the `Table | Op | Msg_type | Msg_text` rows to the output; returns the tables whose
/// status is not OK. InnoDB's "doing recreate + analyze instead" note on OPTIMIZE is not an
/// error.
fn report(rows: &[MySqlRow], output: &mut Output) -> Vec<String> {
    let text = |row: &MySqlRow, i: usize| -> String {
        row.try_get::<String, _>(i)
            .or_else(|_| row.try_get::<Vec<u8>, _>(i).map(|b| String::from_utf8_lossy(&b).into_owned()))
            .unwrap_or_default()
    };
    let mut bad = Vec::new();
    for row in rows {
        let (table, kind, message) = (text(row, 0), text(row, 2), text(row, 3));
        output.line(format!("{table}: {kind}: {message}"));
        let failed = kind.eq_ignore_ascii_case("error")
            || (kind.eq_ignore_ascii_case("status")
                && !message.eq_ignore_ascii_case("OK")
                && !message.contains("up to date"));
        if failed && !bad.contains(&table) {
            bad.push(table);
        }
    }
    bad
}
