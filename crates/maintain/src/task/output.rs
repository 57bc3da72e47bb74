//! The tail of what a run printed or found, kept for its history: the end of the output is
//! where the error is, and a task that prints megabytes must not fill the store.

/// Lines kept, newest last, at most [`Output::LIMIT`] bytes.
#[derive(Debug, Default)]
pub struct Output {
    text: String,
    cut: bool,
}

impl Output {
    pub const LIMIT: usize = 8 * 1024;

    pub fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
        self.trim();
    }

    pub fn text(&mut self, text: &str) {
        self.text.push_str(text);
        self.trim();
    }

    fn trim(&mut self) {
        if self.text.len() <= Self::LIMIT {
            return;
        }
        let mut start = self.text.len() - Self::LIMIT;
        while !self.text.is_char_boundary(start) {
            start += 1;
        }
        // Start at a line, unless one line is longer than the whole limit.
        if let Some(newline) = self.text[start..].find('\n')
            && newline + 1 < self.text.len() - start
        {
            start += newline + 1;
        }
        self.text.drain(..start);
        self.cut = true;
    }

    pub fn into_string(self) -> String {
        if self.cut { format!("[… earlier output cut]\n{}", self.text) } else { self.text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_end_at_a_line_start() {
        let mut out = Output::default();
        for i in 0..5000 {
            out.line(format!("line {i}"));
        }
        let text = out.into_string();
        assert!(text.starts_with("[… earlier output cut]\nline "), "{}", &text[..40]);
        assert!(text.ends_with("line 4999\n"));
        assert!(text.len() <= Output::LIMIT + 30);
    }
}
