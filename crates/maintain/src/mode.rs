//! The app's own maintenance mode (`[maintenance_mode]`): a command pair (`php artisan down` /
//! `up`), a flag file, or a key in an `.env` file (`APP_READ_ONLY=true`, seed 001). Each
//! switch is then verified from outside: the app's URL answers 503 once it is on, and
//! something else once it is off.
//!
//! The `.env` style edits the one key in place and keeps every other line and comment as it
//! was, writing a new file and renaming it over the old one: seed 001 appends a new
//! `APP_READ_ONLY=true` line on every run (which copy wins depends on the parser) and flips it
//! back with `sed`, neither atomically.

use std::path::{Path, PathBuf};
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Spanned};

/// How long the app gets to show a switch (a `down` that is cached, a worker that reloads).
const DEFAULT_SETTLE: Duration = Duration::from_secs(10);
const VERIFY_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Mode {
    pub style: Style,
    /// Where `[maintenance_mode]` is written, for errors found later.
    pub span: std::ops::Range<usize>,
    /// Asked after a switch: 503 once on (`on_status`), anything under 500 once off.
    pub check_url: Option<String>,
    pub on_status: u16,
    /// How long a switch may take to show at `check_url`.
    pub settle: Duration,
    /// Checks that must pass before `off` (none named: every critical check).
    pub gate: Vec<String>,
}

#[derive(Debug)]
pub enum Style {
    Command { on: String, off: String, status: Option<String>, flag: Option<PathBuf> },
    File { path: PathBuf },
    Env { file: PathBuf, key: String, on_value: String, off_value: String, reload: Option<String> },
}

/// What the mode is now, as read back from the app.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModeState {
    /// `None` when the style cannot tell (a command pair with neither `status` nor `flag`).
    pub on: Option<bool>,
    /// How it was read: "flag file /var/www/app/storage/framework/down exists".
    pub detail: String,
}

pub fn read_mode(sections: &mut Sections, d: &mut Diagnostics) -> Option<Mode> {
    let mut t = sections.table(d, "maintenance_mode")?;
    let t_span = t.span();
    let base = sections.base_dir().to_path_buf();
    let kind = t.required_string(d, "kind", "\"command\"");
    let style = kind.and_then(|k| match k.get_ref().as_str() {
        "command" => {
            let on = t.required_string(d, "on", "\"php artisan down --retry=60\"");
            let off = t.required_string(d, "off", "\"php artisan up\"");
            let status = t.string(d, "status").map(Spanned::into_inner);
            let flag = t.string(d, "flag").map(|f| base.join(f.get_ref()));
            Some(Style::Command { on: on?.into_inner(), off: off?.into_inner(), status, flag })
        }
        "file" => Some(Style::File {
            path: base.join(t.required_string(d, "path", "\"/var/www/app/storage/framework/down\"")?.get_ref()),
        }),
        "env" => {
            let file = t.string(d, "file").map_or_else(|| base.join(".env"), |f| base.join(f.get_ref()));
            let key = t.string(d, "key").map_or_else(|| "APP_READ_ONLY".to_string(), Spanned::into_inner);
            let on_value = t.string(d, "on_value").map_or_else(|| "true".to_string(), Spanned::into_inner);
            let off_value = t.string(d, "off_value").map_or_else(|| "false".to_string(), Spanned::into_inner);
            let reload = t.string(d, "reload").map(Spanned::into_inner);
            Some(Style::Env { file, key, on_value, off_value, reload })
        }
        other => {
            d.error(k.span(), format!("unknown maintenance mode kind `{other}`"), Some("command, file or env".into()));
            None
        }
    });
    let check_url = t.string(d, "check_url").map(Spanned::into_inner);
    let on_status = t.integer(d, "on_status", 100..600).unwrap_or(503) as u16;
    let settle = t.duration(d, "settle", Duration::ZERO).map_or(DEFAULT_SETTLE, Spanned::into_inner);
    let gate = t.strings(d, "gate").unwrap_or_default().into_iter().map(Spanned::into_inner).collect();
    t.finish(d);
    Some(Mode { style: style?, span: t_span, check_url, on_status, settle, gate })
}

