//! Observations as they are kept: bounded. A failing run's observations are stored, shown by
//! the API and held in the live state, so a 50 MB response body must not become a 50 MB row.
//! Long strings are cut to their start; large JSON documents become the start of their text;
//! what was cut is listed under `_truncated` with its full size and SHA-256, so two runs can
//! still be told apart and a body can be matched against a known one.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The longest string kept whole.
pub const MAX_STRING: usize = 4 << 10;
/// A JSON document longer than this (as text) is kept as the start of its text.
pub const MAX_DOCUMENT: usize = 16 << 10;
/// The most a run's observations take, as JSON text.
pub const MAX_TOTAL: usize = 48 << 10;
/// The longest message kept.
pub const MAX_MESSAGE: usize = 4 << 10;

/// Where a value was cut: its full size in bytes and the SHA-256 of its text.
fn cut_note(text: &str) -> Value {
    json!({"bytes": text.len(), "sha256": hex::encode(Sha256::digest(text.as_bytes()))})
}

/// `text` cut to at most `max` bytes (ellipsis included) at a character boundary, so that
/// bounding what is already bounded changes nothing.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let room = max.saturating_sub('…'.len_utf8());
    let cut = (0..=room).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}…", &text[..cut])
}

/// A message as kept.
pub fn bound_message(message: Option<String>) -> Option<String> {
    message.map(|m| if m.len() > MAX_MESSAGE { shorten(&m, MAX_MESSAGE) } else { m })
}

/// Observations (a JSON object of field → value) as kept: see the module's description.
pub fn bound(observations: Value) -> Value {
    let Value::Object(fields) = observations else { return observations };
    let mut kept = Map::new();
    let mut truncated = Map::new();
    for (name, value) in fields {
        let value = match value {
            Value::String(text) if text.len() > MAX_STRING => {
                truncated.insert(name.clone(), cut_note(&text));
                Value::String(shorten(&text, MAX_STRING))
            }
            Value::Array(_) | Value::Object(_) => {
                let text = value.to_string();
                if text.len() > MAX_DOCUMENT {
                    truncated.insert(name.clone(), cut_note(&text));
                    Value::String(shorten(&text, MAX_STRING))
                } else {
                    value
                }
            }
            other => other,
        };
        kept.insert(name, value);
    }
    // Many fields each under the limits can still add up: drop the largest until it fits.
    let mut sizes: Vec<(String, usize)> = kept.iter().map(|(k, v)| (k.clone(), v.to_string().len())).collect();
    let mut total: usize = sizes.iter().map(|(k, size)| k.len() + size).sum();
    sizes.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    for (largest, size) in sizes {
        if total <= MAX_TOTAL {
            break;
        }
        total -= size;
        if let Some(Value::String(text)) = kept.insert(largest.clone(), Value::Null) {
            truncated.entry(largest).or_insert_with(|| cut_note(&text));
        } else {
            truncated.entry(largest).or_insert_with(|| json!({"dropped": true}));
        }
    }
    if !truncated.is_empty() {
        kept.insert("_truncated".to_string(), Value::Object(truncated));
    }
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_body_is_kept_as_its_start_with_size_and_hash() {
        let body = "x".repeat(50 << 20);
        let kept = bound(json!({"status": 200, "body": body, "json": {"small": true}}));
        assert_eq!(kept["status"], 200);
        assert_eq!(kept["json"], json!({"small": true}));
        assert!(kept["body"].as_str().unwrap().len() <= MAX_STRING);
        assert_eq!(bound(kept.clone()), kept, "bounding twice changes nothing");
        assert_eq!(kept["_truncated"]["body"]["bytes"], 50 << 20);
        assert_eq!(kept["_truncated"]["body"]["sha256"].as_str().unwrap().len(), 64);
        assert!(kept.to_string().len() < MAX_TOTAL);
    }

    #[test]
    fn large_documents_and_many_fields_stay_under_the_total() {
        let items: Vec<u32> = (0..100_000).collect();
        let kept = bound(json!({"json": {"items": items}}));
        assert!(kept["json"].as_str().unwrap().starts_with("{\"items\":[0,1,2"));
        assert!(kept["_truncated"]["json"]["bytes"].as_u64().unwrap() > MAX_DOCUMENT as u64);
        let many: Map<String, Value> = (0..40).map(|i| (format!("f{i}"), Value::String("y".repeat(4000)))).collect();
        let kept = bound(Value::Object(many));
        assert!(kept.to_string().len() <= MAX_TOTAL + (8 << 10), "{}", kept.to_string().len());
        assert!(kept["_truncated"].as_object().is_some_and(|t| !t.is_empty()));
        // Small observations pass through untouched.
        assert_eq!(bound(json!({"a": "b"})), json!({"a": "b"}));
        assert_eq!(shorten("héllo wörld", 6), "hé…");
    }
}
