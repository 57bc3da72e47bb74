//! Dashboard sessions, by the SHA-256 of the cookie's token (the token itself is never kept),
//! so a restart does not sign everyone out.

use crate::{Store, StoreError};

/// A signed-in user and the CSRF token their forms carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    pub expires: jiff::Timestamp,
}

impl Store {
    pub async fn create_session(&self, token_sha256: &str, session: &Session) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.create_session(token_sha256, session).await,
        }
    }

    /// The session for a token hash, unless it has expired by `now`.
    pub async fn session(&self, token_sha256: &str, now: jiff::Timestamp) -> Result<Option<Session>, StoreError> {
        match self {
            Store::Sqlite(s) => s.session(token_sha256, now).await,
        }
    }

    pub async fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.delete_session(token_sha256).await,
        }
    }
}
