//! `redis`: PING latency, a real write/read/delete round trip (seed 000's cache check, done
//! properly: it writes, reads back and compares), hit ratio, memory, clients, and the length of
//! a queue list such as Laravel's `queues:default`.

use crate::error::{ProbeError, describe_io};
use crate::kind::{Kind, Run, Spec};
use std::time::Instant;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Redis {
    client: redis::Client,
    target: String,
    queue: Option<String>,
    roundtrip: bool,
}

impl Kind for Redis {
    const KIND: &'static str = "redis";

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("latency", Type::Duration, "PING round trip"),
            Field::new("roundtrip", Type::Duration, "time to SET, GET and DEL a probe key"),
            Field::new("hit_ratio", Type::Percent, "keyspace hits / (hits + misses) since the server started"),
            Field::new("used_memory", Type::Size, "memory used by Redis"),
            Field::new("memory_used_percent", Type::Percent, "used_memory / maxmemory, when maxmemory is set"),
            Field::new("connected_clients", Type::Number, "client connections"),
            Field::new("evicted_keys", Type::Number, "keys evicted since the server started"),
            Field::new("queue_length", Type::Number, "LLEN of `queue`"),
        ])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        let url = t.string(d, "url");
        let queue = t.string(d, "queue").map(|q| q.into_inner());
        let roundtrip = t.bool(d, "roundtrip").unwrap_or(true);
        let (url_text, span) = match &url {
            Some(u) => (u.get_ref().clone(), u.span()),
            None => ("redis://127.0.0.1:6379".to_string(), t.span()),
        };
        let client = match redis::Client::open(url_text.as_str()) {
            Ok(c) => c,
            Err(e) => {
                d.error(
                    span,
                    format!("`url` is not a Redis URL: {e}"),
                    Some("for example: url = \"redis://127.0.0.1:6379/0\"".into()),
                );
                return None;
            }
        };
        let target = crate::kinds::sql::short_target(&url_text);
        Some(Redis { client, target, queue, roundtrip })
    }

    fn target(&self) -> String {
        self.target.clone()
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let fail = |e: redis::RedisError| ProbeError::new(self.describe(&e));
        let started = Instant::now();
        let mut conn = self.client.get_multiplexed_async_connection().await.map_err(fail)?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(fail)?;
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(started.elapsed()));
        if self.roundtrip {
            obs.insert("roundtrip", Value::duration(self.roundtrip(&mut conn, run.check).await?));
        }
        let info: String = redis::cmd("INFO").query_async(&mut conn).await.map_err(fail)?;
        observe_info(&info, &mut obs);
        if let Some(queue) = &self.queue {
            let len: i64 = redis::cmd("LLEN").arg(queue).query_async(&mut conn).await.map_err(fail)?;
            obs.insert("queue_length", Value::Number(len as f64));
        }
        Ok(obs)
    }
}

impl Redis {
    /// Writes a unique key with a 60 s expiry, reads it back, deletes it.
    async fn roundtrip(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        check: &str,
    ) -> Result<std::time::Duration, ProbeError> {
        let fail = |e: redis::RedisError| ProbeError::new(self.describe(&e));
        let nonce = format!("{}-{}", std::process::id(), jiff::Timestamp::now().as_nanosecond());
        let key = format!("upkeep:probe:{check}:{nonce}");
        let started = Instant::now();
        let _: () = redis::cmd("SET").arg(&key).arg(&nonce).arg("EX").arg(60).query_async(conn).await.map_err(fail)?;
        let read: Option<String> = redis::cmd("GET").arg(&key).query_async(conn).await.map_err(fail)?;
        let _: i64 = redis::cmd("DEL").arg(&key).query_async(conn).await.map_err(fail)?;
        let elapsed = started.elapsed();
        match read {
            Some(value) if value == nonce => Ok(elapsed),
            Some(value) => Err(ProbeError::new(format!(
                "cache round trip on {} read back {value:?}, not what it wrote",
                self.target
            ))),
            None => Err(ProbeError::new(format!(
                "cache round trip on {}: the key it wrote was gone when read back",
                self.target
            ))),
        }
    }

    fn describe(&self, e: &redis::RedisError) -> String {
        if e.is_connection_refusal() {
            return format!("connection refused to {}", self.target);
        }
        if let Some(io) = crate::error::find_io(e) {
            return describe_io(io, &self.target);
        }
        if e.kind() == redis::ErrorKind::AuthenticationFailed {
            return format!(
                "authentication to Redis at {} failed: the password was refused (check the URL's user and password)",
                self.target
            );
        }
        let text = e.to_string();
        if text.contains("NOAUTH") || text.contains("WRONGPASS") || text.contains("invalid password") {
            return format!("authentication to Redis at {} failed: {text}", self.target);
        }
        format!("Redis at {}: {text}", self.target)
    }
}

/// Reads the INFO fields the probe reports.
fn observe_info(info: &str, obs: &mut Observations) {
    let field = |name: &str| -> Option<f64> {
        info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
    };
    if let (Some(hits), Some(misses)) = (field("keyspace_hits"), field("keyspace_misses")) {
        if hits + misses > 0.0 {
            obs.insert("hit_ratio", Value::Percent(hits / (hits + misses) * 100.0));
        } else {
            obs.mark_missing("hit_ratio", "the cache has not been read from yet");
        }
    }
    if let Some(used) = field("used_memory") {
        obs.insert("used_memory", Value::Size(used));
        match field("maxmemory") {
            Some(max) if max > 0.0 => obs.insert("memory_used_percent", Value::Percent(used / max * 100.0)),
            _ => obs.mark_missing("memory_used_percent", "maxmemory is not set"),
        }
    }
    if let Some(clients) = field("connected_clients") {
        obs.insert("connected_clients", Value::Number(clients));
    }
    if let Some(evicted) = field("evicted_keys") {
        obs.insert("evicted_keys", Value::Number(evicted));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_hit_ratio_from_info() {
        let mut obs = Observations::new();
        observe_info(
            "# Stats\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\nused_memory:1048576\r\nmaxmemory:0\r\n",
            &mut obs,
        );
        assert_eq!(obs.get("hit_ratio"), Some(&Value::Percent(90.0)));
        assert_eq!(obs.get("used_memory"), Some(&Value::Size(1048576.0)));
        assert_eq!(obs.why_missing("memory_used_percent"), Some("maxmemory is not set"));
    }
}
