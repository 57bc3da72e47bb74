//! The file kinds: log rotation that loses no line whichever way the app writes (002-30,
//! 002-31), clean-up of old files by pattern (002-23, 002-58), and any command.

mod support;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};
use support::*;

const LINES: usize = 20_000;

/// Starts a Python writer of `LINES` numbered lines into `path`: `reopen` opens, appends and
/// closes for every line (PHP under FPM); otherwise it keeps one handle and `flock`s around
/// each write (Monolog's `useLocking`).
fn writer(path: &Path, reopen: bool) -> std::process::Child {
    let script = if reopen {
        format!(
            "import sys\nfor i in range({LINES}):\n    with open(sys.argv[1], 'a') as f:\n        f.write('line %d\\n' % i)\n"
        )
    } else {
        format!(
            "import sys, fcntl\nf = open(sys.argv[1], 'a')\nfor i in range({LINES}):\n    fcntl.flock(f, fcntl.LOCK_EX)\n    f.write('line %d\\n' % i)\n    f.flush()\n    fcntl.flock(f, fcntl.LOCK_UN)\n"
        )
    };
    std::process::Command::new("python3").arg("-c").arg(script).arg(path).spawn().expect("python3")
}

/// Every line in the live file and all its rotated copies, in order of their numbers.
fn every_line(path: &Path) -> Vec<usize> {
    let dir = path.parent().unwrap();
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let mut text = String::new();
        let file = std::fs::File::open(entry.path()).unwrap();
        if entry.path().extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
        } else {
            std::io::BufReader::new(file).read_to_string(&mut text).unwrap();
        }
        lines.extend(text.lines().map(|l| l.strip_prefix("line ").unwrap().parse::<usize>().unwrap()));
    }
    lines.sort_unstable();
    lines
}

async fn rotate_while_writing(reopen: bool) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let copy_truncate = !reopen;
    let task = task(&format!(
        "[[task]]\nname = \"logs\"\nkind = \"log-rotate\"\npath = \"{}\"\nrotate = 1000\ncopy_truncate = {copy_truncate}\nschedule = \"0 0 * * *\"\n",
        log.display()
    ));
    let mut child = writer(&log, reopen);
    let mut rotations = 0;
    while child.try_wait().unwrap().is_none() {
        let outcome = run(&task).await;
        if outcome.changes["bytes_rotated"] > 0.0 {
            rotations += 1;
        }
        tokio::task::yield_now().await;
    }
    assert!(child.wait().unwrap().success());
    // A last run compresses what was still held open.
    run(&task).await;
    assert!(rotations >= 3, "rotated {rotations} times while the writer wrote");
    assert_eq!(every_line(&log), (0..LINES).collect::<Vec<_>>(), "every line, once");
    let gz = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "gz"))
        .count();
    assert!(gz >= 3, "rotated copies are compressed ({gz})");
}

#[tokio::test]
async fn rotation_loses_no_line_of_a_writer_that_reopens_the_file() {
    rotate_while_writing(true).await;
}

#[tokio::test]
async fn copy_truncate_loses_no_line_of_a_writer_that_locks_the_file() {
    rotate_while_writing(false).await;
}

#[tokio::test]
async fn rotation_keeps_the_newest_copies_and_skips_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    let task = task(&format!(
        "[[task]]\nname = \"php-errors\"\nkind = \"log-rotate\"\npath = \"{}\"\nrotate = 3\nschedule = \"0 0 * * *\"\n",
        log.display()
    ));
    // missingok: a log not written yet is not an error.
    assert!(run(&task).await.summary.contains("does not exist"));
    for day in 1..=5 {
        std::fs::write(&log, format!("day {day}\n")).unwrap();
        run(&task).await;
    }
    // notifempty: the empty live file is left alone.
    assert!(run(&task).await.summary.contains("is empty; not rotated"));
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["error.log", "error.log.1.gz", "error.log.2.gz", "error.log.3.gz"]);
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.path().join("error.log.1.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "day 5\n", ".1 is the newest");
}

#[tokio::test]
async fn cleanup_deletes_old_files_matching_the_pattern_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let make = |name: &str, age_days: u64| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![b'x'; 1000]).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(now - Duration::from_secs(age_days * 86_400)).unwrap();
    };
    make("sess_old", 10);
    make("sess_new", 1);
    make("keep.txt", 30);
    make("nested/sess_deep", 10);
    let task = task(&format!(
        "[[task]]\nname = \"sessions\"\nkind = \"cleanup\"\npath = \"{}\"\npattern = \"sess_*\"\nolder_than = \"7d\"\nrecursive = true\nschedule = \"0 1 * * *\"\n",
        dir.path().display()
    ));
    let dry = run_at(&task, jiff::Timestamp::now(), true).await;
    assert_eq!(dry.changes["files_matching"], 2.0);
    assert!(dir.path().join("sess_old").exists(), "a dry run deletes nothing");
    let outcome = run(&task).await;
    assert_eq!(outcome.changes["files_deleted"], 2.0);
    assert_eq!(outcome.changes["bytes_freed"], 2000.0);
    assert!(!dir.path().join("sess_old").exists() && !dir.path().join("nested/sess_deep").exists());
    assert!(dir.path().join("sess_new").exists() && dir.path().join("keep.txt").exists());
}

#[tokio::test]
async fn a_command_that_fails_keeps_its_exit_code_and_output() {
    let task = task(
        "[[task]]\nname = \"queue\"\nkind = \"command\"\ncommand = \"echo restarting; echo broken >&2; exit 3\"\nschedule = \"0 * * * *\"\n",
    );
    let failure = task.run(upkeep_maintain::Run { dry_run: false, now: jiff::Timestamp::now() }).await.unwrap_err();
    assert_eq!(failure.message, "`echo restarting; echo broken >&2; exit 3` exited 3");
    assert_eq!(failure.output, "restarting\nbroken\n");
    let dry = run_at(&task, jiff::Timestamp::now(), true).await;
    assert_eq!(dry.summary, "would run `echo restarting; echo broken >&2; exit 3`");
}

#[test]
fn task_config_errors_name_the_place_and_the_fix() {
    let errors = errors(
        "[[task]]\nname = \"x\"\nkind = \"log-rotat\"\nschedule = \"0 0 * * *\"\n\n[[task]]\nname = \"y\"\nkind = \"cleanup\"\npath = \"/tmp\"\nolder_than = \"7d\"\nschedule = \"0 0 30 2 *\"\n",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("3:8: unknown task kind `log-rotat`") && e.contains("did you mean `log-rotate`?")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("11:12: `schedule`: `0 0 30 2 *` never fires")), "{errors:?}");
}