impl Mode {
    /// Switches the app's mode; `reason` goes into the flag file, or to the command as
    /// `UPKEEP_REASON`. Verification is separate ([`Mode::verify`]).
    pub async fn switch(&self, on: bool, reason: &str) -> Result<String, String> {
        match &self.style {
            Style::Command { on: up, off: down, .. } => {
                let command = if on { up } else { down };
                run(command, reason).await.map(|out| format!("ran `{command}`{}", tail(&out)))
            }
            Style::File { path } => {
                if on {
                    let text = if reason.is_empty() { String::new() } else { format!("{reason}\n") };
                    write_atomically(path, &text).map(|_| format!("created {}", path.display()))
                } else {
                    match std::fs::remove_file(path) {
                        Ok(()) => Ok(format!("removed {}", path.display())),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            Ok(format!("{} was already absent", path.display()))
                        }
                        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
                    }
                }
            }
            Style::Env { file, key, on_value, off_value, reload } => {
                let value = if on { on_value } else { off_value };
                let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                write_atomically(file, &set_env(&text, key, value))?;
                let mut done = format!("set {key}={value} in {}", file.display());
                if let Some(reload) = reload {
                    run(reload, reason).await?;
                    done.push_str(&format!(", then ran `{reload}`"));
                }
                Ok(done)
            }
        }
    }

    /// What the app's mode is, read from where the style keeps it.
    pub async fn state(&self) -> ModeState {
        match &self.style {
            Style::Command { status: Some(status), .. } => match run(status, "").await {
                Ok(_) => ModeState { on: Some(true), detail: format!("`{status}` exited 0") },
                Err(e) => ModeState { on: Some(false), detail: e },
            },
            Style::Command { flag: Some(path), .. } | Style::File { path } => {
                let on = path.exists();
                let reason = std::fs::read_to_string(path)
                    .ok()
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty() && r.len() < 500);
                let detail = match (on, reason) {
                    (true, Some(reason)) => format!("{} exists: {reason}", path.display()),
                    (true, None) => format!("{} exists", path.display()),
                    (false, _) => format!("{} does not exist", path.display()),
                };
                ModeState { on: Some(on), detail }
            }
            Style::Command { .. } => {
                ModeState { on: None, detail: "a command pair with no `status` or `flag` cannot be read back".into() }
            }
            Style::Env { file, key, on_value, .. } => match std::fs::read_to_string(file) {
                Ok(text) => {
                    let value = get_env(&text, key);
                    ModeState {
                        on: Some(value.as_deref() == Some(on_value.as_str())),
                        detail: format!("{key}={} in {}", value.as_deref().unwrap_or("(unset)"), file.display()),
                    }
                }
                Err(e) => ModeState { on: None, detail: format!("cannot read {}: {e}", file.display()) },
            },
        }
    }

    /// Waits up to `settle` for `check_url` to show the switch; `Ok` with what it answered.
    pub async fn verify(&self, on: bool) -> Result<String, String> {
        let Some(url) = &self.check_url else { return Ok("no check_url to verify against".into()) };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + self.settle;
        loop {
            let answer = client.get(url).send().await.map(|r| r.status().as_u16());
            let shows = match answer {
                Ok(status) if on => status == self.on_status,
                Ok(status) => status < 500,
                Err(_) => false,
            };
            let seen = match &answer {
                Ok(status) => format!("{url} answered {status}"),
                Err(e) => format!("{url}: {e}"),
            };
            if shows {
                return Ok(seen);
            }
            if tokio::time::Instant::now() >= deadline {
                let want = if on { format!("{}", self.on_status) } else { "a status under 500".into() };
                return Err(format!(
                    "{seen}, not {want}, {} after switching",
                    upkeep_expr::Value::duration(self.settle)
                ));
            }
            tokio::time::sleep(VERIFY_EVERY).await;
        }
    }
}

async fn run(command: &str, reason: &str) -> Result<String, String> {
    let out = tokio::process::Command::new("/bin/sh")
        .args(["-c", command])
        .env("UPKEEP_REASON", reason)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("`{command}` exited {}{}", out.status.code().unwrap_or(-1), tail(&text)))
    }
}

fn tail(text: &str) -> String {
    let last = text.trim().lines().last().unwrap_or("").trim();
    if last.is_empty() { String::new() } else { format!(": {}", last.chars().take(200).collect::<String>()) }
}

/// The `.env` text with `key` set to `value`: the first line that sets it is rewritten (keeping
/// an `export ` prefix), later duplicates are dropped (they would win in some parsers), and a
/// missing key is appended. Every other line, comment and blank line is kept.
pub fn set_env(text: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len() + key.len() + value.len() + 2);
    let mut set = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(prefix) = sets(body, key) {
            if !set {
                out.push_str(&format!("{prefix}{key}={value}"));
                out.push_str(&line[body.len()..]);
                set = true;
            }
            continue;
        }
        out.push_str(line);
    }
    if !set {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{key}={value}\n"));
    }
    out
}

