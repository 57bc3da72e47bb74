//! `${VAR}` in string values, so secrets live in the environment, not in the file.
//! `${VAR:-default}` gives a fallback; `$${` writes a literal `${`.

use std::collections::HashMap;

/// Where variables come from: the process environment, or a fixed map in tests.
#[derive(Clone, Debug, Default)]
pub enum Env {
    #[default]
    Process,
    Fixed(HashMap<String, String>),
}

impl Env {
    pub fn fixed<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        Env::Fixed(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn get(&self, name: &str) -> Option<String> {
        match self {
            Env::Process => std::env::var(name).ok(),
            Env::Fixed(map) => map.get(name).cloned(),
        }
    }
}

/// An interpolation problem: byte offset within the string and what to say.
#[derive(Debug, PartialEq)]
pub struct InterpolationError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// A string with its variables replaced, and which values came from which variable (so that
/// messages can show `${DB_PASSWORD}` instead of its value).
#[derive(Debug, PartialEq)]
pub struct Interpolated {
    pub text: String,
    pub substituted: Vec<(String, String)>,
}

/// Replaces every `${VAR}` in `text`. Returns the first problem, with its offset.
pub fn interpolate(text: &str, env: &Env) -> Result<Interpolated, InterpolationError> {
    if !text.contains('$') {
        return Ok(Interpolated { text: text.to_string(), substituted: Vec::new() });
    }
    let mut substituted = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            offset += at + 3;
            continue;
        }
        if !tail.starts_with("${") {
            out.push('$');
            rest = &tail[1..];
            offset += at + 1;
            continue;
        }
        let Some(close) = tail.find('}') else {
            return Err(InterpolationError {
                offset: offset + at,
                len: tail.len(),
                message: "`${` is never closed".into(),
                hint: Some("write `${NAME}`, or `$${` for a literal `${`".into()),
            });
        };
        let inner = &tail[2..close];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(InterpolationError {
                offset: offset + at,
                len: close + 1,
                message: format!("`{name}` is not a valid environment variable name"),
                hint: Some("names use letters, digits and `_`".into()),
            });
        }
        match env.get(name).or_else(|| default.map(str::to_string)) {
            Some(value) => {
                out.push_str(&value);
                substituted.push((name.to_string(), value));
            }
            None => {
                return Err(InterpolationError {
                    offset: offset + at,
                    len: close + 1,
                    message: format!("environment variable `{name}` is not set"),
                    hint: Some(format!("set {name}, or give a default: `${{{name}:-value}}`")),
                });
            }
        }
        rest = &tail[close + 1..];
        offset += at + close + 1;
    }
    out.push_str(rest);
    Ok(Interpolated { text: out, substituted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_variables_defaults_and_escapes() {
        let env = Env::fixed([("DB", "postgres://x")]);
        let url = interpolate("url=${DB}/app", &env).unwrap();
        assert_eq!(url.text, "url=postgres://x/app");
        assert_eq!(url.substituted, [("DB".to_string(), "postgres://x".to_string())]);
        assert_eq!(interpolate("${NOPE:-fallback}", &env).unwrap().text, "fallback");
        assert_eq!(interpolate("$${DB} costs $5", &env).unwrap().text, "${DB} costs $5");
    }

    #[test]
    fn names_the_missing_variable_and_where_it_is() {
        let err = interpolate("postgres://${PGHOST}/db", &Env::fixed([])).unwrap_err();
        assert_eq!(err.message, "environment variable `PGHOST` is not set");
        assert_eq!((err.offset, err.len), (11, 9));
    }
}
