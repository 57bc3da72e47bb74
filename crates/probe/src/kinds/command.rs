//! `command`: runs a program with a timeout and judges its exit code and output — the escape
//! hatch for anything without a probe of its own (`php artisan queue:size`, a custom script).

use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use std::process::Stdio;
use std::time::Instant;
use tokio::io::AsyncReadExt;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

/// Output beyond this is not kept; the program is not blocked by it either.
const MAX_OUTPUT: usize = 1 << 20;

#[derive(Debug)]
pub struct Command {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    parse_json: bool,
}

impl Kind for Command {
    const KIND: &'static str = "command";

    const DEFAULT_EXPECT: &'static [&'static str] = &["exit_code == 0"];

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("exit_code", Type::Number, "the exit status (-1 when killed by a signal)"),
            Field::new("stdout", Type::String, "standard output (up to 1 MiB)"),
            Field::new("stderr", Type::String, "standard error (up to 1 MiB)"),
            Field::new("latency", Type::Duration, "how long it ran"),
        ])
        .with_dynamic(Field::new("json", Type::Dynamic, "stdout parsed as JSON"))
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let node = t.node("command").cloned();
        let env: Vec<(String, String)> =
            t.string_map(d, "env").unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_inner())).collect();
        let cwd = t.string(d, "cwd").map(|c| c.into_inner());
        let argv = match node.map(|n| n.value) {
            Some(upkeep_config::NodeValue::String(line)) => {
                vec!["/bin/sh".to_string(), "-c".to_string(), line]
            }
            Some(upkeep_config::NodeValue::Array(_)) => {
                let list = t.strings(d, "command")?;
                list.into_iter().map(|s| s.into_inner()).collect()
            }
            _ => {
                d.error(t.span(), format!("{} has no `command`", t.context()), Some("command = \"php artisan queue:size\" (run by /bin/sh) or [\"php\", \"artisan\", \"queue:size\"]".into()));
                return None;
            }
        };
        if argv.is_empty() {
            d.error(t.span(), "`command` is an empty list", None);
            return None;
        }
        Some(Command { argv, env, cwd, parse_json: spec.reads("json") })
    }

    fn target(&self) -> String {
        match self.argv.as_slice() {
            [sh, c, line] if sh == "/bin/sh" && c == "-c" => line.clone(),
            argv => argv.join(" "),
        }
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let started = Instant::now();
        let mut command = tokio::process::Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The check's timeout drops this future; the child must die with it.
        command.kill_on_drop(true);
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .spawn()
            .map_err(|e| ProbeError::new(crate::error::describe_io(&e, &format!("command `{}`", self.argv[0]))))?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let (stdout, stderr, status) = tokio::join!(read_capped(&mut out), read_capped(&mut err), child.wait());
        let status = status.map_err(|e| ProbeError::new(format!("waiting for `{}` failed: {e}", self.target())))?;
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(started.elapsed()));
        obs.insert("exit_code", Value::Number(f64::from(status.code().unwrap_or(-1))));
        if self.parse_json {
            match serde_json::from_str::<serde_json::Value>(&stdout) {
                Ok(json) => obs.insert("json", Value::Json(json)),
                Err(e) => obs.mark_missing("json", format!("stdout is not JSON ({e})")),
            }
        }
        obs.insert("stdout", Value::String(stdout));
        obs.insert("stderr", Value::String(stderr));
        Ok(obs)
    }
}

/// Reads a pipe to the end, keeping the first MAX_OUTPUT bytes (draining the rest so the child
/// never blocks on a full pipe).
async fn read_capped(pipe: &mut Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let Some(pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        let room = MAX_OUTPUT.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}
