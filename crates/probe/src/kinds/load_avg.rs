//! `load`: load averages and CPU use. CPU use is measured between two runs of the check (or,
//! on the first run, over a short sample), from /proc/stat.

use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use procfs::{Current, CurrentSI};
use std::sync::Mutex;
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Load {
    /// (busy ticks, total ticks) at the previous run.
    previous: Mutex<Option<(u64, u64)>>,
}

const FIRST_SAMPLE: Duration = Duration::from_millis(200);

impl Kind for Load {
    const KIND: &'static str = "load";

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("load1", Type::Number, "1-minute load average"),
            Field::new("load5", Type::Number, "5-minute load average"),
            Field::new("load15", Type::Number, "15-minute load average"),
            Field::new("load1_per_cpu", Type::Number, "load1 divided by the number of CPUs"),
            Field::new("cpus", Type::Number, "CPUs available"),
            Field::new("cpu_percent", Type::Percent, "CPU busy time since the previous run"),
        ])
    }

    fn build(_t: &mut TableReader, _d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        Some(Load { previous: Mutex::new(None) })
    }

    fn target(&self) -> String {
        "load".into()
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let load =
            procfs::LoadAverage::current().map_err(|e| ProbeError::new(format!("cannot read /proc/loadavg: {e}")))?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let previous = *self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let before = match previous {
            Some(sample) => sample,
            None => {
                let first = cpu_ticks()?;
                tokio::time::sleep(FIRST_SAMPLE).await;
                first
            }
        };
        let now = cpu_ticks()?;
        *self.previous.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        let (busy, total) = (now.0.saturating_sub(before.0), now.1.saturating_sub(before.1));
        let mut obs = Observations::new();
        obs.insert("load1", Value::Number(f64::from(load.one)));
        obs.insert("load5", Value::Number(f64::from(load.five)));
        obs.insert("load15", Value::Number(f64::from(load.fifteen)));
        obs.insert("load1_per_cpu", Value::Number(f64::from(load.one) / cpus));
        obs.insert("cpus", Value::Number(cpus));
        if total > 0 {
            obs.insert("cpu_percent", Value::Percent(busy as f64 / total as f64 * 100.0));
        } else {
            obs.mark_missing("cpu_percent", "no CPU time passed since the previous run");
        }
        Ok(obs)
    }
}

fn cpu_ticks() -> Result<(u64, u64), ProbeError> {
    let stat = procfs::KernelStats::current().map_err(|e| ProbeError::new(format!("cannot read /proc/stat: {e}")))?;
    let t = stat.total;
    let idle = t.idle + t.iowait.unwrap_or(0);
    let busy = t.user + t.nice + t.system + t.irq.unwrap_or(0) + t.softirq.unwrap_or(0) + t.steal.unwrap_or(0);
    Ok((busy, busy + idle))
}
