//! Passwords: argon2id hashes for `[[user]] password_hash`, and their verification on a small
//! pool of threads of its own. Each verification takes ~19 MiB and most of a core for a moment;
//! the pool bounds how many run at once (and so the memory they keep), and a sign-in that finds
//! every worker busy is refused at once instead of queueing without end.

use argon2::password_hash::PasswordVerifier;
use std::sync::{Arc, LazyLock, mpsc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// How many verifications may run at once.
pub const WORKERS: usize = 2;

/// Every worker is busy: try again in a moment.
#[derive(Debug)]
pub struct Busy;

struct Job {
    hash: String,
    password: String,
    reply: oneshot::Sender<bool>,
    _permit: OwnedSemaphorePermit,
}

pub struct Verifier {
    jobs: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
}

impl Verifier {
    /// Starts the workers; they end when the verifier is dropped.
    pub fn new() -> Verifier {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..WORKERS {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new().name(format!("upkeep-verify-{i}")).spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(Job { hash, password, reply, _permit }) = job else { return };
                    let matches = verify_now(&hash, &password);
                    // The worker is free before the answer arrives, so whoever reads it and
                    // tries again finds it free.
                    drop(_permit);
                    let _ = reply.send(matches);
                }
            });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password verification thread: {e}");
            }
        }
        Verifier { jobs, permits: Arc::new(Semaphore::new(WORKERS)) }
    }

    /// Whether `password` matches `hash`; `Err(Busy)` at once when every worker is busy.
    pub async fn verify(&self, hash: String, password: String) -> Result<bool, Busy> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().map_err(|_| Busy)?;
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { hash, password, reply, _permit: permit }).map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

fn verify_now(hash: &str, password: &str) -> bool {
    argon2::password_hash::phc::PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of a random password nobody knows, checked for unknown user names so that timing does
/// not reveal who exists.
pub static DECOY_HASH: LazyLock<String> = LazyLock::new(|| hash_password(&random_hex()).unwrap_or_default());

pub fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// An argon2id hash (PHC string) of `password`, for `[[user]] password_hash`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_and_refuses_beyond_its_workers() {
        let verifier = Verifier::new();
        let hash = hash_password("correct horse").unwrap();
        assert!(verifier.verify(hash.clone(), "correct horse".into()).await.unwrap());
        assert!(!verifier.verify(hash.clone(), "wrong".into()).await.unwrap());
        // More at once than there are workers: the excess is refused at once, not queued
        // (`join!` starts them all before any finishes).
        assert_eq!(WORKERS, 2);
        let tried = |p: &str| verifier.verify(hash.clone(), p.to_string());
        let answers = tokio::join!(tried("a"), tried("b"), tried("c"), tried("d"), tried("e"));
        let answers = [answers.0, answers.1, answers.2, answers.3, answers.4];
        assert_eq!(answers.iter().filter(|a| a.is_err()).count(), 3, "{answers:?}");
    }
}
