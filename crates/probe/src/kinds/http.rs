//! `http`: one request, judged on status, latency, body, JSON, headers and the certificate.
//!
//! Clients are shared between checks with the same TLS and redirect settings so that
//! connections to one host are pooled (keep-alive), as a browser or load balancer would.

use crate::error::{ProbeError, find_io};
use crate::kind::{Kind, Run, Spec};
use crate::kinds::tls::days_left;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Http {
    url: reqwest::Url,
    /// The URL as it may be shown: no password, no token in the query.
    shown: String,
    sensitive_params: Vec<String>,
    method: reqwest::Method,
    headers: reqwest::header::HeaderMap,
    body: Option<String>,
    max_body: u64,
    client: reqwest::Client,
    keep_body: bool,
    keep_json: bool,
    keep_headers: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    verify_tls: bool,
    max_redirects: usize,
}

static CLIENTS: LazyLock<Mutex<HashMap<ClientKey, reqwest::Client>>> = LazyLock::new(Default::default);

fn client(key: ClientKey) -> Result<reqwest::Client, String> {
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    let redirect = if key.max_redirects == 0 {
        reqwest::redirect::Policy::none()
    } else {
        reqwest::redirect::Policy::limited(key.max_redirects)
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        .tls_danger_accept_invalid_certs(!key.verify_tls)
        .tls_info(true)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    clients.insert(key, client.clone());
    Ok(client)
}

impl Kind for Http {
    const KIND: &'static str = "http";

    const DEFAULT_EXPECT: &'static [&'static str] = &["status >= 200 and status < 300"];

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("status", Type::Number, "the HTTP status code"),
            Field::new("latency", Type::Duration, "time to the full response body"),
            Field::new("body", Type::String, "the response body (up to max_body)"),
            Field::new("size", Type::Size, "the body's size"),
            Field::new("url", Type::String, "the final URL, after redirects"),
            Field::new("tls.days_left", Type::Number, "whole days until the certificate expires (https)"),
        ])
        .with_dynamic(Field::new("json", Type::Dynamic, "the body parsed as JSON"))
        .with_dynamic(Field::new("header", Type::Dynamic, "response headers by lower-case name"))
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let url = t.required_string(d, "url", "\"https://app.example.com/health\"");
        let method = t.string(d, "method");
        let headers = t.string_map(d, "headers").unwrap_or_default();
        let body = t.string(d, "body").map(|b| b.into_inner());
        let follow = t.bool(d, "follow_redirects").unwrap_or(true);
        let max_redirects = t.integer(d, "max_redirects", 0..100).unwrap_or(10) as usize;
        let verify_tls = t.bool(d, "verify_tls").unwrap_or(true);
        let max_body = t.size(d, "max_body").map_or(1 << 20, |s| s.into_inner());

        let url = url?;
        let parsed = match reqwest::Url::parse(url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            _ => {
                d.error(
                    url.span(),
                    format!("`url` is not an http(s) URL: `{}`", upkeep_config::redact_url(url.get_ref(), &[])),
                    Some("for example: url = \"https://app.example.com/health\"".into()),
                );
                return None;
            }
        };
        let method = match method {
            None => reqwest::Method::GET,
            Some(m) => match reqwest::Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()) {
                Ok(method) => method,
                Err(_) => {
                    d.error(
                        m.span(),
                        format!("`{}` is not an HTTP method", m.get_ref()),
                        Some("GET, HEAD, POST, PUT, ...".into()),
                    );
                    return None;
                }
            },
        };
        let mut header_map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            match (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value.get_ref()),
            ) {
                (Ok(n), Ok(v)) => {
                    header_map.append(n, v);
                }
                _ => d.error(
                    value.span(),
                    format!("header `{name}` is not a valid HTTP header"),
                    Some("a name of letters, digits and `-`, and a value of visible ASCII".into()),
                ),
            }
        }
        let key = ClientKey { verify_tls, max_redirects: if follow { max_redirects } else { 0 } };
        let client = match client(key) {
            Ok(c) => c,
            Err(e) => {
                d.error(t.span(), e, None);
                return None;
            }
        };
        Some(Http {
            shown: upkeep_config::redact_url(parsed.as_str(), spec.sensitive_params),
            sensitive_params: spec.sensitive_params.to_vec(),
            url: parsed,
            method,
            headers: header_map,
            body,
            max_body,
            client,
            keep_body: spec.reads("body"),
            keep_json: spec.reads("json"),
            keep_headers: spec.reads("header"),
        })
    }

    fn target(&self) -> String {
        self.shown.clone()
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let started = Instant::now();
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone())
            .timeout(run.timeout);
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let mut response = request.send().await.map_err(|e| self.describe(&e, run))?;
        let mut obs = Observations::new();
        obs.insert("status", Value::Number(f64::from(response.status().as_u16())));
        let shown = if response.url() == &self.url {
            self.shown.clone()
        } else {
            upkeep_config::redact_url(response.url().as_str(), &self.sensitive_params)
        };
        obs.insert("url", Value::String(shown));
        self.observe_tls(&response, run, &mut obs);
        if self.keep_headers {
            let headers: serde_json::Map<String, serde_json::Value> = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    )
                })
                .collect();
            obs.insert("header", Value::Json(serde_json::Value::Object(headers)));
        }
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut truncated = false;
        // The body must finish a little before the check's own timeout, so a body that trickles
        // forever is reported as such, with its status, rather than as no answer at all.
        let deadline = started + run.timeout.saturating_sub((run.timeout / 20).min(Duration::from_millis(250)));
        let deadline = tokio::time::sleep_until(deadline.into());
        tokio::pin!(deadline);
        loop {
            let chunk = tokio::select! {
                chunk = response.chunk() => chunk.map_err(|e| self.describe(&e, run))?,
                _ = &mut deadline => {
                    return Err(ProbeError::new(format!(
                        "{} answered {status} but its body did not finish within {} ({} read)",
                        self.shown,
                        Value::duration(run.timeout),
                        Value::size(body.len() as u64)
                    )));
                }
            };
            let Some(chunk) = chunk else { break };
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        obs.insert("latency", Value::duration(started.elapsed()));
        obs.insert("size", Value::size(body.len() as u64));
        if self.keep_json {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(json) => obs.insert("json", Value::Json(json)),
                Err(e) if truncated => obs.mark_missing("json", format!("the body is larger than max_body ({e})")),
                Err(e) => obs.mark_missing("json", format!("the body is not JSON ({e})")),
            }
        }
        if self.keep_body {
            obs.insert("body", Value::String(String::from_utf8_lossy(&body).into_owned()));
        }
        Ok(obs)
    }
}

