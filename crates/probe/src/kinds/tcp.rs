//! `tcp`: can a connection be opened, and how fast.

use crate::error::{ProbeError, describe_io};
use crate::kind::{Kind, Run, Spec};
use std::time::Instant;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Tcp {
    address: String,
}

impl Kind for Tcp {
    const KIND: &'static str = "tcp";

    fn schema() -> Schema {
        Schema::new(&[Field::new("latency", Type::Duration, "time to open the connection")])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        let address = t.required_string(d, "address", "\"app.example.com:443\"")?;
        if !has_port(address.get_ref()) {
            d.error(
                address.span(),
                format!("`address` needs a port: `{}`", address.get_ref()),
                Some("write host:port, e.g. \"db.internal:5432\"".into()),
            );
            return None;
        }
        Some(Tcp { address: address.into_inner() })
    }

    fn target(&self) -> String {
        self.address.clone()
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let started = Instant::now();
        let stream = tokio::net::TcpStream::connect(&self.address)
            .await
            .map_err(|e| ProbeError::new(describe_io(&e, &self.address)))?;
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(started.elapsed()));
        drop(stream);
        Ok(obs)
    }
}

/// `host:port` or `[v6]:port`.
pub fn has_port(address: &str) -> bool {
    address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}
