//! Escalation policies: levels, each paged at a time after the incident was triggered, until
//! someone acknowledges. After the last level, the last level is paged again every
//! `repeat_every`, up to `repeat` times (004-41: primary at 0, secondary at 15 minutes, the
//! manager at 30, executives at 45).

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    pub levels: Vec<Level>,
    /// How many more times the last level is paged.
    pub repeat: u32,
    /// The gap between those repeats (default: the gap between the last two levels, or 15 min).
    pub repeat_every: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    /// After the incident was triggered.
    pub after: Duration,
    pub notify: Vec<Target>,
}

/// Whom a level pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Whoever is on call in the schedule at the time.
    Schedule(String),
    Person(String),
    Channel(String),
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, String> {
        match text.split_once(':') {
            Some(("schedule", name)) if !name.is_empty() => Ok(Target::Schedule(name.into())),
            Some(("person", name)) if !name.is_empty() => Ok(Target::Person(name.into())),
            Some(("channel", name)) if !name.is_empty() => Ok(Target::Channel(name.into())),
            _ => Err(format!("`{text}` is not a target: write schedule:NAME, person:NAME or channel:NAME")),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Schedule(n) => write!(f, "schedule:{n}"),
            Target::Person(n) => write!(f, "person:{n}"),
            Target::Channel(n) => write!(f, "channel:{n}"),
        }
    }
}

impl Policy {
    /// How many pages it makes in all: each level once, then the repeats of the last.
    pub fn pages(&self) -> u32 {
        self.levels.len() as u32 + if self.levels.is_empty() { 0 } else { self.repeat }
    }

    /// Page `n` (counting from 0): which level, and how long after the trigger it is due.
    pub fn page(&self, n: u32) -> Option<(usize, Duration)> {
        let count = self.levels.len();
        if (n as usize) < count {
            return Some((n as usize, self.levels[n as usize].after));
        }
        let last = self.levels.last()?;
        let repeat = n - count as u32 + 1;
        (repeat <= self.repeat).then(|| (count - 1, last.after + self.repeat_every * repeat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_004() -> Policy {
        let level = |mins: u64, who: &str| Level {
            after: Duration::from_secs(mins * 60),
            notify: vec![Target::parse(who).unwrap()],
        };
        Policy {
            name: "default".into(),
            levels: vec![
                level(0, "schedule:primary"),
                level(15, "schedule:secondary"),
                level(30, "person:ops-lead"),
                level(45, "channel:execs"),
            ],
            repeat: 2,
            repeat_every: Duration::from_secs(15 * 60),
        }
    }

    #[test]
    fn levels_then_repeats_of_the_last() {
        // 004-41: L1 at 0, L2 at 15, L3 at 30, L4 at 45 minutes; then L4 twice more.
        let p = seed_004();
        let mins = |n| p.page(n).map(|(level, at)| (level, at.as_secs() / 60));
        assert_eq!(p.pages(), 6);
        assert_eq!(mins(0), Some((0, 0)));
        assert_eq!(mins(1), Some((1, 15)));
        assert_eq!(mins(3), Some((3, 45)));
        assert_eq!(mins(4), Some((3, 60)));
        assert_eq!(mins(5), Some((3, 75)));
        assert_eq!(mins(6), None);
    }

    #[test]
    fn targets_parse_and_refuse_what_is_not_one() {
        assert_eq!(Target::parse("person:ops-1").unwrap(), Target::Person("ops-1".into()));
        assert_eq!(Target::parse("schedule:primary").unwrap().to_string(), "schedule:primary");
        assert!(Target::parse("primary").unwrap_err().contains("schedule:NAME"));
        assert!(Target::parse("person:").is_err());
    }
}
