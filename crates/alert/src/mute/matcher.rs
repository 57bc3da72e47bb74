//! Label matchers, as Alertmanager writes them: `severity=critical`, `check!=db`,
//! `alertname=~"disk_.*"`, `component!~"API|Web"`. Regular expressions are anchored (they match
//! the whole value), and a label an alert does not have matches as the empty string.

use crate::Labels;
use regex::Regex;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.symbol(), self.value)
    }
}

impl Matcher {
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{name}` is not a label name (letters, digits and `_`)"));
        }
        let regex = match op {
            Op::Re | Op::NotRe => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("`{value}` is not a regular expression: {e}"))?,
            ),
            _ => None,
        };
        Ok(Matcher { name: name.to_string(), op, value: value.to_string(), regex })
    }

    /// Parses `name=value`, `name!=value`, `name=~regex` or `name!~regex`; the value may be
    /// quoted.
    pub fn parse(text: &str) -> Result<Matcher, String> {
        let text = text.trim();
        let at = text.find(['=', '!']).ok_or_else(|| {
            format!("`{text}` is not a matcher: write label=value, label!=value, label=~regex or label!~regex")
        })?;
        let (name, rest) = text.split_at(at);
        let (op, value) = [("!~", Op::NotRe), ("=~", Op::Re), ("!=", Op::Ne), ("=", Op::Eq)]
            .into_iter()
            .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|v| (op, v)))
            .ok_or_else(|| format!("`{text}` is not a matcher: after the label comes =, !=, =~ or !~"))?;
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        Matcher::new(name.trim(), op, value)
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).unwrap_or("");
        match (self.op, &self.regex) {
            (Op::Eq, _) => value == self.value,
            (Op::Ne, _) => value != self.value,
            (Op::Re, Some(re)) => re.is_match(value),
            (Op::NotRe, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    /// The matcher as `upkeep silence add --match` takes it.
    pub fn to_text(&self) -> String {
        format!("{}{}{}", self.name, self.op.symbol(), self.value)
    }
}

/// Whether every matcher matches.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> crate::Labels {
        std::collections::BTreeMap::from([
            ("alertname".to_string(), "disk_space_low".to_string()),
            ("severity".to_string(), "warning".to_string()),
        ])
        .into()
    }

    #[test]
    fn parses_and_matches_like_alertmanager() {
        let cases = [
            ("severity=warning", true),
            ("severity!=warning", false),
            ("alertname=~\"disk_.*\"", true),
            ("alertname=~disk", false),
            ("alertname!~\"api.*\"", true),
            ("check=", true),
            ("check!=\"\"", false),
        ];
        for (text, expected) in cases {
            let m = Matcher::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(m.matches(&labels()), expected, "{text}");
        }
        assert!(Matcher::parse("severity").unwrap_err().contains("is not a matcher"));
        assert!(Matcher::parse("a=~(").unwrap_err().contains("is not a regular expression"));
        assert!(Matcher::parse("se verity=x").unwrap_err().contains("is not a label name"));
        assert_eq!(Matcher::parse("check = \"db\"").unwrap().to_text(), "check=db");
    }
}
