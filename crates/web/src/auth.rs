//! Access control. API clients present a bearer token (`Authorization: Bearer upk_...`), checked
//! by its SHA-256 against `[[token]]`; people sign in to the dashboard (see `login.rs`) and carry
//! a session cookie. With no users and no tokens configured, everything is open — config
//! validation only allows that on a loopback address.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use upkeep_access::{Access, Role, same, sha256_hex};

pub const SESSION_COOKIE: &str = "upkeep_session";

/// Who is making a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// No access control is configured.
    Open,
    User {
        name: String,
        role: Role,
        csrf: String,
        token_sha256: String,
    },
    Token {
        name: String,
        role: Role,
    },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Open => Role::Admin,
            Principal::User { role, .. } | Principal::Token { role, .. } => *role,
        }
    }
}

/// Who changes something: a principal of at least `role` (`refusal` otherwise), never anonymous
/// (with no users and tokens configured the API reads but changes nothing; `action` names what
/// was tried); a browser session also proves it sent its form token in `X-CSRF-Token`.
pub fn author(
    principal: &Principal,
    headers: &HeaderMap,
    role: Role,
    refusal: &str,
    action: &str,
) -> Result<String, (StatusCode, String)> {
    if principal.role() < role {
        return Err((StatusCode::FORBIDDEN, refusal.to_string()));
    }
    match principal {
        // Anything that changes state needs someone to answer for it, even on loopback.
        Principal::Open => {
            Err((StatusCode::FORBIDDEN, format!("{action} needs a [[user]] or a [[token]] (see `upkeep token new`)")))
        }
        Principal::Token { name, .. } => Ok(format!("token:{name}")),
        Principal::User { name, csrf, .. } => {
            let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
            if sent.is_some_and(|s| same(s, csrf)) {
                Ok(name.clone())
            } else {
                Err((StatusCode::FORBIDDEN, "send the session's form token in X-CSRF-Token".to_string()))
            }
        }
    }
}

/// What a check probes, as this caller may see it: a heartbeat's URL holds its id, which lets
/// anyone ping it, so only responders and admins see it.
pub fn target_for(check: &upkeep_probe::Check, principal: &Principal) -> String {
    match check.heartbeat_id() {
        Some(_) if principal.role() < Role::Responder => "/ping/… (shown to responders)".to_string(),
        _ => check.target(),
    }
}

/// The value of one cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of `Authorization: Bearer <token>`; the scheme's name is case-insensitive (RFC 7235).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What only its reader may see is not kept by browsers or proxies.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

fn token_principal(access: &Access, token: &str) -> Option<Principal> {
    let hash = sha256_hex(token);
    access
        .tokens
        .iter()
        .find(|t| same(&t.sha256, &hash))
        .map(|t| Principal::Token { name: t.name.clone(), role: t.role })
}

async fn session_principal(state: &AppState, access: &Access, headers: &HeaderMap) -> Option<Principal> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let token_sha256 = sha256_hex(token);
    let session = state.daemon.store().session(&token_sha256, state.daemon.clock().now()).await.ok()??;
    let user = access.users.iter().find(|u| u.name == session.user)?;
    Some(Principal::User { name: user.name.clone(), role: user.role, csrf: session.csrf, token_sha256 })
}

/// Identifies the caller by token or session; `None` when access control is on and neither is valid.
pub async fn identify(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let plan = state.daemon.plan();
    let access = &plan.access;
    if access.is_open() {
        return Some(Principal::Open);
    }
    if let Some(token) = bearer(headers) {
        return token_principal(access, token);
    }
    session_principal(state, access, headers).await
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"upkeep\"")],
        axum::Json(serde_json::json!({"error": message})),
    )
        .into_response()
}

/// API routes: a valid token (or a dashboard session) with at least the viewer role.
pub async fn api(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match identify(&state, request.headers()).await {
        Some(principal) if principal.role() >= Role::Viewer => {
            request.extensions_mut().insert(principal);
            private(next.run(request).await)
        }
        Some(_) => {
            (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({"error": "this token's role may not do that"})))
                .into_response()
        }
        None => unauthorized("send `Authorization: Bearer <token>`; make a token with `upkeep token new`"),
    }
}

/// `/metrics`: public unless `[server] metrics = "token"`.
pub async fn metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let plan = state.daemon.plan();
    let access = &plan.access;
    if !access.metrics_need_token || bearer(request.headers()).and_then(|t| token_principal(access, t)).is_some() {
        return next.run(request).await;
    }
    unauthorized("/metrics needs a token: set Prometheus' `authorization` to a token from `upkeep token new`")
}

/// Dashboard pages: a signed-in user, else off to the login page.
pub async fn dashboard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let plan = state.daemon.plan();
    let access = &plan.access;
    let principal = if access.is_open() {
        Some(Principal::Open)
    } else {
        session_principal(&state, access, request.headers()).await
    };
    match principal {
        Some(principal) => {
            request.extensions_mut().insert(principal);
            private(next.run(request).await)
        }
        None => {
            let next_path = request.uri().path();
            let target = if next_path.starts_with('/') && !next_path.starts_with("//") { next_path } else { "/" };
            Redirect::to(&format!("/login?next={}", crate::html::url_encode(target))).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies_and_compares_in_constant_time() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; upkeep_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        for (written, read) in [
            ("Bearer upk_1", Some("upk_1")),
            ("bearer upk_2", Some("upk_2")),
            ("BEARER  upk_3 ", Some("upk_3")),
            ("Basic dXNlcg==", None),
        ] {
            headers.insert(header::AUTHORIZATION, written.parse().unwrap());
            assert_eq!(bearer(&headers), read, "{written}");
        }
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
