//! When to try again: exponential backoff with jitter, at least what the receiver asked for
//! (`Retry-After`), and which answers are worth retrying at all.

use std::time::Duration;

/// The longest wait between two attempts.
pub const RETRY_CAP: Duration = Duration::from_secs(300);

/// The wait after attempt `attempt` (1 for the first) failed: 1 s, 2 s, 4 s ... up to
/// [`RETRY_CAP`], each drawn at random from its upper half so that many notifications failing
/// together do not retry together; never less than `asked` (a `Retry-After`).
pub fn backoff(attempt: u32, asked: Option<Duration>) -> Duration {
    let ceiling = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(16)).min(RETRY_CAP);
    let jittered = ceiling.mul_f64(rand::random_range(0.5..=1.0));
    jittered.max(asked.unwrap_or_default().min(Duration::from_secs(3600)))
}

/// Whether an HTTP status is worth retrying: server errors, 408 (timeout) and 429 (too many
/// requests). Every other 4xx says the request itself is wrong: retrying cannot help.
pub fn is_transient(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// `Retry-After` in seconds or as an HTTP date, from `now`.
pub fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(now.duration_until(at).try_into().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        for attempt in 1..=12 {
            let ceiling = Duration::from_secs(1 << (attempt - 1)).min(RETRY_CAP);
            let wait = backoff(attempt, None);
            assert!(wait <= ceiling && wait >= ceiling / 2, "attempt {attempt}: {wait:?}");
        }
        assert_eq!(backoff(1, Some(Duration::from_secs(30))), Duration::from_secs(30));
        assert!(is_transient(500) && is_transient(429) && is_transient(408));
        assert!(!is_transient(400) && !is_transient(404) && !is_transient(410));
        let now: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("Tue, 01 Dec 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("soon", now), None);
    }
}
