//! Who may use the API and the dashboard, and the secrets that prove it: `[[user]]`s sign in to
//! the dashboard with a password (argon2, verified on a bounded pool), `[[token]]`s open the API
//! (kept as SHA-256), and each has a [`Role`]. The web layer asks; this crate knows.

mod password;
mod role;
mod token;
mod users;

pub use password::{Busy, DECOY_HASH, Verifier, WORKERS, hash_password, random_hex};
pub use role::Role;
pub use token::{new_token, same, sha256_hex};
pub use users::{Access, Token, User, read_access};
