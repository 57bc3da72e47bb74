//! The HTTP server: the accept loop with a connection cap, timeouts on every connection, and a
//! graceful stop. axum's own `serve` has neither timeouts nor a cap, so idle sockets, trickled
//! headers and bodies that never finish would pile up until the daemon runs out of file
//! descriptors and `/health` goes dark.
//!
//! - Headers must arrive within `idle_timeout` of the connection opening or of the previous
//!   response (so an idle keep-alive connection is closed after it too).
//! - A request with a body, on a route that reads one, is answered within `request_timeout`
//!   (408 otherwise; see `bounded`).
//! - At most `max_connections` are served at once. Beyond that a connection gets one request,
//!   read under a short deadline, and only `/up`, `/health` and `/ping` answer it: a full
//!   server still tells its load balancer and its cron jobs that it is alive.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// File descriptors kept back from the connection cap for probes, the store and logs.
const RESERVED_FDS: u64 = 256;
/// How long a connection over the cap has to send its one request.
const OVERFLOW_DEADLINE: Duration = Duration::from_secs(2);
/// Connections over the cap served at once; more are closed as they arrive.
const MAX_OVERFLOW: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_connections: 4096, idle_timeout: Duration::from_secs(30) }
    }
}

/// Raises the soft limit on open files to the hard limit (systemd's default soft limit is
/// 1,024) and returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
    if limit.current != limit.maximum && setrlimit(Resource::Nofile, wanted).is_ok() {
        return limit.maximum.unwrap_or(u64::MAX);
    }
    limit.current.unwrap_or(u64::MAX)
}

/// The connection cap that fits in `fd_limit`.
pub fn connection_cap(limits: &Limits, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(RESERVED_FDS + MAX_OVERFLOW as u64).max(16);
    limits.max_connections.min(usize::try_from(room).unwrap_or(usize::MAX)).max(1)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let cap = connection_cap(&limits, raise_fd_limit());
    let essential = app.clone().layer(axum::middleware::from_fn(essential_only));
    let permits = Arc::new(Semaphore::new(cap));
    let overflow = Arc::new(Semaphore::new(MAX_OVERFLOW));
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Responses go out whole: without TCP_NODELAY a body written after its headers can
        // wait for the client's delayed ACK (tens of milliseconds).
        let _ = tcp.set_nodelay(true);
        if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
            let (app, stop) = (app.clone(), stop.clone());
            connections.spawn(async move {
                connection(tcp, peer, app, limits.idle_timeout, stop).await;
                drop(permit);
            });
        } else if let Ok(permit) = Arc::clone(&overflow).try_acquire_owned() {
            let essential = essential.clone();
            connections.spawn(async move {
                over_the_cap(tcp, peer, essential).await;
                drop(permit);
            });
        }
        // else: dropped, closing it; the client may retry.
    }
    stop.cancel();
    connections.close();
    connections.wait().await;
}

/// Hands each request of a connection to `app`, with the peer's address for those who ask.
fn service(
    app: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    })
}

async fn connection(tcp: TcpStream, peer: SocketAddr, app: Router, idle: Duration, stop: CancellationToken) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(idle);
    let conn = builder.serve_connection(TokioIo::new(tcp), service(app, peer));
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => log_end(result),
        _ = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
    }
}

/// One request, under a short deadline, answered only for the routes that must keep working.
async fn over_the_cap(tcp: TcpStream, peer: SocketAddr, essential: Router) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(OVERFLOW_DEADLINE).keep_alive(false);
    let conn = builder.serve_connection(TokioIo::new(tcp), service(essential, peer));
    let _ = tokio::time::timeout(OVERFLOW_DEADLINE * 2, conn).await;
}

/// A request that carries a body must be answered, body read, within `limit` (408 otherwise).
/// Layered on the routes that read bodies (pings, sign-in); one without a body cannot trickle,
/// so it pays for no timer, and the hot reads (`/health`, `/up`, the API) pay for nothing.
pub(crate) async fn bounded(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.to_str().ok().and_then(|l| l.parse::<u64>().ok()) != Some(0));
    if !has_body {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "the request took too long\n").into_response(),
    }
}

async fn essential_only(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let path = request.uri().path();
    if path == "/up" || path == "/health" || path.starts_with("/ping/") {
        return next.run(request).await;
    }
    (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::RETRY_AFTER, "1")], "too many connections; retry\n")
        .into_response()
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result
        && !e.is_incomplete_message()
    {
        tracing::debug!("connection ended: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_everything_else() {
        let limits = Limits { max_connections: 4096, ..Limits::default() };
        assert_eq!(connection_cap(&limits, 1024), 1024 - 256 - 64);
        assert_eq!(connection_cap(&limits, 1 << 20), 4096);
        assert_eq!(connection_cap(&limits, 100), 16);
    }
}
