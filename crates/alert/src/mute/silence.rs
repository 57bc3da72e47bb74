//! Silences: label matchers, a time range, who set it and why. A silence mutes the
//! notifications of the alerts it matches while it lasts; it never hides their state.

use super::matcher::Matcher;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    #[serde(serialize_with = "as_text", deserialize_with = "from_text")]
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: String,
    pub comment: String,
    pub created_at: Timestamp,
}

impl Silence {
    /// A new silence, checked as Alertmanager checks one: at least one matcher, and one that
    /// does not match every alert (a silence of everything is a mistake, or an outage of
    /// alerting); an end after its start; a comment saying why.
    pub fn new(
        matchers: Vec<Matcher>,
        starts_at: Timestamp,
        ends_at: Timestamp,
        created_by: &str,
        comment: &str,
        now: Timestamp,
    ) -> Result<Silence, String> {
        let empty = crate::Labels::default();
        if matchers.iter().all(|m| m.matches(&empty)) {
            return Err("a silence needs a matcher that names something, e.g. --match alertname=disk_space_low".into());
        }
        if ends_at <= starts_at || ends_at <= now {
            return Err("a silence must end after it starts, and in the future".into());
        }
        if comment.trim().is_empty() {
            return Err("say why: --comment \"deploying the new database\"".into());
        }
        let id = format!("{:016x}", rand::random::<u64>());
        Ok(Silence {
            id,
            matchers,
            starts_at,
            ends_at,
            created_by: created_by.to_string(),
            comment: comment.to_string(),
            created_at: now,
        })
    }

    /// Ends it now; whether that changed anything (an expired silence stays as it was).
    pub fn expire(&mut self, now: Timestamp) -> bool {
        if self.ends_at <= now {
            return false;
        }
        self.ends_at = now.max(self.starts_at);
        true
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// `pending` (starts later), `active` or `expired`.
    pub fn state(&self, now: Timestamp) -> &'static str {
        if now < self.starts_at {
            "pending"
        } else if now < self.ends_at {
            "active"
        } else {
            "expired"
        }
    }

    pub fn matches(&self, labels: &crate::Labels) -> bool {
        super::matcher::all_match(&self.matchers, labels)
    }

    pub fn to_json(&self, now: Timestamp) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        json["state"] = self.state(now).into();
        json
    }
}

fn as_text<S: Serializer>(matchers: &[Matcher], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(matchers.iter().map(Matcher::to_text))
}

fn from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Matcher>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts.iter().map(|t| Matcher::parse(t).map_err(serde::de::Error::custom)).collect()
}
