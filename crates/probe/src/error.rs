//! Why a probe failed, in words a person on call understands: `connection refused to
//! 127.0.0.1:5432`, not an error type's debug print.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct ProbeError {
    pub message: String,
}

impl ProbeError {
    pub fn new(message: impl Into<String>) -> Self {
        ProbeError { message: message.into() }
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProbeError {}

/// Describes an I/O error for `target` the way an operator would say it.
pub fn describe_io(error: &std::io::Error, target: &str) -> String {
    use std::io::ErrorKind::*;
    match error.kind() {
        ConnectionRefused => format!("connection refused to {target}"),
        ConnectionReset => format!("connection reset by {target}"),
        TimedOut => format!("timed out connecting to {target}"),
        NotFound => format!("{target} does not exist"),
        PermissionDenied => format!("permission denied for {target}"),
        AddrNotAvailable => format!("address not available: {target}"),
        HostUnreachable => format!("host unreachable: {target}"),
        NetworkUnreachable => format!("network unreachable: {target}"),
        _ => format!("{target}: {error}"),
    }
}

/// Walks an error's sources for an I/O error, so wrapped errors (reqwest, sqlx, redis) still
/// read as `connection refused to ...`.
pub fn find_io<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        // redis wraps its I/O errors in an Arc, which `source()` walks past.
        if let Some(io) = e
            .downcast_ref::<std::sync::Arc<dyn std::error::Error + Send + Sync>>()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>())
        {
            return Some(io);
        }
        current = e.source();
    }
    None
}
