//! A task: a kind of maintenance work on a cron schedule, bounded by a timeout, optionally only
//! inside a maintenance window. Each kind reads its own keys and does its own work (one file
//! each in `kinds/`, registered in `kinds!` below); what they share — the common keys, the run
//! lock, the outcome and its output tail — is here.

mod kinds;
mod lock;
mod output;

pub use kinds::KINDS;
pub use lock::{Busy, RunLock};
pub use output::Output;

use jiff::Timestamp;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Spanned, TableReader};
use upkeep_schedule::Cadence;

/// Most maintenance finishes in minutes; an hour bounds a stuck one without cutting a VACUUM of
/// a large table short. `timeout` raises it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// A configured task.
#[derive(Debug)]
pub struct Task {
    pub name: String,
    /// Where its name is written, for errors found later (a name a check already has).
    pub name_span: std::ops::Range<usize>,
    pub kind: &'static str,
    /// The cron expression as written, and what it means in the task's zone.
    pub schedule: String,
    pub cadence: Cadence,
    pub timeout: Duration,
    /// The `[[maintenance]]` window the task may only run inside, by name.
    pub window: Option<Spanned<String>>,
    pub component: Option<String>,
    work: kinds::Work,
}

/// What a run may know.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Report what would change; change nothing.
    pub dry_run: bool,
    /// The time the run counts from (ages are measured from it: the controllable clock).
    pub now: Timestamp,
}

/// What one run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Outcome {
    /// One line for tables and notifications: "deleted 1,204 rows in 3 batches".
    pub summary: String,
    /// What changed, by name (`rows_deleted`, `bytes_reclaimed`): observations of the run.
    pub changes: BTreeMap<String, f64>,
    /// The tail of what the work printed or found, for the run's history.
    pub output: String,
}

impl Outcome {
    pub fn new(summary: impl Into<String>) -> Outcome {
        Outcome { summary: summary.into(), ..Outcome::default() }
    }

    pub fn change(mut self, what: &str, value: f64) -> Outcome {
        self.changes.insert(what.to_string(), value);
        self
    }

    pub fn output(mut self, output: Output) -> Outcome {
        self.output = output.into_string();
        self
    }
}

/// A failed run: what went wrong, and what was printed or done before it did.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub output: String,
}

impl<T: Into<String>> From<T> for Failure {
    fn from(message: T) -> Failure {
        Failure { message: message.into(), output: String::new() }
    }
}

/// What a task kind is: how it reads its keys and what one run does. A new kind is a type
/// implementing this, in one file of `kinds/`, plus one line in `kinds!`.
pub trait Kind: Sized + Send + Sync + std::fmt::Debug + 'static {
    /// Its name in config (`kind = "retention"`).
    const KIND: &'static str;

    /// Reads its own keys (paths relative to the config file's folder), reporting every problem.
    fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Self>;

    /// What it works on, for tables and messages; with no secrets.
    fn target(&self) -> String;

    /// One run. Errors say what failed and what to do.
    fn run(&self, run: Run) -> impl Future<Output = Result<Outcome, Failure>> + Send;
}

impl Task {
    /// What it works on, for tables and messages.
    pub fn target(&self) -> String {
        self.work.target()
    }

    /// One run, bounded by the task's timeout. The caller holds the run lock.
    pub async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        match tokio::time::timeout(self.timeout, self.work.run(run)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "{} did not finish within {} (timeout); raise `timeout` or split the work",
                self.name,
                upkeep_expr::Value::duration(self.timeout)
            )
            .into()),
        }
    }

    /// The window's name, or "" when it has none.
    pub fn window_name(&self) -> &str {
        self.window.as_ref().map_or("", |w| w.get_ref())
    }

    /// The next time the schedule names after `now`.
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        self.cadence.next_after(now)
    }
}

