//! `tls`: the certificate a server presents — days left, issuer, subject, protocol — checked
//! against the trusted roots (or a given CA file), with SNI.
//!
//! The handshake always completes so that an expired or untrusted certificate can still be
//! read and described (`certificate expired 3 days ago`), instead of a bare handshake error.

use crate::error::{ProbeError, describe_io};
use crate::kind::{Kind, Run, Spec};
use crate::kinds::tcp::has_port;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Tls {
    address: String,
    server_name: ServerName<'static>,
    verify: bool,
    roots: Arc<rustls::RootCertStore>,
}

impl Kind for Tls {
    const KIND: &'static str = "tls";

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("days_left", Type::Number, "whole days until the certificate expires (negative once expired)"),
            Field::new("issuer", Type::String, "the certificate's issuer"),
            Field::new("subject", Type::String, "the certificate's subject"),
            Field::new("protocol", Type::String, "the negotiated protocol, e.g. TLSv1.3"),
            Field::new("verified", Type::Bool, "whether the chain is trusted, current and for this name"),
            Field::new("latency", Type::Duration, "time to connect and complete the handshake"),
        ])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        let address = t.required_string(d, "address", "\"app.example.com:443\"");
        let server_name = t.string(d, "server_name");
        let verify = t.bool(d, "verify").unwrap_or(true);
        let ca_file = t.string(d, "ca_file");
        let address = address?;
        let address_text =
            if has_port(address.get_ref()) { address.get_ref().clone() } else { format!("{}:443", address.get_ref()) };
        let host = server_name.as_ref().map_or_else(|| host_of(&address_text), |s| s.get_ref().clone());
        let Ok(server_name) = ServerName::try_from(host.clone()) else {
            d.error(
                address.span(),
                format!("`{host}` is not a valid TLS server name"),
                Some("set server_name = \"app.example.com\"".into()),
            );
            return None;
        };
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(path) => match load_pem(path.get_ref()) {
                Ok(certs) => {
                    roots.add_parsable_certificates(certs);
                }
                Err(e) => {
                    d.error(path.span(), e, Some("give a PEM file of trusted CA certificates".into()));
                    return None;
                }
            },
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        Some(Tls { address: address_text, server_name, verify, roots: Arc::new(roots) })
    }

    fn target(&self) -> String {
        self.address.clone()
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let started = Instant::now();
        let verifier = Arc::new(RecordingVerifier::new(Arc::clone(&self.roots))?);
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ProbeError::new(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(&self.address)
            .await
            .map_err(|e| ProbeError::new(describe_io(&e, &self.address)))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let stream = connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| ProbeError::new(format!("TLS handshake with {} failed: {e}", self.address)))?;
        let latency = started.elapsed();
        let (_, session) = stream.get_ref();
        let protocol = session.protocol_version().and_then(|v| v.as_str()).unwrap_or("unknown").replace("_", ".");
        let leaf = session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .ok_or_else(|| ProbeError::new(format!("{} sent no certificate", self.address)))?;
        let now = run.ctx.clock.now();
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
            .map_err(|e| ProbeError::new(format!("cannot read the certificate of {}: {e}", self.address)))?;
        let days = days_until(cert.validity().not_after.timestamp(), now);
        let verify_error = verifier.error();
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(latency));
        obs.insert("days_left", Value::Number(days));
        obs.insert("issuer", Value::String(cert.issuer().to_string()));
        obs.insert("subject", Value::String(cert.subject().to_string()));
        obs.insert("protocol", Value::String(protocol));
        obs.insert("verified", Value::Bool(verify_error.is_none()));
        if self.verify
            && let Some(error) = verify_error
        {
            let name = server_name_text(&self.server_name);
            let message = if days < 0.0 {
                format!("certificate of {name} expired {} days ago ({})", -days, cert.validity().not_after)
            } else {
                format!("certificate of {name} is not trusted: {error}")
            };
            return Err(ProbeError::new(message));
        }
        Ok(obs)
    }
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "the server".into(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn host_of(address: &str) -> String {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']').to_string()
}

fn load_pem(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("cannot read {path}: {e}"))?.collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(format!("{path} holds no PEM certificates")),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}

/// Whole days from `now` until `not_after` (Unix seconds); negative once past.
fn days_until(not_after: i64, now: jiff::Timestamp) -> f64 {
    ((not_after - now.as_second()) as f64 / 86400.0).floor()
}

/// Days left on a DER certificate, for the `http` probe's `tls.days_left`.
pub fn days_left(der: &[u8], now: jiff::Timestamp) -> Option<f64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(days_until(cert.validity().not_after.timestamp(), now))
}

/// Verifies like a browser would, but records the verdict instead of aborting the handshake.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    error: Mutex<Option<String>>,
}

impl RecordingVerifier {
    fn new(roots: Arc<rustls::RootCertStore>) -> Result<Self, ProbeError> {
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| ProbeError::new(format!("no trusted roots to verify against: {e}")))?;
        Ok(RecordingVerifier { inner, error: Mutex::new(None) })
    }

    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Err(e) = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
