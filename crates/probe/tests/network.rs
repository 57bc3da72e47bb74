//! The network probes against real servers started by the test: an HTTP app, a TLS server with
//! certificates made here, a DNS server speaking the real protocol, and closed ports.

mod support;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use support::{certs, obs, run_one};
use upkeep_probe::Status;

/// A small app like the manuals' Laravel one: /health JSON, a failing endpoint, a redirect.
async fn app() -> SocketAddr {
    let router = Router::new()
        .route(
            "/health",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"healthy","checks":{"database":{"status":"ok"}}}"#,
                )
            }),
        )
        .route("/degraded", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"unhealthy"}"#) }))
        .route("/text", get(|| async { "hello, operator" }))
        .route("/moved", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/health")]).into_response() }))
        .route(
            "/echo",
            axum::routing::any(|method: axum::http::Method, headers: axum::http::HeaderMap, body: String| async move {
                let probe = headers.get("x-probe").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
                let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
                format!("{method} {body} x-probe={probe} authorization={token}")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A server that accepts connections and never answers.
async fn silent() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// A port with nothing listening on it.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

fn http_check(url: &str, extra: &str) -> String {
    format!("[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"{url}\"\n{extra}\n")
}

#[tokio::test]
async fn http_health_json_passes_the_design_example() {
    let addr = app().await;
    let result = run_one(&http_check(
        &format!("http://{addr}/health"),
        r#"expect = ['status == 200', 'json.status == "healthy"', 'json.checks.database.status == "ok"', 'latency < 2s']"#,
    ))
    .await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert_eq!(obs(&result, "status"), 200.0);
    assert!(result.latency > std::time::Duration::ZERO);
}

#[tokio::test]
async fn http_defaults_to_expecting_2xx_and_explains_a_503() {
    let addr = app().await;
    let result = run_one(&http_check(&format!("http://{addr}/degraded"), "")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("expected status >= 200 and status < 300, got 503"));

    let result = run_one(&http_check(&format!("http://{addr}/degraded"), "expect = 'status == 200'")).await;
    assert_eq!(result.message.as_deref(), Some("expected status == 200, got 503"));
}

#[tokio::test]
async fn http_reports_malformed_json_in_words() {
    let addr = app().await;
    let result = run_one(&http_check(&format!("http://{addr}/text"), r#"expect = 'json.status == "healthy"'"#)).await;
    assert_eq!(result.status, Status::Error);
    let message = result.message.unwrap();
    assert!(
        message
            .starts_with("cannot check json.status == \"healthy\": json.status was not observed: the body is not JSON"),
        "{message}"
    );
}

#[tokio::test]
async fn http_reads_body_and_headers_and_follows_redirects() {
    let addr = app().await;
    let result = run_one(&http_check(
        &format!("http://{addr}/moved"),
        r#"expect = ['status == 200', 'body contains "healthy"', 'header.content-type == "application/json"', 'url matches "/health$"']"#,
    ))
    .await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);

    let result =
        run_one(&http_check(&format!("http://{addr}/moved"), "follow_redirects = false\nexpect = 'status == 302'"))
            .await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
}

#[tokio::test]
async fn http_sends_method_body_and_headers() {
    let addr = app().await;
    let result = run_one(&http_check(
        &format!("http://{addr}/echo"),
        "method = \"post\"\nbody = \"ping\"\nheaders = { \"X-Probe\" = \"upkeep\", Authorization = \"Bearer t0k\" }\n\
         expect = 'body == \"POST ping x-probe=upkeep authorization=Bearer t0k\"'",
    ))
    .await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    // Without the headers the server sees none: the expectation above could fail.
    let bare =
        run_one(&http_check(&format!("http://{addr}/echo"), "expect = 'body == \"GET  x-probe=- authorization=-\"'"))
            .await;
    assert_eq!(bare.status, Status::Ok, "{:?}", bare.message);
}

/// Issue 22: a server that sends its status and then trickles a body that never ends is a
/// broken response with a status, not "no answer".
#[tokio::test]
async fn a_body_that_never_ends_is_reported_with_its_status() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\nstart").await;
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    if socket.write_all(b".").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let result = run_one(&http_check(&format!("http://{addr}/slow"), "timeout = \"500ms\"")).await;
    assert_eq!(result.status, Status::Error);
    let message = result.message.unwrap();
    assert!(
        message.starts_with(&format!("http://{addr}/slow answered 200 but its body did not finish within 500ms (")),
        "{message}"
    );
}

#[tokio::test]
async fn http_connection_refused_says_so() {
    let addr = closed_port().await;
    let result = run_one(&http_check(&format!("http://{addr}/health"), "")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.unwrap(), format!("connection refused to {addr}"));
}

#[tokio::test]
async fn http_timeout_is_enforced_and_named() {
    let addr = silent().await;
    let result = run_one(&http_check(&format!("http://{addr}/health"), "timeout = \"300ms\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.unwrap(), format!("no answer from http://{addr}/health within 300ms (timeout)"));
}

#[tokio::test]
async fn https_observes_days_left_and_rejects_an_untrusted_certificate() {
    let pki = certs::pki(certs::days_from_now(-1, 0), certs::days_from_now(30, 1));
    let addr = certs::serve(&pki).await;
    let url = format!("https://localhost:{}/", addr.port());
    // Our test CA is not in the trusted roots: verification on refuses it.
    let result = run_one(&http_check(&url, "")).await;
    assert_eq!(result.status, Status::Error);
    assert!(result.message.as_deref().unwrap().contains("certificate"), "{:?}", result.message);
    // With verification off, the certificate is still read.
    let result =
        run_one(&http_check(&url, "verify_tls = false\nexpect = ['status == 200', 'tls.days_left == 30']")).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
}

#[tokio::test]
async fn http_on_plain_http_explains_why_tls_is_missing() {
    let addr = app().await;
    let result = run_one(&http_check(&format!("http://{addr}/health"), "expect = 'tls.days_left > 14'")).await;
    assert_eq!(
        result.message.as_deref(),
        Some("cannot check tls.days_left > 14: tls.days_left was not observed: the URL is not https")
    );
}

#[tokio::test]
async fn tcp_measures_connect_and_reports_refusal() {
    let addr = app().await;
    let ok = run_one(&format!(
        "[[check]]\nname = \"port\"\nkind = \"tcp\"\naddress = \"{addr}\"\nexpect = 'latency < 1s'\n"
    ))
    .await;
    assert_eq!(ok.status, Status::Ok, "{:?}", ok.message);
    let closed = closed_port().await;
    let refused = run_one(&format!("[[check]]\nname = \"port\"\nkind = \"tcp\"\naddress = \"{closed}\"\n")).await;
    assert_eq!(refused.message.unwrap(), format!("connection refused to {closed}"));
}

fn tls_check(addr: SocketAddr, ca_file: &std::path::Path, extra: &str) -> String {
    format!(
        "[[check]]\nname = \"cert\"\nkind = \"tls\"\naddress = \"{addr}\"\nserver_name = \"localhost\"\nca_file = \"{}\"\n{extra}\n",
        ca_file.display()
    )
}

#[tokio::test]
async fn tls_reads_a_current_certificate_with_sni() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::pki(certs::days_from_now(-1, 0), certs::days_from_now(45, 1));
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let addr = certs::serve(&pki).await;
    let result = run_one(&tls_check(addr, &dir.path().join("ca.pem"), "expect = ['days_left > 14', 'verified']")).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert_eq!(obs(&result, "days_left"), 45.0);
    assert_eq!(obs(&result, "subject"), "CN=localhost");
    assert_eq!(obs(&result, "issuer"), "CN=Upkeep Test CA");
    assert_eq!(obs(&result, "protocol"), "TLSv1.3");
}

#[tokio::test]
async fn tls_names_an_expired_certificate_and_its_age() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::pki(certs::days_from_now(-90, 0), certs::days_from_now(-3, 1));
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let addr = certs::serve(&pki).await;
    let result = run_one(&tls_check(addr, &dir.path().join("ca.pem"), "")).await;
    assert_eq!(result.status, Status::Error);
    let message = result.message.unwrap();
    assert!(message.starts_with("certificate of localhost expired 3 days ago"), "{message}");

    // With verification off the same certificate is observed, and `expect` decides.
    let result =
        run_one(&tls_check(addr, &dir.path().join("ca.pem"), "verify = false\nexpect = 'days_left > 14'")).await;
    assert_eq!(result.message.as_deref(), Some("expected days_left > 14, got -3"));
}

#[tokio::test]
async fn tls_rejects_a_certificate_from_an_unknown_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let served = certs::pki(certs::days_from_now(-1, 0), certs::days_from_now(45, 1));
    let other = certs::pki(certs::days_from_now(-1, 0), certs::days_from_now(45, 1));
    std::fs::write(dir.path().join("other-ca.pem"), &other.ca_pem).unwrap();
    let addr = certs::serve(&served).await;
    let result = run_one(&tls_check(addr, &dir.path().join("other-ca.pem"), "")).await;
    assert_eq!(result.status, Status::Error);
    let message = result.message.unwrap();
    // Both test CAs share a name, so the chain finds the wrong anchor and its signature fails.
    assert_eq!(message, "certificate of localhost is not trusted: invalid peer certificate: BadSignature");
}

/// A DNS server on loopback that answers `app.test. A` with 10.1.2.3 and 10.1.2.4 and says
/// NXDOMAIN to everything else — the real wire protocol, via hickory-proto.
async fn dns_server() -> SocketAddr {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    use hickory_proto::rr::{Name, RData, Record, rdata::A};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_op_code(query.op_code())
                .set_recursion_desired(true)
                .set_recursion_available(true);
            for q in query.queries() {
                reply.add_query(q.clone());
                if q.name() == &Name::from_ascii("app.test.").unwrap() {
                    for last in [3, 4] {
                        reply.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A::new(10, 1, 2, last))));
                    }
                } else {
                    reply.set_response_code(ResponseCode::NXDomain);
                }
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    });
    addr
}

#[tokio::test]
async fn dns_resolves_records_through_a_named_server() {
    let server = dns_server().await;
    let toml = format!(
        "[[check]]\nname = \"dns\"\nkind = \"dns\"\nhost = \"app.test\"\nserver = \"{server}\"\nexpect = ['records contains \"10.1.2.3\"', 'count == 2']\n"
    );
    let result = run_one(&toml).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert_eq!(obs(&result, "records"), serde_json::json!(["10.1.2.3", "10.1.2.4"]));
}

#[tokio::test]
async fn dns_reports_a_name_that_does_not_exist() {
    let server = dns_server().await;
    let toml = format!("[[check]]\nname = \"dns\"\nkind = \"dns\"\nhost = \"missing.test\"\nserver = \"{server}\"\n");
    let result = run_one(&toml).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("no A records for missing.test"));
}