/// Every `[[task]]`; schedules are read in `zone` unless a task names its own.
pub fn read_tasks(sections: &mut Sections, d: &mut Diagnostics, zone: &jiff::tz::TimeZone) -> Vec<Task> {
    let base = sections.base_dir().to_path_buf();
    let mut tasks: Vec<Task> = Vec::new();
    for table in sections.tables(d, "task") {
        let mut t = TableReader::new(table, "a task");
        let Some(task) = read_task(&mut t, d, zone, &base) else { continue };
        if tasks.iter().any(|other| other.name == task.name) {
            d.error(
                t.span(),
                format!("two tasks are named `{}`", task.name),
                Some("give each task its own name".into()),
            );
        }
        t.finish(d);
        tasks.push(task);
    }
    tasks
}

fn read_task(t: &mut TableReader, d: &mut Diagnostics, zone: &jiff::tz::TimeZone, base: &Path) -> Option<Task> {
    let name = t.required_string(d, "name", "\"sqlite-weekly\"");
    if let Some(name) = &name {
        t.set_context(format!("task \"{}\"", name.get_ref()));
        if !valid_name(name.get_ref()) {
            d.error(
                name.span(),
                format!("task name `{}` cannot be used in URLs and expressions", name.get_ref()),
                Some("start with a letter; use letters, digits, `-` and `_`".into()),
            );
        }
    }
    let kind = t.required_string(d, "kind", "\"sqlite-maintenance\"");
    let zone = t.zone(d, "zone").unwrap_or_else(|| zone.clone());
    let schedule = t.required_string(d, "schedule", "\"0 3 * * 0\"");
    let cadence = schedule.as_ref().and_then(|s| match upkeep_config::parse_cron(s.get_ref(), Timestamp::now()) {
        Ok(_) => Cadence::cron(s.get_ref(), zone.clone()).ok(),
        Err(e) => {
            d.error(
                s.span(),
                format!("`schedule`: {e}"),
                Some("five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * 0\"".into()),
            );
            None
        }
    });
    let timeout = t.duration(d, "timeout", Duration::from_secs(1)).map_or(DEFAULT_TIMEOUT, Spanned::into_inner);
    let window = t.string(d, "window");
    let component = t.string(d, "component").map(Spanned::into_inner);
    let kind_name = kind.as_ref().and_then(|k| {
        let found = kinds::canonical(k.get_ref());
        if found.is_none() {
            let hint = upkeep_expr::closest_name(k.get_ref(), KINDS.iter().map(|k| k.to_string()))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("kinds: {}", KINDS.join(", ")));
            d.error(k.span(), format!("unknown task kind `{}`", k.get_ref()), Some(hint));
        }
        found
    });
    let work = kinds::Work::build(kind_name?, t, d, base)?;
    let name = name?;
    Some(Task {
        name_span: name.span(),
        name: name.into_inner(),
        kind: kind_name?,
        schedule: schedule?.into_inner(),
        cadence: cadence?,
        timeout,
        window,
        component,
        work,
    })
}

/// Names appear in URLs, metric labels and expressions, as check names do.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= upkeep_config::MAX_NAME
}

