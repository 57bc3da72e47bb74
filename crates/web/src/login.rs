//! Signing in to the dashboard: a form protected by a CSRF token, argon2 password checks on a
//! bounded pool off the async runtime (see `password.rs`), rate limiting that counts an attempt
//! before it is verified (see `rate_limit.rs`), and a session in the store behind an HttpOnly,
//! SameSite=Strict cookie.

use crate::AppState;
use crate::auth::{Principal, SESSION_COOKIE, cookie};
use crate::html::{escape, page};
use crate::rate_limit;
use axum::Extension;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;
use upkeep_access::{DECOY_HASH, random_hex, sha256_hex};
use upkeep_store::Session;

const CSRF_COOKIE: &str = "upkeep_csrf";
const SESSION_LENGTH: Duration = Duration::from_secs(12 * 3600);

fn secure(headers: &HeaderMap) -> &'static str {
    if headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes() == b"https") { "; Secure" } else { "" }
}

/// Only a path on this site: never an open redirect. Browsers drop tabs and newlines from
/// URLs (`/\t/evil.example` becomes `//evil.example`), so any control character refuses it, as
/// does a backslash (read as `/`) or a second leading slash.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap, Query(next): Query<Next>) -> Response {
    render(&state, &headers, next.next.as_deref(), None, StatusCode::OK)
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = random_hex();
    let no_users = state.daemon.plan().access.users.is_empty();
    let notice = match (error, no_users) {
        (Some(e), _) => format!("<p class=\"message\">{}</p>", escape(e)),
        (None, true) => "<p class=\"message\">No users are configured. Add a [[user]] to upkeep.toml (see <code>upkeep user hash-password</code>).</p>".into(),
        (None, false) => String::new(),
    };
    let body = format!(
        "<h1>Sign in</h1>{notice}<form class=\"login\" method=\"post\" action=\"/login\">\
         <label>User <input name=\"user\" autocomplete=\"username\" required autofocus></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
         <button type=\"submit\">Sign in</button></form>",
        escape(&safe_next(next))
    );
    let mut response =
        (status, [(header::CACHE_CONTROL, "no-store")], Html(page("Sign in", 0, "", &body))).into_response();
    let cookie = format!("{CSRF_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/{}", secure(headers));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct Credentials {
    user: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    if cookie(&headers, CSRF_COOKIE) != Some(form.csrf.as_str()) {
        return render(
            &state,
            &headers,
            form.next.as_deref(),
            Some("The form expired; please sign in again."),
            StatusCode::FORBIDDEN,
        );
    }
    let ip = connect.map_or_else(|| "unknown".to_string(), |Extension(ConnectInfo(addr))| addr.ip().to_string());
    let keys = rate_limit::keys(&ip, &form.user);
    let limiter = &state.limiter;
    if let Err(wait) = limiter.reserve(&keys, std::time::Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60);
        let message = format!("Too many sign-in attempts. Try again in {minutes} minute{}.", plural(minutes));
        return refused(&state, &headers, form.next.as_deref(), &message, wait);
    }
    let plan = state.daemon.plan();
    let access = &plan.access;
    let user = access.users.iter().find(|u| u.name == form.user).cloned();
    // Verify against a real hash even for unknown users, so timing does not reveal who exists.
    let hash = user.as_ref().map_or_else(|| DECOY_HASH.clone(), |u| u.password_hash.clone());
    let verified = match state.verifier.verify(hash, form.password).await {
        Ok(verified) => verified,
        Err(upkeep_access::Busy) => {
            limiter.release(&keys);
            let message = "Many people are signing in right now. Try again in a moment.";
            return refused(&state, &headers, form.next.as_deref(), message, std::time::Duration::from_secs(1));
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        return render(
            &state,
            &headers,
            form.next.as_deref(),
            Some("Wrong user name or password."),
            StatusCode::UNAUTHORIZED,
        );
    };
    limiter.succeed(&keys);
    let token = random_hex();
    let now = state.daemon.clock().now();
    let session = Session {
        user: user.name.clone(),
        csrf: random_hex(),
        expires: now + jiff::SignedDuration::try_from(SESSION_LENGTH).unwrap_or_default(),
    };
    if let Err(e) = state.daemon.store().create_session(&sha256_hex(&token), &session).await {
        tracing::error!("cannot store a session: {e}");
        return render(
            &state,
            &headers,
            form.next.as_deref(),
            Some("Signing in is not possible right now; try again."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    }
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_LENGTH.as_secs(),
        secure(&headers)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct SignOut {
    csrf: String,
}

pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<SignOut>) -> Response {
    if let Some(Principal::User { csrf, token_sha256, .. }) = crate::auth::identify(&state, &headers).await {
        if csrf != form.csrf {
            return (StatusCode::FORBIDDEN, "the sign-out form expired; reload the page\n").into_response();
        }
        let _ = state.daemon.store().delete_session(&token_sha256).await;
    }
    let mut response = Redirect::to("/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}", secure(&headers));
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The header's "signed in as" line with a sign-out form, for dashboard pages.
pub fn nav(principal: &Principal) -> String {
    match principal {
        Principal::User { name, csrf, .. } => format!(
            "<form class=\"signout\" method=\"post\" action=\"/logout\"><span>{}</span><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Sign out</button></form>",
            escape(name)
        ),
        _ => String::new(),
    }
}

/// 429 with `Retry-After`, the form shown again with `message`.
fn refused(state: &AppState, headers: &HeaderMap, next: Option<&str>, message: &str, wait: Duration) -> Response {
    let mut response = render(state, headers, next, Some(message), StatusCode::TOO_MANY_REQUESTS);
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    /// Issue 22, defect 6: `next=/%09/evil.example` reached the browser as `/\t/evil.example`,
    /// which it reads as `//evil.example`; control characters also made the redirect panic.
    #[test]
    fn next_is_only_ever_a_path_on_this_site() {
        assert_eq!(safe_next(Some("/checks/api?x=1")), "/checks/api?x=1");
        for hostile in [
            "/\t/evil.example",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\nb",
            "/a\rb",
            "/\u{7f}",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
