//! The repository's master key, kept for the life of the process once a password opened it:
//! deriving it from the password (scrypt) costs a few hundred milliseconds of CPU on purpose,
//! and the daemon and `upkeep backup run` open the repository once per backup, per drill.

use super::Place;
use rustic_core::repofile::MasterKey;
use std::sync::Mutex;

static KEYS: Mutex<Vec<(Place, String, MasterKey)>> = Mutex::new(Vec::new());

/// The master key a password opened `place` with before, in this process.
pub(super) fn known(place: &Place, password: &str) -> Option<MasterKey> {
    let keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    keys.iter().find(|(p, pw, _)| p == place && pw == password).map(|(_, _, key)| key.clone())
}

pub(super) fn remember(place: &Place, password: &str, key: MasterKey) {
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    keys.retain(|(p, _, _)| p != place);
    keys.push((place.clone(), password.to_string(), key));
}

/// Drops what is kept for `place` (its key no longer opens it).
pub(super) fn forget(place: &Place) {
    KEYS.lock().unwrap_or_else(|e| e.into_inner()).retain(|(p, _, _)| p != place);
}
