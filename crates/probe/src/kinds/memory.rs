//! `memory`: how much memory is really left (MemAvailable, which counts reclaimable cache as
//! free, unlike `free`'s "free" column), and swap use.

use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use procfs::Current;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Memory;

impl Kind for Memory {
    const KIND: &'static str = "memory";

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("used_percent", Type::Percent, "memory in use: (total - available) / total"),
            Field::new("available", Type::Size, "memory available for new work without swapping"),
            Field::new("total", Type::Size, "installed memory"),
            Field::new("swap_used_percent", Type::Percent, "swap in use"),
        ])
    }

    fn build(_t: &mut TableReader, _d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        Some(Memory)
    }

    fn target(&self) -> String {
        "memory".into()
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let info =
            procfs::Meminfo::current().map_err(|e| ProbeError::new(format!("cannot read /proc/meminfo: {e}")))?;
        let total = info.mem_total as f64;
        let available = info.mem_available.unwrap_or(info.mem_free + info.cached) as f64;
        let mut obs = Observations::new();
        obs.insert("total", Value::Size(total));
        obs.insert("available", Value::Size(available));
        obs.insert("used_percent", Value::Percent(if total > 0.0 { (total - available) / total * 100.0 } else { 0.0 }));
        if info.swap_total > 0 {
            let used = (info.swap_total - info.swap_free) as f64;
            obs.insert("swap_used_percent", Value::Percent(used / info.swap_total as f64 * 100.0));
        } else {
            obs.mark_missing("swap_used_percent", "this machine has no swap");
        }
        Ok(obs)
    }
}
