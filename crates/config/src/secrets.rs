//! What counts as a secret in what Upkeep shows, and how it is masked: the password in a URL's
//! userinfo, sensitive query parameters (`?token=...`), values of keys named like secrets in a
//! config line, and anything that came from `${VAR}`. URLs are shown to viewers, written to
//! logs and stored with results; none of those may carry a credential.

use regex::Regex;
use std::sync::LazyLock;

/// Query parameters whose values are masked wherever a URL is shown; `[server]
/// sensitive_params` adds more.
pub const SENSITIVE_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "auth",
    "auth_token",
    "private_token",
    "api_key",
    "apikey",
    "key",
    "signature",
    "sig",
];

pub const MASK: &str = "***";

/// `scheme://user:password@` → `scheme://user:***@`.
static USERINFO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:'\x22]*):[^/@\s'\x22]*@").unwrap());
/// `name=value` in a query string.
static PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<head>[?&;](?P<name>[^=&#\s'\x22]+)=)[^&#\s'\x22]*").unwrap());
/// `password = "..."` (and secret, token, key...) in a config line.
static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?P<head>\b[\w.-]*(password|passwd|secret|token|api_?key|private_key)[\w.-]*\s*=\s*)("[^"]*"|'[^']*')"#,
    )
    .unwrap()
});

/// The URL (or any text holding URLs) with userinfo passwords and sensitive query parameters
/// masked. `extra` names more parameters than [`SENSITIVE_PARAMS`].
pub fn redact_url(text: &str, extra: &[String]) -> String {
    let text = USERINFO.replace_all(text, |c: &regex::Captures| format!("{}:{MASK}@", &c["head"]));
    PARAM
        .replace_all(&text, |c: &regex::Captures| {
            let name = c["name"].to_ascii_lowercase();
            if SENSITIVE_PARAMS.contains(&name.as_str()) || extra.iter().any(|e| e.eq_ignore_ascii_case(&name)) {
                format!("{}{MASK}", &c["head"])
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

/// A config line as it may be printed: URLs redacted, values of secret-named keys masked.
pub fn mask_line(line: &str) -> String {
    let line = redact_url(line, &[]);
    SECRET_KEY.replace_all(&line, |c: &regex::Captures| format!("{}\"{MASK}\"", &c["head"])).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_and_sensitive_parameters() {
        assert_eq!(
            redact_url("https://alice:s3cret@app.example.com/health?token=abc&page=2", &[]),
            "https://alice:***@app.example.com/health?token=***&page=2"
        );
        assert_eq!(redact_url("postgres://app:pw@db:5432/app", &[]), "postgres://app:***@db:5432/app");
        assert_eq!(
            redact_url("https://x.example/?Signature=1&code=7", &["code".into()]),
            "https://x.example/?Signature=***&code=***"
        );
        assert_eq!(redact_url("https://user@x.example/a?b=c", &[]), "https://user@x.example/a?b=c");
        assert_eq!(
            mask_line(r#"url = "https://u:p@h/x?api_key=k", password = "hunter2", db_password='x'"#),
            r#"url = "https://u:***@h/x?api_key=***", password = "***", db_password="***""#
        );
        assert_eq!(mask_line("name = \"api\""), "name = \"api\"");
    }
}
