//! `postgres-maintenance`: `VACUUM (ANALYZE)` of the database or of named tables,
//! `REINDEX ... CONCURRENTLY` of named tables or indexes, and a bloat report (dead rows per
//! table). Each statement runs alone on an autocommit connection, outside any transaction:
//! seed 004's scripts put VACUUM and REINDEX CONCURRENTLY inside `psql -c` or `BEGIN ...
//! COMMIT`, where PostgreSQL refuses them and rolls the whole script back, so nothing ran.

use crate::task::{Failure, Kind, Outcome, Output, Run, identifiers, quote};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::path::Path;
use upkeep_config::{Diagnostics, TableReader};

const STEPS: &[&str] = &["vacuum_analyze", "analyze", "reindex", "bloat"];
const DEFAULT_STEPS: &[&str] = &["vacuum_analyze", "bloat"];
/// Tables in the bloat report.
const BLOAT_ROWS: i64 = 10;

#[derive(Debug)]
pub struct PostgresMaintenance {
    url: String,
    steps: Vec<&'static str>,
    tables: Vec<String>,
    reindex: Vec<String>,
}

impl Kind for PostgresMaintenance {
    const KIND: &'static str = "postgres-maintenance";

    fn build(t: &mut TableReader, d: &mut Diagnostics, _base: &Path) -> Option<Self> {
        let url = t.required_string(d, "url", "\"postgres://upkeep@127.0.0.1/app\"");
        let tables = identifiers(t, d, "tables");
        let reindex = identifiers(t, d, "reindex");
        let mut steps = crate::task::steps(t, d, STEPS, DEFAULT_STEPS);
        if !reindex.is_empty() && !steps.contains(&"reindex") {
            steps.push("reindex");
        }
        if steps.contains(&"reindex") && reindex.is_empty() {
            d.error(
                t.span(),
                format!("{} has the step `reindex` but no `reindex` list", t.context()),
                Some("name what to rebuild: reindex = [\"users\", \"sessions_user_id_index\"] (REINDEX DATABASE cannot run concurrently)".into()),
            );
        }
        Some(PostgresMaintenance { url: url?.into_inner(), steps, tables, reindex })
    }

    fn target(&self) -> String {
        upkeep_config::redact_url(&self.url, &[])
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let target = self.target();
        let fail = |e: sqlx::Error| Failure::from(format!("{target}: {e}"));
        let mut conn = PgConnection::connect(&self.url).await.map_err(fail)?;
        let mut output = Output::default();
        let mut outcome = Outcome::default();
        let mut done = Vec::new();
        let dead_before = dead_rows(&mut conn).await.map_err(fail)?;
        let relations = if self.tables.is_empty() {
            String::new()
        } else {
            format!(" {}", self.tables.iter().map(|t| quote(t, '"')).collect::<Vec<_>>().join(", "))
        };
        for step in &self.steps {
            let summary = match *step {
                "vacuum_analyze" | "analyze" => {
                    let sql = if *step == "analyze" {
                        format!("ANALYZE{relations}")
                    } else {
                        format!("VACUUM (ANALYZE){relations}")
                    };
                    if run.dry_run {
                        format!("would run {sql}")
                    } else {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str())).execute(&mut conn).await.map_err(fail)?;
                        format!("ran {sql}")
                    }
                }
                "reindex" => {
                    let mut rebuilt = Vec::new();
                    for name in &self.reindex {
                        let sql = format!(
                            "REINDEX {} CONCURRENTLY {}",
                            relation_kind(&mut conn, name).await.map_err(fail)?,
                            quote(name, '"')
                        );
                        if !run.dry_run {
                            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str())).execute(&mut conn).await.map_err(fail)?;
                        }
                        rebuilt.push(name.as_str());
                    }
                    let verb = if run.dry_run { "would reindex" } else { "reindexed" };
                    format!("{verb} {} concurrently", rebuilt.join(", "))
                }
                "bloat" => bloat(&mut conn, &mut output).await.map_err(fail)?,
                _ => continue,
            };
            output.line(&summary);
            done.push(summary);
        }
        if !run.dry_run {
            let dead_after = dead_rows(&mut conn).await.map_err(fail)?;
            outcome.changes.insert("dead_rows_removed".into(), (dead_before - dead_after).max(0.0));
        }
        outcome.changes.insert("dead_rows".into(), dead_before);
        outcome.summary = done.join("; ");
        let _ = conn.close().await;
        Ok(outcome.output(output))
    }
}

/// Dead rows across the user's tables, as the statistics last counted them.
async fn dead_rows(conn: &mut PgConnection) -> Result<f64, sqlx::Error> {
    let dead: Option<i64> =
        sqlx::query_scalar("SELECT sum(n_dead_tup)::bigint FROM pg_stat_user_tables").fetch_one(conn).await?;
    Ok(dead.unwrap_or(0) as f64)
}

/// `TABLE` or `INDEX`, for REINDEX of a name that may be either.
async fn relation_kind(conn: &mut PgConnection, name: &str) -> Result<&'static str, sqlx::Error> {
    let kind: Option<String> = sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    match kind.as_deref() {
        Some("i") | Some("I") => Ok("INDEX"),
        Some(_) => Ok("TABLE"),
        None => Err(sqlx::Error::Protocol(format!("no table or index named {name}"))),
    }
}

/// The tables with the most dead rows: where autovacuum falls behind.
async fn bloat(conn: &mut PgConnection, output: &mut Output) -> Result<String, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables \
         WHERE n_dead_tup > 0 ORDER BY n_dead_tup DESC LIMIT $1",
    )
    .bind(BLOAT_ROWS)
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Ok("no dead rows".into());
    }
    for (table, live, dead) in &rows {
        let ratio = *dead as f64 / (*live + *dead).max(1) as f64;
        output.line(format!("  {table}: {dead} dead of {} rows ({:.1}%)", live + dead, ratio * 100.0));
    }
    let (table, _, dead) = &rows[0];
    Ok(format!("most dead rows: {table} ({dead})"))
}
