//! An alert's labels: sorted by name, in one small boxed slice of shared strings. Ten thousand
//! checks give twenty thousand built-in alerts whose labels are nearly all the same words
//! (`alertname`, `check_down`, `severity`, `critical`), so each word is kept once ([`Words`]).

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Box<[(Arc<str>, Arc<str>)]>);

impl Labels {
    /// The labels from (name, value) pairs; of two with one name, the last wins.
    pub fn new(pairs: impl IntoIterator<Item = (Arc<str>, Arc<str>)>) -> Labels {
        let mut pairs: Vec<(Arc<str>, Arc<str>)> = pairs.into_iter().collect();
        pairs.reverse();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| later.0 == kept.0);
        Labels(pairs.into_boxed_slice())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.binary_search_by(|(n, _)| (**n).cmp(name)).ok().map(|i| &*self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (&**n, &**v))
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Labels {
        Labels::new(map.into_iter().map(|(n, v)| (Arc::from(n), Arc::from(v))))
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

/// Words kept once, however many labels use them.
#[derive(Debug, Default)]
pub struct Words(HashSet<Arc<str>>);

impl Words {
    pub fn word(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.0.get(text) {
            return Arc::clone(known);
        }
        let word: Arc<str> = Arc::from(text);
        self.0.insert(Arc::clone(&word));
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_the_last_of_a_name_wins() {
        let w = |s: &str| Arc::<str>::from(s);
        let labels =
            Labels::new([(w("severity"), w("warning")), (w("check"), w("api")), (w("severity"), w("critical"))]);
        assert_eq!(labels.iter().collect::<Vec<_>>(), [("check", "api"), ("severity", "critical")]);
        assert_eq!(labels.get("check"), Some("api"));
        assert_eq!(labels.get("component"), None);
        assert_eq!(serde_json::to_string(&labels).unwrap(), r#"{"check":"api","severity":"critical"}"#);
        let mut words = Words::default();
        assert!(Arc::ptr_eq(&words.word("critical"), &words.word("critical")));
    }
}
