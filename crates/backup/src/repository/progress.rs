//! How the repository's long operations (reading the index, backing up, restoring, reading
//! blobs back, pruning) show their progress: bars on a terminal (`indicatif`), plain lines on
//! stderr otherwise, nothing in the daemon or under `--json`. The CLI chooses once, at start.

use rustic_core::{Progress, ProgressBars, ProgressType, RusticProgress};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// Nothing: the daemon, `--json`.
    Hidden,
    /// Bars, for a person at a terminal.
    Bars,
    /// A line when each step starts and ends, for logs.
    Lines,
}

static SHOW: AtomicU8 = AtomicU8::new(0);

/// Every bar shown, so that two backups running at once draw theirs one under the other.
static BARS: std::sync::LazyLock<indicatif::MultiProgress> = std::sync::LazyLock::new(indicatif::MultiProgress::new);

/// Chooses how this process shows progress (hidden until asked).
pub fn show_progress(show: Show) {
    SHOW.store(show as u8, Ordering::Relaxed);
}

fn shown() -> Show {
    match SHOW.load(Ordering::Relaxed) {
        1 => Show::Bars,
        2 => Show::Lines,
        _ => Show::Hidden,
    }
}

/// The progress bars rustic is given.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bars;

impl ProgressBars for Bars {
    fn progress(&self, kind: ProgressType, prefix: &str) -> Progress {
        match shown() {
            Show::Hidden => Progress::hidden(),
            Show::Bars => Progress::new(Bar::start(kind, prefix)),
            Show::Lines => Progress::new(Line::start(kind, prefix)),
        }
    }
}

#[derive(Debug)]
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn start(kind: ProgressType, prefix: &str) -> Bar {
        let style = match kind {
            ProgressType::Spinner => "{spinner} {prefix} {msg} [{elapsed}]",
            ProgressType::Counter => "{prefix} [{bar:30}] {pos}/{len} {msg} [{elapsed}]",
            ProgressType::Bytes => "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg} eta {eta}",
        };
        let bar = BARS.add(indicatif::ProgressBar::new(0).with_prefix(prefix.to_string()));
        bar.set_style(
            indicatif::ProgressStyle::with_template(style)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }
}

impl RusticProgress for Bar {
    fn is_hidden(&self) -> bool {
        false
    }
    fn set_length(&self, len: u64) {
        self.0.set_length(len);
    }
    fn set_title(&self, title: &str) {
        self.0.set_prefix(title.to_string());
    }
    fn inc(&self, inc: u64) {
        self.0.inc(inc);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// `reading index...` when it starts, `reading index: done in 1.2s (12.4 MB)` when it ends.
#[derive(Debug)]
struct Line {
    prefix: std::sync::Mutex<String>,
    kind: ProgressType,
    done: std::sync::atomic::AtomicU64,
    started: Instant,
}

impl Line {
    fn start(kind: ProgressType, prefix: &str) -> Line {
        let prefix = prefix.trim_end_matches('.');
        eprintln!("{prefix}...");
        Line { prefix: std::sync::Mutex::new(prefix.to_string()), kind, done: 0.into(), started: Instant::now() }
    }
}

impl RusticProgress for Line {
    fn is_hidden(&self) -> bool {
        false
    }
    fn set_length(&self, _len: u64) {}
    fn set_title(&self, title: &str) {
        *self.prefix.lock().unwrap_or_else(|e| e.into_inner()) = title.trim_end_matches('.').to_string();
    }
    fn inc(&self, inc: u64) {
        self.done.fetch_add(inc, Ordering::Relaxed);
    }
    fn finish(&self) {
        let done = self.done.load(Ordering::Relaxed);
        let what = match self.kind {
            ProgressType::Spinner => String::new(),
            ProgressType::Counter => format!(" ({done})"),
            ProgressType::Bytes => format!(" ({})", crate::bytes(done)),
        };
        let prefix = self.prefix.lock().unwrap_or_else(|e| e.into_inner()).clone();
        eprintln!("{prefix}: done in {:.1}s{what}", self.started.elapsed().as_secs_f64());
    }
}
