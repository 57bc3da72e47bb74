//! API tokens: minted as `upk_` and 64 random hex digits, kept in config only as their SHA-256,
//! and compared in constant time.

use sha2::{Digest, Sha256};

/// A new API token and its SHA-256, for `[[token]] sha256`.
pub fn new_token() -> (String, String) {
    let token = format!("upk_{}", crate::password::random_hex());
    let sha = sha256_hex(&token);
    (token, sha)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Compares without stopping at the first difference, so timing says nothing about the secret.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_by_their_hash_in_constant_time() {
        let (token, sha) = new_token();
        assert!(token.starts_with("upk_") && token.len() == 68);
        assert!(same(&sha256_hex(&token), &sha));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
