//! Severities: an id users write (`P1`), a name (`critical`), and targets. The defaults are the
//! classes most of the manuals use (003-01..04): P1 critical (respond within 15 minutes, resolve
//! within 4 hours, updates every 30 minutes, post-mortem required), P2 high (1 h, 24 h,
//! post-mortem required), P3 medium (respond within 4 h), P4 low (within 24 h). Apps that
//! count from P0 (004-43) rename them in config.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Severity {
    /// What users write and see: `P1`.
    pub id: String,
    /// Its word: `critical`.
    pub name: String,
    /// Acknowledge within this, or the target is breached.
    pub respond: Option<Duration>,
    /// Resolve within this.
    pub resolve: Option<Duration>,
    /// While open, an update (a note or a status change) is due this often; a reminder goes
    /// out when one is late (004-46/48).
    pub update_every: Option<Duration>,
    /// A post-mortem must be attached once it is resolved (003-12).
    pub postmortem: bool,
    /// The escalation policy of incidents of this severity, over `[incidents] escalation`.
    pub escalation: Option<String>,
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// P1 to P4 as the manuals define them.
pub fn defaults() -> Vec<Severity> {
    let s = |id: &str, name: &str, respond: u64, resolve: Option<u64>, update: Option<u64>, pm: bool| Severity {
        id: id.into(),
        name: name.into(),
        respond: Some(Duration::from_secs(respond)),
        resolve: resolve.map(Duration::from_secs),
        update_every: update.map(Duration::from_secs),
        postmortem: pm,
        escalation: None,
    };
    vec![
        s("P1", "critical", 15 * MIN, Some(4 * HOUR), Some(30 * MIN), true),
        s("P2", "high", HOUR, Some(24 * HOUR), None, true),
        s("P3", "medium", 4 * HOUR, None, None, false),
        s("P4", "low", 24 * HOUR, None, None, false),
    ]
}

/// The alert severity a page of an incident of this rank goes out as: the first is critical,
/// the second warning, the rest info (how the channels colour and route it).
pub fn alert_severity(rank: usize) -> &'static str {
    match rank {
        0 => "critical",
        1 => "warning",
        _ => "info",
    }
}
