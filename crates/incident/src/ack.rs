//! Signed one-click acknowledge links: the token names the incident, the escalation level it
//! was sent for, whom it was sent to and until when it works, with an HMAC-SHA256 over all of
//! it. Altering any part, or using it for another incident, fails the signature; a used token
//! finds its incident acknowledged and is refused as used. The same key signs each schedule's
//! calendar-feed token.

use hmac::{KeyInit, Mac};
use jiff::Timestamp;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Bytes of the signature kept in a token (128 bits).
const TAG: usize = 16;

#[derive(Clone)]
pub struct AckKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for AckKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckKey(..)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckToken {
    pub incident: i64,
    /// The level (from 0) the page was for; `None` for a page that was not a level's.
    pub level: Option<u32>,
    pub person: Option<String>,
    pub expires: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckError {
    Malformed,
    /// Its signature does not match: altered, or made with another key.
    Forged,
    Expired(Timestamp),
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckError::Malformed => write!(f, "this is not an acknowledge link"),
            AckError::Forged => write!(f, "this link's signature does not match: it was altered or is not Upkeep's"),
            AckError::Expired(at) => {
                write!(f, "this link expired at {at}; acknowledge on the dashboard or with `upkeep incident ack`")
            }
        }
    }
}

impl AckKey {
    pub fn new(secret: &[u8]) -> AckKey {
        AckKey { secret: secret.to_vec() }
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        mac
    }

    /// `ID-LEVEL-EXPIRES-PERSON-SIGNATURE`, safe in a URL path.
    pub fn sign(&self, t: &AckToken) -> String {
        let fields = fields(t);
        let tag = self.mac(&["ack", &fields[0], &fields[1], &fields[2], &fields[3]]).finalize().into_bytes();
        format!("{}-{}", fields.join("-"), hex::encode(&tag[..TAG]))
    }

    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AckToken, AckError> {
        let parts: Vec<&str> = token.split('-').collect();
        let [id, level, expires, person, tag] = parts[..] else { return Err(AckError::Malformed) };
        let tag = hex::decode(tag).map_err(|_| AckError::Malformed)?;
        if tag.len() != TAG {
            return Err(AckError::Malformed);
        }
        self.mac(&["ack", id, level, expires, person]).verify_truncated_left(&tag).map_err(|_| AckError::Forged)?;
        let parsed = AckToken {
            incident: id.parse().map_err(|_| AckError::Malformed)?,
            level: if level.is_empty() { None } else { Some(level.parse().map_err(|_| AckError::Malformed)?) },
            person: if person.is_empty() {
                None
            } else {
                Some(
                    String::from_utf8(hex::decode(person).map_err(|_| AckError::Malformed)?)
                        .map_err(|_| AckError::Malformed)?,
                )
            },
            expires: expires
                .parse::<i64>()
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok())
                .ok_or(AckError::Malformed)?,
        };
        if now >= parsed.expires {
            return Err(AckError::Expired(parsed.expires));
        }
        Ok(parsed)
    }

    /// The secret in a schedule's calendar feed URL.
    pub fn feed_token(&self, schedule: &str) -> String {
        hex::encode(&self.mac(&["ics", schedule]).finalize().into_bytes()[..TAG])
    }

    /// Whether `token` is `schedule`'s feed token (in constant time).
    pub fn feed_token_matches(&self, schedule: &str, token: &str) -> bool {
        hex::decode(token)
            .is_ok_and(|tag| tag.len() == TAG && self.mac(&["ics", schedule]).verify_truncated_left(&tag).is_ok())
    }
}

fn fields(t: &AckToken) -> [String; 4] {
    [
        t.incident.to_string(),
        t.level.map(|l| l.to_string()).unwrap_or_default(),
        t.expires.as_second().to_string(),
        t.person.as_deref().map(|p| hex::encode(p.as_bytes())).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_token_works_for_its_incident_until_it_expires_and_not_when_altered() {
        let key = AckKey::new(b"secret");
        let t = AckToken {
            incident: 12,
            level: Some(1),
            person: Some("ops-1".into()),
            expires: at("2026-12-02T10:00:00Z"),
        };
        let token = key.sign(&t);
        assert_eq!(key.verify(&token, at("2026-12-01T10:00:00Z")), Ok(t.clone()));
        assert_eq!(key.verify(&token, at("2026-12-02T10:00:00Z")), Err(AckError::Expired(t.expires)));
        // Another incident, another level, a later expiry: each is a forgery.
        for altered in [token.replacen("12-", "13-", 1), token.replacen("-1-", "-2-", 1)] {
            assert_eq!(key.verify(&altered, at("2026-12-01T10:00:00Z")), Err(AckError::Forged), "{altered}");
        }
        let later = token.replace(&t.expires.as_second().to_string(), &(t.expires.as_second() + 86_400).to_string());
        assert_eq!(key.verify(&later, at("2026-12-01T10:00:00Z")), Err(AckError::Forged));
        assert_eq!(AckKey::new(b"other").verify(&token, at("2026-12-01T10:00:00Z")), Err(AckError::Forged));
        assert_eq!(key.verify("12-1-x", at("2026-12-01T10:00:00Z")), Err(AckError::Malformed));
    }

    #[test]
    fn feed_tokens_are_per_schedule() {
        let key = AckKey::new(b"secret");
        let primary = key.feed_token("primary");
        assert!(key.feed_token_matches("primary", &primary));
        assert!(!key.feed_token_matches("secondary", &primary));
        assert!(!key.feed_token_matches("primary", "00"));
    }
}
