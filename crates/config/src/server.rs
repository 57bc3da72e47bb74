//! `[server]`: where the daemon listens, where its data lives, and how it serves.

use crate::diagnostic::Diagnostics;
use crate::sections::Sections;
use crate::table::TableReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub listen: SocketAddr,
    /// The embedded store and local backup repository live here; relative paths are taken
    /// from the config file's folder, so a systemd unit and a shell agree.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL for the scale-out store; `None` means SQLite in `data_dir`.
    pub store: Option<String>,
    /// How many probes may run at once.
    pub concurrency: usize,
    /// Whether `/metrics` needs an API token (`metrics = "token"`); public by default.
    pub metrics_need_token: bool,
    /// Query parameters masked wherever a URL is shown, beyond [`crate::SENSITIVE_PARAMS`].
    pub sensitive_params: Vec<String>,
    /// HTTP connections served at once (more get only `/up`, `/health` and `/ping`).
    pub max_connections: usize,
    /// How long a connection may stay open without sending a request's headers.
    pub idle_timeout: Duration,
    /// How long a whole request may take, body included.
    pub request_timeout: Duration,
    /// The dashboard's address as people reach it (`url`), for links in notifications;
    /// `None` links to `http://` + `listen`.
    pub url: Option<String>,
}

impl Server {
    /// The dashboard's base address, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// `[server]`, or the defaults when it is not written.
pub fn read_server(sections: &mut Sections, d: &mut Diagnostics) -> Server {
    let base_dir = sections.base_dir().to_path_buf();
    match sections.table(d, "server") {
        Some(table) => read(table, &base_dir, d),
        None => default_server(&base_dir),
    }
}

fn default_server(base_dir: &Path) -> Server {
    Server {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        data_dir: base_dir.join("upkeep-data"),
        store: None,
        concurrency: 256,
        metrics_need_token: false,
        sensitive_params: Vec::new(),
        max_connections: 4096,
        idle_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(30),
        url: None,
    }
}

fn read(mut t: TableReader, base_dir: &Path, d: &mut Diagnostics) -> Server {
    let mut server = default_server(base_dir);
    if let Some(listen) = t.string(d, "listen") {
        match SocketAddr::from_str(listen.get_ref()) {
            Ok(addr) => server.listen = addr,
            Err(_) => d.error(
                listen.span(),
                format!("`listen` is not an address and port: `{}`", listen.get_ref()),
                Some("for example: listen = \"127.0.0.1:8080\"".into()),
            ),
        }
    }
    if let Some(dir) = t.string(d, "data_dir") {
        server.data_dir = base_dir.join(dir.get_ref());
    }
    if let Some(store) = t.string(d, "store") {
        let span = store.span();
        let url = store.into_inner();
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            d.error(span, "`store` must be a postgres:// URL", Some("leave it out to use SQLite in data_dir".into()));
        }
        server.store = Some(url);
    }
    if let Some(url) = t.string(d, "url") {
        if url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://") {
            server.url = Some(url.into_inner());
        } else {
            d.error(
                url.span(),
                "`url` must be an http:// or https:// address",
                Some("the dashboard's address as people reach it: url = \"https://upkeep.example.com\"".into()),
            );
        }
    }
    if let Some(params) = t.strings(d, "sensitive_params") {
        server.sensitive_params = params.into_iter().map(Spanned::into_inner).collect();
    }
    if let Some(n) = t.integer(d, "max_connections", 1..1_000_001) {
        server.max_connections = n as usize;
    }
    if let Some(idle) = t.duration(d, "idle_timeout", Duration::from_secs(1)) {
        server.idle_timeout = idle.into_inner();
    }
    if let Some(request) = t.duration(d, "request_timeout", Duration::from_secs(1)) {
        server.request_timeout = request.into_inner();
    }
    if let Some(n) = t.integer(d, "concurrency", 1..100_001) {
        server.concurrency = n as usize;
    }
    if let Some(metrics) = t.string(d, "metrics") {
        match metrics.get_ref().as_str() {
            "public" => server.metrics_need_token = false,
            "token" => server.metrics_need_token = true,
            other => d.error(metrics.span(), format!("`metrics` is \"public\" or \"token\", not `{other}`"), None),
        }
    }
    t.finish(d);
    server
}
