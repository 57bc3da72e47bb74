//! Login rate limiting: after too many failures for one client address or one user name in a
//! window, further attempts are refused until the oldest failure ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
pub struct RateLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// `Err(wait)` when any of `keys` is locked out at `now`.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    times.pop_front();
                }
                if times.len() >= MAX_FAILURES
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(WINDOW - now.duration_since(*oldest));
                }
            }
        }
        failures.retain(|_, times| !times.is_empty());
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub fn fail(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }

    pub fn succeed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_five_failures_until_the_window_passes() {
        let limiter = RateLimiter::default();
        let keys = vec!["ip:10.0.0.1".to_string(), "user:alice".to_string()];
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(limiter.check(&keys, t0).is_ok(), "attempt {i}");
            limiter.fail(&keys, t0 + Duration::from_secs(i as u64));
        }
        let wait = limiter.check(&keys, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, WINDOW - Duration::from_secs(10));
        // Another address trying the same user is locked out too.
        let other = vec!["ip:10.0.0.2".to_string(), "user:alice".to_string()];
        assert!(limiter.check(&other, t0 + Duration::from_secs(10)).is_err());
        assert!(limiter.check(&keys, t0 + WINDOW + Duration::from_secs(5)).is_ok());
    }
}