impl Http {
    fn observe_tls(&self, response: &reqwest::Response, run: &Run<'_>, obs: &mut Observations) {
        if self.url.scheme() != "https" {
            obs.mark_missing("tls", "the URL is not https");
            return;
        }
        let cert = response.extensions().get::<reqwest::tls::TlsInfo>().and_then(|info| info.peer_certificate());
        match cert.and_then(|der| days_left(der, run.ctx.clock.now())) {
            Some(days) => obs.insert("tls.days_left", Value::Number(days)),
            None => obs.mark_missing("tls", "the server sent no readable certificate"),
        }
    }

    fn describe(&self, e: &reqwest::Error, run: &Run<'_>) -> ProbeError {
        let host = self.url.host_str().unwrap_or("?");
        let target = format!("{host}:{}", self.url.port_or_known_default().unwrap_or(0));
        if e.is_timeout() {
            return ProbeError::new(format!(
                "no answer from {} within {} (timeout)",
                self.shown,
                Value::duration(run.timeout)
            ));
        }
        if e.is_redirect() {
            return ProbeError::new(format!("too many redirects from {}", self.shown));
        }
        if let Some(io) = find_io(e) {
            return ProbeError::new(crate::error::describe_io(io, &target));
        }
        let chain = error_chain(e);
        if chain.contains("dns error") || chain.contains("failed to lookup") {
            return ProbeError::new(format!("cannot resolve {host}"));
        }
        if chain.to_ascii_lowercase().contains("certificate") {
            return ProbeError::new(format!("TLS certificate of {host} rejected: {}", last_cause(e)));
        }
        ProbeError::new(format!("request to {} failed: {}", self.shown, last_cause(e)))
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut current = e.source();
    while let Some(inner) = current {
        parts.push(inner.to_string());
        current = inner.source();
    }
    parts.join(": ")
}

fn last_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &dyn std::error::Error = e;
    while let Some(inner) = current.source() {
        current = inner;
    }
    current.to_string()
}
