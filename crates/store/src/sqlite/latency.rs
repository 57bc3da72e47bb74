//! Percentiles over any window: the rollups that cover it, from the coarsest tier that fits
//! (whole days, then whole hours, then minutes at the edges), so a 30-day window costs about
//! 30 day rows, 46 hour rows and 118 minute rows per check, never its raw results.

use super::{SqliteStore, compact};
use crate::StoreError;
use crate::rollup::{DAY, HOUR, MINUTE, Summary};
use std::collections::HashMap;

/// How far each tier is usable: rows exist from `*_from` and are complete before `*_until`.
#[derive(Clone, Copy, Debug)]
struct Tiers {
    minutes_from: i64,
    hours_from: i64,
    hours_until: i64,
    days_until: i64,
}

/// The `(tier, start, end)` pieces that cover `[start, end)`. A start older than the finest
/// tier kept is widened back to the start of its hour (or day).
fn cover(mut start: i64, end: i64, t: Tiers) -> Vec<(i64, i64, i64)> {
    if start < t.minutes_from {
        start = start.div_euclid(HOUR) * HOUR;
    }
    if start < t.hours_from {
        start = start.div_euclid(DAY) * DAY;
    }
    let mut pieces = Vec::new();
    let (d0, d1) = (ceil(start, DAY), (end.div_euclid(DAY) * DAY).min(t.days_until));
    let rest = if d0 < d1 {
        pieces.push((DAY, d0, d1));
        vec![(start, d0), (d1, end)]
    } else {
        vec![(start, end)]
    };
    for (a, b) in rest.into_iter().filter(|(a, b)| a < b) {
        let (h0, h1) = (ceil(a, HOUR), (b.div_euclid(HOUR) * HOUR).min(t.hours_until));
        if h0 < h1 {
            pieces.extend([(MINUTE, a, h0), (HOUR, h0, h1), (MINUTE, h1, b)]);
        } else {
            pieces.push((MINUTE, a, b));
        }
    }
    pieces.retain(|&(_, a, b)| a < b);
    pieces
}

fn ceil(at: i64, span: i64) -> i64 {
    (at + span - 1).div_euclid(span) * span
}

impl SqliteStore {
    /// Rollups summed over `[from, to)` (to the minute, as windows are) for every check or one:
    /// counts, the latency histogram and the largest latency.
    pub(crate) async fn latencies(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        only: Option<&str>,
    ) -> Result<HashMap<String, Summary>, StoreError> {
        let Some(filter) = self.filter(only) else {
            return Ok(HashMap::new());
        };
        let (start, end) = super::totals::to_the_minute(from, to);
        let compacted = self.compacted_until().await?;
        let first = |tier: i64| {
            sqlx::query_scalar::<_, Option<i64>>("SELECT MIN(start_s) FROM rollups WHERE tier = ?")
                .bind(tier)
                .fetch_one(&self.pool)
        };
        let tiers = Tiers {
            minutes_from: first(MINUTE).await?.unwrap_or(i64::MIN),
            hours_from: first(HOUR).await?.unwrap_or(i64::MIN),
            hours_until: compacted.get(&HOUR).copied().unwrap_or(0),
            days_until: compacted.get(&DAY).copied().unwrap_or(0),
        };
        let ids = match filter {
            Some(id) => vec![id],
            None => self.all_ids().into_iter().map(|(_, id)| id).collect(),
        };
        let mut out = HashMap::new();
        let mut conn = self.pool.acquire().await?;
        for id in ids {
            let mut window = Summary::default();
            for (tier, a, b) in cover(start, end, tiers) {
                for (_, summary) in compact::rollup_rows(&mut conn, tier, a, b, id).await? {
                    window.merge(&summary);
                }
            }
            if window.total > 0 {
                out.insert(id, window);
            }
        }
        Ok(self.named(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Tiers = Tiers { minutes_from: 0, hours_from: 0, hours_until: 100 * DAY, days_until: 100 * DAY };

    #[test]
    fn a_window_is_covered_by_the_coarsest_rows_that_fit() {
        let (start, end) = (10 * DAY + 5 * HOUR + 7 * MINUTE, 40 * DAY + 2 * HOUR + 3 * MINUTE);
        let pieces = cover(start, end, T);
        assert_eq!(
            pieces,
            vec![
                (DAY, 11 * DAY, 40 * DAY),
                (MINUTE, start, 10 * DAY + 6 * HOUR),
                (HOUR, 10 * DAY + 6 * HOUR, 11 * DAY),
                (HOUR, 40 * DAY, 40 * DAY + 2 * HOUR),
                (MINUTE, 40 * DAY + 2 * HOUR, end),
            ]
        );
        // The pieces tile the window exactly.
        let mut spans: Vec<(i64, i64)> = pieces.iter().map(|&(_, a, b)| (a, b)).collect();
        spans.sort();
        assert_eq!(spans.first().unwrap().0, start);
        assert_eq!(spans.last().unwrap().1, end);
        assert!(spans.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn tiers_not_compacted_yet_are_read_from_finer_rows() {
        let t = Tiers { hours_until: 20 * DAY + 3 * HOUR, days_until: 20 * DAY, ..T };
        let pieces = cover(18 * DAY, 20 * DAY + 5 * HOUR + 30 * MINUTE, t);
        assert_eq!(
            pieces,
            vec![
                (DAY, 18 * DAY, 20 * DAY),
                (HOUR, 20 * DAY, 20 * DAY + 3 * HOUR),
                (MINUTE, 20 * DAY + 3 * HOUR, 20 * DAY + 5 * HOUR + 30 * MINUTE),
            ]
        );
    }

    #[test]
    fn a_start_older_than_the_minutes_kept_widens_to_its_hour() {
        let t = Tiers { minutes_from: 30 * DAY, hours_from: 5 * DAY, ..T };
        assert_eq!(cover(20 * DAY + 90 * MINUTE, 21 * DAY, t), vec![(HOUR, 20 * DAY + HOUR, 21 * DAY)]);
        assert_eq!(cover(4 * DAY + 90 * MINUTE, 5 * DAY, t), vec![(DAY, 4 * DAY, 5 * DAY)]);
        assert_eq!(cover(7, 7, T), vec![]);
    }
}
