//! `command`: any program, for everything without a kind of its own (`php artisan
//! queue:restart`, `composer audit`). Fails on a non-zero exit, keeping the output's tail.

use crate::task::{Failure, Kind, Outcome, Output, Run};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use upkeep_config::{Diagnostics, NodeValue, TableReader};

#[derive(Debug)]
pub struct Command {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

impl Kind for Command {
    const KIND: &'static str = "command";

    fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Self> {
        let argv = match t.node("command").map(|n| n.value.clone()) {
            Some(NodeValue::String(line)) => vec!["/bin/sh".to_string(), "-c".to_string(), line],
            Some(NodeValue::Array(_)) => t.strings(d, "command")?.into_iter().map(|s| s.into_inner()).collect(),
            _ => {
                d.error(
                    t.span(),
                    format!("{} has no `command`", t.context()),
                    Some("command = \"php artisan queue:restart\" (run by /bin/sh) or [\"php\", \"artisan\", \"queue:restart\"]".into()),
                );
                return None;
            }
        };
        if argv.is_empty() {
            d.error(t.span(), "`command` is an empty list", None);
            return None;
        }
        let env = t.string_map(d, "env").unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_inner())).collect();
        let cwd = t.string(d, "cwd").map(|c| base.join(c.get_ref()));
        Some(Command { argv, env, cwd })
    }

    fn target(&self) -> String {
        match self.argv.as_slice() {
            [sh, c, line] if sh == "/bin/sh" && c == "-c" => line.clone(),
            argv => argv.join(" "),
        }
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        if run.dry_run {
            return Ok(Outcome::new(format!("would run `{}`", self.target())));
        }
        let mut command = tokio::process::Command::new(&self.argv[0]);
        command.args(&self.argv[1..]).envs(self.env.iter().cloned()).stdin(Stdio::null());
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        // A timeout drops this future; the child must die with it.
        command.kill_on_drop(true);
        let done = command.output().await.map_err(|e| format!("cannot start `{}`: {e}", self.argv[0]))?;
        let mut output = Output::default();
        output.text(&String::from_utf8_lossy(&done.stdout));
        output.text(&String::from_utf8_lossy(&done.stderr));
        let code = done.status.code().unwrap_or(-1);
        if done.status.success() {
            Ok(Outcome::new(format!("`{}` exited 0", self.target())).change("exit_code", 0.0).output(output))
        } else {
            Err(Failure { message: format!("`{}` exited {code}", self.target()), output: output.into_string() })
        }
    }
}
