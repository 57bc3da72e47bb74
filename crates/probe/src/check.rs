//! A check: one configured probe plus its `expect` conditions, what running it means, and the
//! job that runs it on the scheduler.

use crate::context::Context;
use crate::kind::{Custom, Run, Spec};
use crate::kinds::{self, Probe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upkeep_config::{CheckSection, Diagnostics};
use upkeep_expr::{Observations, Program, Value};
use upkeep_result::{CheckResult, Status};
use upkeep_schedule::{Cadence, Job, JobFuture};

#[derive(Debug)]
pub struct Check {
    pub name: String,
    pub kind: &'static str,
    pub every: Duration,
    pub schedule: Option<String>,
    /// When the scheduler runs it: the configured `every` or `schedule`, as its kind sees it.
    pub cadence: Cadence,
    pub timeout: Duration,
    pub component: Option<String>,
    pub depends_on: Vec<String>,
    pub critical: bool,
    /// Consecutive failures before its own down alert fires (0: none), and passing runs before
    /// that alert resolves.
    pub alert_after: u32,
    pub recover_after: u32,
    pub expect: Vec<Program>,
    /// Work one node does for all (a maintenance task), not a probe every node may share.
    pub singleton: bool,
    probe: Probe,
}

/// A check whose work is [`Custom`] (a maintenance task): what the check needs of it.
pub struct CustomCheck {
    pub name: String,
    pub kind: &'static str,
    pub schedule: String,
    pub cadence: Cadence,
    pub timeout: Duration,
    pub component: Option<String>,
    pub work: Arc<dyn Custom>,
}

impl Check {
    /// Builds a check from its config section, reporting every problem into `d`.
    pub fn build(section: CheckSection, server: &upkeep_config::Server, d: &mut Diagnostics) -> Option<Check> {
        let CheckSection {
            name,
            kind,
            every,
            schedule,
            zone,
            timeout,
            expect,
            component,
            depends_on,
            critical,
            alert_after,
            recover_after,
            mut settings,
        } = section;
        let Some(kind_name) = kinds::canonical(kind.get_ref()) else {
            let hint = upkeep_expr::closest_name(kind.get_ref(), kinds::KINDS.iter().map(|k| k.to_string()))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("kinds: {}", kinds::KINDS.join(", ")));
            d.error(kind.span(), format!("unknown check kind `{}`", kind.get_ref()), Some(hint));
            return None;
        };
        let configured = match &schedule {
            // A schedule was validated as it was read; one that does not parse was reported.
            Some(cron) => Cadence::cron(cron.get_ref(), zone).ok()?,
            None => Cadence::Every(every),
        };
        let schema = kinds::schema(kind_name).unwrap_or_default();
        let programs = compile_expect(&expect, kind_name, &schema, d);
        let mut reads: Vec<String> = programs.iter().flat_map(|p| p.fields().iter().map(|f| f.root.clone())).collect();
        reads.dedup();
        let spec = Spec {
            name: name.get_ref(),
            timeout,
            every,
            schedule: schedule.as_ref().map(|s| s.get_ref().as_str()),
            cadence: &configured,
            reads,
            sensitive_params: &server.sensitive_params,
        };
        let probe = Probe::build(kind_name, &mut settings, d, &spec);
        settings.finish(d);
        let probe = probe?;
        Some(Check {
            name: name.into_inner(),
            kind: kind_name,
            every,
            schedule: schedule.map(|s| s.into_inner()),
            cadence: probe.cadence(configured),
            timeout,
            component,
            depends_on: depends_on.into_iter().map(|s| s.into_inner()).collect(),
            critical,
            alert_after,
            recover_after,
            expect: programs,
            singleton: false,
            probe,
        })
    }

    /// A check of custom work: it fails when the work fails, its own alert fires at the first
    /// failure (a failed task is not a network blip), and one node runs it.
    pub fn custom(spec: CustomCheck) -> Check {
        Check {
            name: spec.name,
            kind: spec.kind,
            every: Duration::from_secs(86_400),
            schedule: Some(spec.schedule),
            cadence: spec.cadence,
            timeout: spec.timeout,
            component: spec.component,
            depends_on: Vec::new(),
            critical: false,
            alert_after: 1,
            recover_after: 1,
            expect: Vec::new(),
            singleton: true,
            probe: Probe::Custom(spec.work),
        }
    }

    /// Whether it probes the app, as opposed to doing work on a schedule (a maintenance task, a
    /// backup): only probes count towards `/health` and run in `upkeep check`.
    pub fn is_probe(&self) -> bool {
        !matches!(self.probe, Probe::Custom(_))
    }

    /// The fields its runs observe.
    pub fn schema(&self) -> upkeep_expr::Schema {
        match &self.probe {
            Probe::Custom(work) => work.schema(),
            _ => kinds::schema(self.kind).unwrap_or_default(),
        }
    }

    /// The id its pings arrive under at `/ping/{id}`, when this is a heartbeat check.
    pub fn heartbeat_id(&self) -> Option<&str> {
        self.probe.heartbeat_id()
    }

    /// Whether it keeps state between runs (a log position, pings), kept in the store.
    pub fn keeps_state(&self) -> bool {
        self.probe.keeps_state()
    }

    /// What the check probes (a URL, an address, a path), for tables and messages.
    pub fn target(&self) -> String {
        self.probe.target()
    }

    /// Runs the probe once, bounded by the check's timeout, and judges the result.
    pub async fn run(&self, ctx: &Context) -> CheckResult {
        let at = ctx.clock.now();
        let started = Instant::now();
        let run = Run { check: &self.name, timeout: self.timeout, ctx };
        let outcome = tokio::time::timeout(self.timeout, self.probe.observe(&run)).await;
        let elapsed = started.elapsed();
        let (status, message, observations) = match outcome {
            Err(_) => (
                Status::Error,
                Some(format!("no answer from {} within {} (timeout)", self.target(), Value::duration(self.timeout))),
                Observations::new(),
            ),
            Ok(Err(e)) => (Status::Error, Some(e.message), Observations::new()),
            Ok(Ok(obs)) => match self.judge(&obs) {
                None => (Status::Ok, None, obs),
                Some(message) => (Status::Error, Some(message), obs),
            },
        };
        let latency = match observations.get("latency") {
            Some(Value::Duration(secs)) => Duration::from_secs_f64(*secs),
            _ => elapsed,
        };
        CheckResult { check: self.name.clone(), at, status, latency, message, observations }
    }

    /// Every unmet condition, explained and joined by `; `; `None` when all hold.
    fn judge(&self, obs: &Observations) -> Option<String> {
        let failures: Vec<String> = self
            .expect
            .iter()
            .filter_map(|program| match program.eval(obs) {
                Ok(true) => None,
                Ok(false) => Some(program.explain(obs)),
                Err(e) => Some(format!("cannot check {}: {e}", program.source())),
            })
            .collect();
        if failures.is_empty() { None } else { Some(failures.join("; ")) }
    }
}

/// A check as a job on the scheduler: checks are the first kind of job.
#[derive(Debug)]
pub struct CheckJob {
    pub check: Arc<Check>,
    pub ctx: Context,
}

impl Job for CheckJob {
    fn name(&self) -> &str {
        &self.check.name
    }

    fn cadence(&self) -> Cadence {
        self.check.cadence.clone()
    }

    fn singleton(&self) -> bool {
        self.check.singleton
    }

    fn run(&self) -> JobFuture<'_> {
        Box::pin(self.check.run(&self.ctx))
    }
}

fn compile_expect(
    expect: &[upkeep_config::Spanned<String>],
    kind: &str,
    schema: &upkeep_expr::Schema,
    d: &mut Diagnostics,
) -> Vec<Program> {
    if expect.is_empty() {
        return kinds::default_expect(kind).iter().filter_map(|src| upkeep_expr::compile(src, schema).ok()).collect();
    }
    let mut programs = Vec::new();
    for source in expect {
        match upkeep_expr::compile(source.get_ref(), schema) {
            Ok(program) => programs.push(program),
            Err(errors) => d.expression_errors(source, errors, &format!("in `expect` of a {kind} check")),
        }
    }
    programs
}
