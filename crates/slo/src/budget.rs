//! SLI, error budget, consumption and burn rate.

use std::time::Duration;

/// The share of good events an SLO promises, as a ratio strictly between 0 and 1.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Objective(f64);

impl Objective {
    /// `Some` for a ratio in (0, 1): an objective of 100% has no budget to spend.
    pub fn new(ratio: f64) -> Option<Objective> {
        (ratio > 0.0 && ratio < 1.0).then_some(Objective(ratio))
    }

    pub fn ratio(self) -> f64 {
        self.0
    }

    /// The error budget as a ratio: `1 − objective`.
    pub fn budget(self) -> f64 {
        1.0 - self.0
    }

    /// The error budget as time within `window`: 0.1% of 30 days is 43 min 12 s.
    pub fn budget_time(self, window: Duration) -> Duration {
        to_ms(window.as_secs_f64() * self.budget())
    }
}

/// Events in a window: how many were valid, and how many of those good.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Events {
    pub good: u64,
    pub valid: u64,
}

impl Events {
    /// good / valid; `None` with no events (no data is not 0% and not 100%).
    pub fn sli(self) -> Option<f64> {
        (self.valid > 0).then(|| self.good.min(self.valid) as f64 / self.valid as f64)
    }

    /// `(1 − SLI) / (1 − objective)`: 1 spends the budget exactly over the window.
    pub fn burn_rate(self, objective: Objective) -> Option<f64> {
        self.sli().map(|sli| (1.0 - sli) / objective.budget())
    }
}

/// Where an SLO stands over its window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub objective: Objective,
    pub window: Duration,
    pub sli: f64,
    /// Share of the budget spent: `(1 − SLI) / (1 − objective)`, may exceed 1.
    pub consumed: f64,
    /// `1 − consumed`: below zero once the budget is overspent.
    pub remaining: f64,
}

impl Budget {
    /// `None` when the window holds no events.
    pub fn of(objective: Objective, window: Duration, events: Events) -> Option<Budget> {
        let sli = events.sli()?;
        let consumed = (1.0 - sli) / objective.budget();
        Some(Budget { objective, window, sli, consumed, remaining: 1.0 - consumed })
    }

    /// The whole budget as time within the window.
    pub fn budget_time(&self) -> Duration {
        self.objective.budget_time(self.window)
    }

    /// What is left of it as time; zero once overspent.
    pub fn remaining_time(&self) -> Duration {
        to_ms(self.budget_time().as_secs_f64() * self.remaining.max(0.0))
    }

    /// How long until the budget is gone if it keeps burning at `burn_rate` (1 = the rate that
    /// spends it exactly over the window): `remaining × window / burn_rate`. `None` when it is
    /// not burning; zero when it is already gone.
    pub fn exhausted_in(&self, burn_rate: f64) -> Option<Duration> {
        if self.remaining <= 0.0 {
            return Some(Duration::ZERO);
        }
        (burn_rate > 0.0).then(|| to_ms(self.window.as_secs_f64() * self.remaining / burn_rate))
    }
}

/// Seconds as a duration to the millisecond: what floating point adds beyond that is noise.
fn to_ms(secs: f64) -> Duration {
    Duration::from_millis((secs * 1000.0).round().clamp(0.0, u64::MAX as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_budget_of_99_9_over_30_days_is_43_minutes_12_seconds() {
        let objective = Objective::new(0.999).unwrap();
        assert_eq!(objective.budget_time(30 * DAY), Duration::from_secs(43 * 60 + 12));
        // Seed 000-28: 8.77 hours a year.
        let year = objective.budget_time(Duration::from_secs(365 * 86_400 + 6 * 3600));
        assert!((year.as_secs_f64() / 3600.0 - 8.766).abs() < 0.01, "{year:?}");
        assert!(Objective::new(1.0).is_none() && Objective::new(0.0).is_none());
    }

    /// Hand-computed cases, seed 000's numbers included: a 99.9% objective, a 30-day window of
    /// checks every 30 s (86,400 runs).
    #[test]
    fn slo_math_matches_hand_computed_cases() {
        let objective = Objective::new(0.999).unwrap();
        let runs = 86_400;
        // (failed runs, SLI, consumed, remaining, what seed 000 reports as `error_budget_remaining`)
        let cases = [
            (0u64, 1.0, 0.0, 1.0, 0.0),
            (43, 0.999_502_314_814_814_8, 0.497_685_185_185_185_2, 0.502_314_814_814_814_8, 0.0),
            (86, 0.999_004_629_629_629_6, 0.995_370_370_370_370_4, 0.004_629_629_629_629_6, 0.0),
            (173, 0.997_997_685_185_185_2, 2.002_314_814_814_815, -1.002_314_814_814_814_8, 0.100_231),
        ];
        for (failed, sli, consumed, remaining, seed_000) in cases {
            let events = Events { good: runs - failed, valid: runs };
            let budget = Budget::of(objective, 30 * DAY, events).unwrap();
            assert!(close(budget.sli, sli), "{failed}: sli {}", budget.sli);
            assert!(close(budget.consumed, consumed), "{failed}: consumed {}", budget.consumed);
            assert!(close(budget.remaining, remaining), "{failed}: remaining {}", budget.remaining);
            // Seed 000's formula on the same numbers, in percentage points as it computes them.
            let theirs = (99.9 - budget.sli * 100.0).max(0.0);
            assert!((theirs - seed_000).abs() < 1e-3, "{failed}: seed 000 says {theirs}");
        }
        // The difference, in words: with half the budget spent seed 000 says "0 remaining";
        // with twice the budget spent it says 0.1 remaining. Ours says 50% and -100%.
    }

    #[test]
    fn burn_rate_and_time_to_exhaustion() {
        let objective = Objective::new(0.999).unwrap();
        // 1% of runs failing burns a 0.1% budget ten times as fast as it may.
        let hour = Events { good: 99, valid: 100 };
        assert!(close(hour.burn_rate(objective).unwrap(), 10.0));
        assert_eq!(Events::default().burn_rate(objective), None);
        let budget = Budget::of(objective, 30 * DAY, Events { good: 999_500, valid: 1_000_000 }).unwrap();
        assert!(close(budget.remaining, 0.5));
        // Half the budget left, burning at 10×: gone in 30 d × 0.5 / 10 = 1.5 days.
        assert_eq!(budget.exhausted_in(10.0), Some(Duration::from_secs(36 * 3600)));
        assert_eq!(budget.exhausted_in(0.0), None);
        assert_eq!(budget.remaining_time(), Duration::from_secs(21 * 60 + 36));
        let spent = Budget::of(objective, 30 * DAY, Events { good: 990, valid: 1000 }).unwrap();
        assert_eq!(spent.exhausted_in(1.0), Some(Duration::ZERO));
        assert_eq!(spent.remaining_time(), Duration::ZERO);
    }
}