/// A SQL identifier from config (`audit_logs`, `public.audit_logs`): refused unless plain, so
/// it can be quoted and put into a statement safely.
pub(crate) fn identifier(t: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Option<String> {
    let value = t.string(d, key)?;
    if !plain(value.get_ref()) {
        d.error(
            value.span(),
            format!("`{key}` = `{}` is not a plain table or column name", value.get_ref()),
            Some("letters, digits and `_`, optionally `schema.table`".into()),
        );
        return None;
    }
    Some(value.into_inner())
}

/// Identifiers as a list (`tables = ["users", "cases"]`).
pub(crate) fn identifiers(t: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Vec<String> {
    let Some(values) = t.strings(d, key) else { return Vec::new() };
    values
        .into_iter()
        .filter_map(|v| {
            let ok = plain(v.get_ref());
            if !ok {
                d.error(v.span(), format!("`{}` is not a plain table or index name", v.get_ref()), None);
            }
            ok.then(|| v.into_inner())
        })
        .collect()
}

/// `name` or `schema.name`, each part a letter or `_` then letters, digits and `_`.
fn plain(name: &str) -> bool {
    name.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Quotes a checked identifier for PostgreSQL and SQLite (`"a"."b"`) or MySQL (`` `a`.`b` ``).
pub(crate) fn quote(name: &str, mark: char) -> String {
    name.split('.').map(|part| format!("{mark}{part}{mark}")).collect::<Vec<_>>().join(".")
}

/// A path from config, relative to the config file's folder.
pub(crate) fn path(
    t: &mut TableReader,
    d: &mut Diagnostics,
    key: &'static str,
    base: &Path,
    example: &str,
) -> Option<std::path::PathBuf> {
    let value = t.required_string(d, key, example)?;
    Some(base.join(value.get_ref()))
}

/// The steps a database kind runs, from `steps` (checked against what the kind can do), or its
/// defaults.
pub(crate) fn steps(
    t: &mut TableReader,
    d: &mut Diagnostics,
    known: &'static [&'static str],
    default: &'static [&'static str],
) -> Vec<&'static str> {
    let Some(values) = t.strings(d, "steps") else { return default.to_vec() };
    values
        .iter()
        .filter_map(|v| {
            let found = known.iter().copied().find(|k| *k == v.get_ref());
            if found.is_none() {
                d.error(
                    v.span(),
                    format!("unknown step `{}`", v.get_ref()),
                    Some(format!("steps: {}", known.join(", "))),
                );
            }
            found
        })
        .collect()
}

/// Bytes in words: "1.5 MiB".
pub(crate) fn bytes(n: f64) -> String {
    upkeep_expr::Value::Size(n.max(0.0)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(schedule: &str, zone: &str) -> Task {
        let text = format!(
            "[[task]]\nname = \"t\"\nkind = \"command\"\ncommand = \"true\"\nschedule = \"{schedule}\"\nzone = \"{zone}\"\n"
        );
        let (sections, mut d) =
            upkeep_config::parse(upkeep_config::Source::new("upkeep.toml", text), &Default::default());
        let mut sections = sections.unwrap();
        let mut tasks = read_tasks(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
        sections.finish(&mut d);
        assert!(d.is_empty(), "{d}");
        tasks.pop().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The next `n` run times after `from`, as UTC text.
    fn next(task: &Task, from: &str, n: usize) -> Vec<String> {
        let mut times = Vec::new();
        let mut now = at(from);
        for _ in 0..n {
            now = task.next_after(now).unwrap();
            times.push(now.to_string());
        }
        times
    }

    #[test]
    fn the_first_sunday_of_each_month_in_the_tasks_zone() {
        // 003-54: first Sunday, 02:00, in New York.
        let task = task("0 2 * * SUN#1", "America/New_York");
        assert_eq!(
            next(&task, "2026-12-01T00:00:00Z", 3),
            ["2026-12-06T07:00:00Z", "2027-01-03T07:00:00Z", "2027-02-07T07:00:00Z"]
        );
        let weekly = task_weekday();
        assert_eq!(next(&weekly, "2026-12-02T12:00:00Z", 2), ["2026-12-06T03:00:00Z", "2026-12-13T03:00:00Z"]);
    }

    fn task_weekday() -> Task {
        task("0 3 * * 0", "UTC")
    }

    #[test]
    fn a_daylight_saving_change_runs_a_daily_task_once() {
        // Berlin springs forward on 2027-03-28 (02:00 → 03:00): 02:30 does not exist that day.
        let task = task("30 2 * * *", "Europe/Berlin");
        // It runs at 03:00, the first time that exists.
        let spring = next(&task, "2027-03-26T12:00:00Z", 3);
        assert_eq!(spring, ["2027-03-27T01:30:00Z", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00Z"]);
        // And falls back on 2027-10-31 (03:00 → 02:00): 02:30 happens twice, the task runs once.
        let autumn = next(&task, "2027-10-29T12:00:00Z", 3);
        assert_eq!(autumn, ["2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"]);
    }
}
