//! Backups under faults, by the real binary: killed with `kill -9` half-way (no partial snapshot
//! is listed; the next run and a verify pass, and restic agrees), `pg_dump` failing half-way
//! (no snapshot), and a repository on a full disk (a clear error; the repository stays usable).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn upkeep(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    upkeep_with(config, args, |_| {})
}

fn upkeep_with(config: &Path, args: &[&str], adjust: impl FnOnce(&mut Command)) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upkeep"));
    command.arg("-c").arg(config).args(args);
    adjust(&mut command);
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `len` bytes that do not compress or deduplicate.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("upkeep.toml");
    std::fs::write(&path, format!("[server]\ndata_dir = \"data\"\n\n[repository]\npassword = \"pw\"\n{body}")).unwrap();
    path
}

fn restic_check(repo: &Path) {
    let Ok(out) = Command::new("restic")
        .args(["--no-cache", "check"])
        .arg("--repo")
        .arg(repo)
        .env("RESTIC_PASSWORD", "pw")
        .output()
    else {
        assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "restic is not installed");
        return;
    };
    assert!(
        out.status.success(),
        "restic check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_backup_killed_half_way_leaves_no_snapshot_and_the_next_one_passes() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    for i in 0..8 {
        std::fs::write(media.join(format!("video-{i}.bin")), noise(24 << 20, i + 1)).unwrap();
    }
    let config = config(
        dir.path(),
        &format!("\n[[backup]]\nname = \"media\"\nsource = {{ kind = \"files\", path = \"{}\" }}\n", media.display()),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["backup", "run", "media", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once packs are being written, before the snapshot is.
    let packs = dir.path().join("data/backups/data");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&packs).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.path().is_dir())
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten())
            .count()
    }) == 0
    {
        assert!(Instant::now() < deadline, "no pack was written");
        assert!(child.try_wait().unwrap().is_none(), "the backup ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::KILL).unwrap();
    let _ = child.wait();

    let (code, out, err) = upkeep(&config, &["backup", "list", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(json(&out), serde_json::json!([]), "no partial snapshot is listed");
    let (code, out, err) = upkeep(&config, &["backup", "run", "media", "--json"]);
    assert_eq!(code, Some(0), "the next run passes: {out}{err}");
    assert_eq!(json(&out)[0]["snapshot"]["files"], 8);
    let (code, out, err) = upkeep(&config, &["backup", "verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
    restic_check(&dir.path().join("data/backups"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/backup-scratch")).map_or(0, |d| d.count()),
        0,
        "no scratch left"
    );
}

#[test]
fn pg_dump_failing_half_way_leaves_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    // A pg_dump that writes half a dump, then loses its connection.
    let shims = dir.path().join("bin");
    std::fs::create_dir(&shims).unwrap();
    let shim = shims.join("pg_dump");
    std::fs::write(
        &shim,
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --file=*) f=\"${a#--file=}\";; esac; done\n\
         printf 'PGDMP half a dump' > \"$f\"\necho 'pg_dump: error: connection to server lost' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = config(
        dir.path(),
        "\n[[backup]]\nname = \"pg\"\nsource = { kind = \"postgres\", url = \"postgres://postgres@127.0.0.1:5432/test\" }\n",
    );
    let path = format!("{}:{}", shims.display(), std::env::var("PATH").unwrap_or_default());
    let (code, out, err) = upkeep_with(&config, &["backup", "run", "pg", "--json"], |c| {
        c.env("PATH", &path);
    });
    if err.contains("cannot connect") {
        assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "PostgreSQL is not running");
        return;
    }
    assert_eq!(code, Some(1), "{out}{err}");
    let error = json(&out)[0]["error"].as_str().unwrap().to_string();
    assert_eq!(error, "`pg_dump` exited 1: pg_dump: error: connection to server lost");
    let (_, out, _) = upkeep(&config, &["backup", "list", "--json"]);
    assert_eq!(json(&out), serde_json::json!([]), "the half dump was not saved");
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(at).status();
        ok.is_ok_and(|s| s.success()).then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_repository_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), "4m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    std::fs::write(media.join("small.txt"), "small\n").unwrap();
    let config = config(
        dir.path(),
        &format!(
            "url = \"{}\"\n\n[[backup]]\nname = \"media\"\nsource = {{ kind = \"files\", path = \"{}\" }}\n",
            disk.0.join("repo").display(),
            media.display()
        ),
    );
    let (code, out, err) = upkeep(&config, &["backup", "run", "media"]);
    assert_eq!(code, Some(0), "{out}{err}");
    std::fs::write(media.join("big.bin"), noise(8 << 20, 7)).unwrap();
    let (code, out, err) = upkeep(&config, &["backup", "run", "media", "--json"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let error = json(&out)[0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("no space left"), "{error}");
    assert!(error.contains("upkeep backup prune"), "says what to do: {error}");

    // Space is freed; the repository was not damaged: the next run and a verify pass.
    std::fs::remove_file(media.join("big.bin")).unwrap();
    let (code, out, err) = upkeep(&config, &["backup", "run", "media", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (_, out, _) = upkeep(&config, &["backup", "list", "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 2, "the failed run left no snapshot: {out}");
    let (code, out, err) = upkeep(&config, &["backup", "verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
}
