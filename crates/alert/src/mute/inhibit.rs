//! Inhibit rules (`[[inhibit]]`), as Alertmanager's: while an alert matching the source
//! matchers fires, the alerts matching the target matchers with the same values of the `equal`
//! labels are muted (the site is down, so its slow-page warning says nothing new).

use super::matcher::{Matcher, all_match};

#[derive(Clone, Debug)]
pub struct Inhibit {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl Inhibit {
    /// Whether a firing `source` alert mutes `target`.
    pub fn mutes(&self, source: &crate::Labels, target: &crate::Labels) -> bool {
        all_match(&self.source, source)
            && all_match(&self.target, target)
            && self.equal.iter().all(|label| source.get(label) == target.get(label))
    }
}
