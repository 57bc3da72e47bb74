//! "Now", injected. Everything that depends on time asks the clock, and waits on it: a manual
//! clock only moves when a test moves it, and whatever sleeps on it wakes when it passes the
//! time it waits for, so tests of `for`, escalation, cron and retention move time instead of
//! sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A clock that only moves when told to.
    Manual(Arc<Manual>),
}

#[derive(Debug)]
pub struct Manual {
    now: Mutex<jiff::Timestamp>,
    moved: watch::Sender<jiff::Timestamp>,
}

impl Clock {
    pub fn manual(at: jiff::Timestamp) -> Self {
        Clock::Manual(Arc::new(Manual { now: Mutex::new(at), moved: watch::Sender::new(at) }))
    }

    pub fn now(&self) -> jiff::Timestamp {
        match self {
            Clock::System => jiff::Timestamp::now(),
            Clock::Manual(manual) => *manual.now.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a manual clock forward, waking whatever waits for a time it now passed; the system
    /// clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(manual) = self {
            let mut now = manual.now.lock().unwrap_or_else(|e| e.into_inner());
            *now = now.checked_add(jiff::SignedDuration::try_from(by).unwrap_or_default()).unwrap_or(*now);
            manual.moved.send_replace(*now);
        }
    }

    /// Waits until this clock reads `at` or later.
    pub async fn sleep_until(&self, at: jiff::Timestamp) {
        match self {
            Clock::System => {
                let wait = jiff::Timestamp::now().duration_until(at);
                if wait.is_positive() {
                    tokio::time::sleep(wait.unsigned_abs()).await;
                }
            }
            Clock::Manual(manual) => {
                let mut moved = manual.moved.subscribe();
                // The sender lives as long as the clock, so `changed` only ends when it moves.
                while *moved.borrow_and_update() < at {
                    if moved.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Waits `for` on this clock.
    pub async fn sleep(&self, duration: Duration) {
        let at = self.now().checked_add(jiff::SignedDuration::try_from(duration).unwrap_or_default());
        self.sleep_until(at.unwrap_or(jiff::Timestamp::MAX)).await;
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_moved_past_their_time() {
        let clock = Clock::manual("2026-12-01T10:00:00Z".parse().unwrap());
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep(Duration::from_secs(60)).await })
        };
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        sleeper.await.unwrap();
        assert_eq!(clock.now().to_string(), "2026-12-01T10:01:00Z");
    }
}
