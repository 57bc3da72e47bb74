//! Running many checks at once, as `upkeep check` does: each on its own task (so slow TLS
//! handshakes use both cores), at most `concurrency` at a time, each bounded by its timeout.

use crate::check::Check;
use crate::context::Context;
use std::sync::Arc;
use tokio::sync::Semaphore;
use upkeep_result::CheckResult;

/// Runs `checks` once and returns their results in the same order.
pub async fn run_checks(checks: &[Arc<Check>], ctx: &Context, concurrency: usize) -> Vec<CheckResult> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, check) in checks.iter().enumerate() {
        let (check, ctx, permits) = (Arc::clone(check), ctx.clone(), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, check.run(&ctx).await)
        });
    }
    let mut results: Vec<Option<CheckResult>> = vec![None; checks.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
    }
    results.into_iter().zip(checks).map(|(result, check)| result.unwrap_or_else(|| crashed(check, ctx))).collect()
}

/// A probe that panicked still yields a result, so one bad probe cannot hide the others.
fn crashed(check: &Check, ctx: &Context) -> CheckResult {
    CheckResult {
        check: check.name.clone(),
        at: ctx.clock.now(),
        status: upkeep_result::Status::Error,
        latency: std::time::Duration::ZERO,
        message: Some("the probe crashed; this is a bug in upkeep, please report it".into()),
        observations: Default::default(),
    }
}
