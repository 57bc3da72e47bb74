//! `[retention]`: how long the store keeps what it has seen.

use crate::diagnostic::Diagnostics;
use crate::sections::Sections;
use std::time::Duration;
use toml::Spanned;

/// How long the store keeps raw results and rollups (`[retention]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retention {
    /// Every check result, with failures' messages and observations.
    pub raw: Duration,
    /// Hourly and daily aggregates with latency histograms: availability, percentiles, bars.
    pub rollups: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { raw: Duration::from_secs(7 * 86400), rollups: Duration::from_secs(400 * 86400) }
    }
}

/// Retention shorter than this would delete results before they are rolled up.
const MIN_RAW_RETENTION: Duration = Duration::from_secs(3600);
const MIN_ROLLUP_RETENTION: Duration = Duration::from_secs(86400);

/// `[retention]`, or the defaults when it is not written.
pub fn read_retention(sections: &mut Sections, d: &mut Diagnostics) -> Retention {
    let defaults = Retention::default();
    let Some(mut table) = sections.table(d, "retention") else { return defaults };
    let retention = Retention {
        raw: table.duration(d, "raw", MIN_RAW_RETENTION).map_or(defaults.raw, Spanned::into_inner),
        rollups: table.duration(d, "rollups", MIN_ROLLUP_RETENTION).map_or(defaults.rollups, Spanned::into_inner),
    };
    table.finish(d);
    retention
}