/// The value the last line setting `key` gives it, quotes removed.
pub fn get_env(text: &str, key: &str) -> Option<String> {
    text.lines().rfind(|l| sets(l, key).is_some()).and_then(|line| {
        let value = line.split_once('=')?.1.trim();
        let value = value.split(" #").next().unwrap_or(value).trim();
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// `Some(prefix)` when the line sets `key` (`KEY=`, `KEY =`, `export KEY=`).
fn sets<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let (prefix, rest) = match trimmed.strip_prefix("export ") {
        Some(rest) => (&line[..indent.len() + "export ".len()], rest.trim_start()),
        None => (indent, trimmed),
    };
    let after = rest.strip_prefix(key)?;
    after.trim_start().starts_with('=').then_some(prefix)
}

/// Writes `text` to a temporary file beside `path`, keeping `path`'s permissions, and renames
/// it over `path`: a reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.upkeep-{}", std::process::id()));
    let mut file = std::fs::File::create(&temp).map_err(|e| format!("cannot write {}: {e}", temp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", temp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temp, meta.permissions());
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot replace {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(style: Style) -> Mode {
        Mode { style, span: 0..1, check_url: None, on_status: 503, settle: Duration::ZERO, gate: Vec::new() }
    }

    #[tokio::test]
    async fn a_flag_file_holds_the_reason_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maintenance.flag");
        let mode = mode(Style::File { path: path.clone() });
        assert_eq!(mode.state().await.on, Some(false));
        mode.switch(true, "restoring last night's backup").await.unwrap();
        let state = mode.state().await;
        assert_eq!(state.on, Some(true));
        assert!(state.detail.ends_with("exists: restoring last night's backup"), "{}", state.detail);
        assert_eq!(mode.switch(false, "").await.unwrap(), format!("removed {}", path.display()));
        assert_eq!(mode.state().await.on, Some(false));
        assert!(mode.switch(false, "").await.unwrap().ends_with("was already absent"));
    }

    #[tokio::test]
    async fn an_env_key_switches_in_place_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "APP_NAME=Laas\n# writes blocked while true\nAPP_READ_ONLY=false\n").unwrap();
        let style = Style::Env {
            file: file.clone(),
            key: "APP_READ_ONLY".into(),
            on_value: "true".into(),
            off_value: "false".into(),
            reload: None,
        };
        let mode = mode(style);
        mode.switch(true, "").await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "APP_NAME=Laas\n# writes blocked while true\nAPP_READ_ONLY=true\n"
        );
        assert_eq!(mode.state().await.on, Some(true));
        mode.switch(false, "").await.unwrap();
        assert_eq!(mode.state().await.on, Some(false));
    }

    #[test]
    fn env_edits_keep_every_other_line_and_drop_duplicates() {
        // 001-61: the manual's `echo >>` leaves two copies; both are replaced by one.
        let text = "# app\nAPP_NAME=Laas\nAPP_READ_ONLY=false\n\n# db\nDB_HOST=127.0.0.1\nAPP_READ_ONLY=true\n";
        let on = set_env(text, "APP_READ_ONLY", "true");
        assert_eq!(on, "# app\nAPP_NAME=Laas\nAPP_READ_ONLY=true\n\n# db\nDB_HOST=127.0.0.1\n");
        assert_eq!(get_env(&on, "APP_READ_ONLY").as_deref(), Some("true"));
        let off = set_env(&on, "APP_READ_ONLY", "false");
        assert_eq!(off, "# app\nAPP_NAME=Laas\nAPP_READ_ONLY=false\n\n# db\nDB_HOST=127.0.0.1\n");
    }

    #[test]
    fn env_edits_append_a_missing_key_and_keep_export_and_crlf() {
        assert_eq!(set_env("A=1", "APP_READ_ONLY", "true"), "A=1\nAPP_READ_ONLY=true\n");
        assert_eq!(
            set_env("export APP_READ_ONLY=\"false\"\r\nB=2\r\n", "APP_READ_ONLY", "true"),
            "export APP_READ_ONLY=true\r\nB=2\r\n"
        );
        // A key that only starts like ours is another key.
        assert_eq!(
            set_env("APP_READ_ONLY_BANNER=x\n", "APP_READ_ONLY", "true"),
            "APP_READ_ONLY_BANNER=x\nAPP_READ_ONLY=true\n"
        );
        assert_eq!(get_env("APP_READ_ONLY = \"true\" # on\n", "APP_READ_ONLY").as_deref(), Some("true"));
    }
}
