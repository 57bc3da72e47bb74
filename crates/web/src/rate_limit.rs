//! Sign-in rate limiting. An attempt is counted *before* its password is verified, so tries that
//! arrive together cannot all slip past a limit that only failures would fill. Limits apply per
//! client address and user name (the brute force of one account), per address (spraying many
//! names), and over everything (a slower ceiling for attacks from many addresses); none of them
//! lets a stranger lock a user out from everywhere by failing their name.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `max` attempts within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub window: Duration,
}

pub const PER_ADDRESS_AND_USER: Limit = Limit { max: 5, window: Duration::from_secs(15 * 60) };
pub const PER_ADDRESS: Limit = Limit { max: 20, window: Duration::from_secs(15 * 60) };
pub const OVERALL: Limit = Limit { max: 120, window: Duration::from_secs(60) };

/// The keys one sign-in attempt counts against.
pub fn keys(address: &str, user: &str) -> [(String, Limit); 3] {
    [
        (format!("address+user:{address}:{user}"), PER_ADDRESS_AND_USER),
        (format!("address:{address}"), PER_ADDRESS),
        ("overall".to_string(), OVERALL),
    ]
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Counts an attempt against every key, or `Err(wait)` (counting nothing) when any key is
    /// at its limit at `now`. Check and count happen under one lock.
    pub fn reserve(&self, keys: &[(String, Limit)], now: Instant) -> Result<(), Duration> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for (key, limit) in keys {
            if let Some(times) = attempts.get_mut(key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= limit.window) {
                    times.pop_front();
                }
                if times.len() >= limit.max
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(limit.window - now.duration_since(*oldest));
                }
            }
        }
        if wait.is_zero() {
            for (key, _) in keys {
                attempts.entry(key.clone()).or_default().push_back(now);
            }
        }
        // Keep the map small: drop keys whose every attempt has aged out of the longest window.
        let longest = keys.iter().map(|(_, l)| l.window).max().unwrap_or_default();
        attempts.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < longest));
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// A correct password: the attempt is forgiven, and the user's earlier failures from this
    /// address with it.
    pub fn succeed(&self, keys: &[(String, Limit)]) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for (i, (key, _)) in keys.iter().enumerate() {
            if i == 0 {
                attempts.remove(key);
            } else if let Some(times) = attempts.get_mut(key) {
                times.pop_back();
            }
        }
    }

    /// The attempt was never tried (every verifier was busy): it does not count.
    pub fn release(&self, keys: &[(String, Limit)]) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in keys {
            if let Some(times) = attempts.get_mut(key) {
                times.pop_back();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_attempts_per_address_and_user_then_a_wait() {
        let limiter = RateLimiter::default();
        let alice = keys("10.0.0.1", "alice");
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(limiter.reserve(&alice, t0 + Duration::from_secs(i)).is_ok(), "attempt {i}");
        }
        let wait = limiter.reserve(&alice, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, PER_ADDRESS_AND_USER.window - Duration::from_secs(10));
        // Someone else failing alice's name from elsewhere does not lock alice out.
        assert!(limiter.reserve(&keys("10.0.0.2", "alice"), t0 + Duration::from_secs(10)).is_ok());
        assert!(limiter.reserve(&alice, t0 + PER_ADDRESS_AND_USER.window + Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn an_address_spraying_names_is_limited_and_a_success_forgives() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..PER_ADDRESS.max {
            assert!(limiter.reserve(&keys("10.0.0.9", &format!("user{i}")), t0).is_ok());
        }
        assert!(limiter.reserve(&keys("10.0.0.9", "another"), t0).is_err());
        let bob = keys("10.0.0.3", "bob");
        for _ in 0..4 {
            limiter.reserve(&bob, t0).unwrap();
        }
        limiter.succeed(&bob);
        for _ in 0..5 {
            assert!(limiter.reserve(&bob, t0).is_ok());
        }
    }

    #[test]
    fn many_addresses_meet_the_overall_ceiling() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..OVERALL.max {
            assert!(limiter.reserve(&keys(&format!("10.1.{}.{}", i / 250, i % 250), "root"), t0).is_ok());
        }
        let wait = limiter.reserve(&keys("10.9.9.9", "root"), t0).unwrap_err();
        assert!(wait <= OVERALL.window);
        assert!(limiter.reserve(&keys("10.9.9.9", "root"), t0 + OVERALL.window).is_ok());
    }
}
