//! Where each log check stopped reading, so a restart resumes rather than rereads.

use crate::{LogCursor, Store, StoreError};

impl Store {
    pub async fn log_cursor(&self, check: &str) -> Result<Option<LogCursor>, StoreError> {
        match self {
            Store::Sqlite(s) => s.log_cursor(check).await,
        }
    }

    pub async fn save_log_cursor(&self, check: &str, cursor: &LogCursor) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.save_log_cursor(check, cursor).await,
        }
    }
}
