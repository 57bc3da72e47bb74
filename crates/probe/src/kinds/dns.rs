//! `dns`: does a name resolve, to what, and how fast — through the system resolver or a
//! named server.

use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::RecordType;
use std::net::SocketAddr;
use std::time::Instant;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Dns {
    name: String,
    record_type: RecordType,
    resolver: Resolver<TokioConnectionProvider>,
    server: Option<SocketAddr>,
}

impl Kind for Dns {
    const KIND: &'static str = "dns";

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("records", Type::List, "the answers, as text (addresses, MX hosts, TXT strings)"),
            Field::new("count", Type::Number, "how many answers"),
            Field::new("latency", Type::Duration, "time to resolve"),
        ])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let name = t.required_string(d, "host", "\"app.example.com\"");
        let record_type = t.string(d, "record_type");
        let server = t.string(d, "server");
        let record_type = match record_type {
            None => RecordType::A,
            Some(rt) => match rt.get_ref().to_ascii_uppercase().parse::<RecordType>() {
                Ok(t)
                    if matches!(
                        t,
                        RecordType::A
                            | RecordType::AAAA
                            | RecordType::CNAME
                            | RecordType::MX
                            | RecordType::NS
                            | RecordType::TXT
                            | RecordType::SOA
                            | RecordType::CAA
                            | RecordType::SRV
                            | RecordType::PTR
                    ) =>
                {
                    t
                }
                _ => {
                    d.error(
                        rt.span(),
                        format!("`{}` is not a record type this probe asks for", rt.get_ref()),
                        Some("A, AAAA, CNAME, MX, NS, TXT, SOA, CAA, SRV or PTR".into()),
                    );
                    return None;
                }
            },
        };
        let server = match server {
            None => None,
            Some(s) => {
                let text = if s.get_ref().contains(':') { s.get_ref().clone() } else { format!("{}:53", s.get_ref()) };
                match text.parse::<SocketAddr>() {
                    Ok(addr) => Some(addr),
                    Err(_) => {
                        d.error(
                            s.span(),
                            format!("`server` must be an IP address with an optional port: `{}`", s.get_ref()),
                            Some("for example: server = \"1.1.1.1:53\"".into()),
                        );
                        return None;
                    }
                }
            }
        };
        let mut opts = ResolverOpts::default();
        opts.timeout = spec.timeout;
        opts.attempts = 1;
        opts.cache_size = 0; // every probe asks the server; a cached answer proves nothing
        let provider = TokioConnectionProvider::default();
        let resolver = match server {
            Some(addr) => {
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                Resolver::builder_with_config(ResolverConfig::from_parts(None, vec![], group), provider)
            }
            None => match Resolver::builder(provider) {
                Ok(builder) => builder,
                Err(e) => {
                    d.error(
                        t.span(),
                        format!("cannot read the system resolver configuration: {e}"),
                        Some("set `server` explicitly".into()),
                    );
                    return None;
                }
            },
        }
        .with_options(opts)
        .build();
        Some(Dns { name: name?.into_inner(), record_type, resolver, server })
    }

    fn target(&self) -> String {
        match self.server {
            Some(server) => format!("{} {} @{server}", self.name, self.record_type),
            None => format!("{} {}", self.name, self.record_type),
        }
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let started = Instant::now();
        let lookup = self.resolver.lookup(self.name.as_str(), self.record_type).await.map_err(|e| {
            if e.is_no_records_found() || e.is_nx_domain() {
                ProbeError::new(format!("no {} records for {}", self.record_type, self.name))
            } else {
                ProbeError::new(format!("cannot resolve {} ({}): {e}", self.name, self.record_type))
            }
        })?;
        let records: Vec<Value> = lookup
            .record_iter()
            .filter(|r| r.record_type() == self.record_type)
            .map(|r| Value::String(r.data().to_string().trim_end_matches('.').trim_matches('"').to_string()))
            .collect();
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(started.elapsed()));
        obs.insert("count", Value::Number(records.len() as f64));
        obs.insert("records", Value::List(records));
        Ok(obs)
    }
}
