#!/usr/bin/env bash
# Benchmark: `upkeep backup` against Debian's restic, on the same data, on this machine only.
#
#   UPKEEP=target/release/upkeep bench/backup_vs_restic.sh      # writes bench/results-backup.md
#
# The data, made once under $WORK/data and reused: a 1 GiB directory of mixed files (random
# bytes that neither compresses nor deduplicates, log-like text that compresses, and 20,000
# small files) and a 500 MB SQLite database in WAL mode. A writer inserts rows into the
# database while the first backup and the 1%-changed backup run (the app keeps working).
#
# Each tool gets its own repository. Upkeep backs up both with two [[backup]]s (`files`, and
# `sqlite`, which copies the live database with VACUUM INTO). restic backs up the directory and
# a consistent copy of the database made first with sqlite3 (restic on the live file would copy
# it torn), and that copy's time counts as restic's. The copy is `VACUUM INTO` on a read-only
# connection, as Upkeep's: sqlite3's `.backup` restarts whenever another connection writes, and
# under this writer (a row every 10 ms) it never finished in 3 minutes; and a read-write
# connection checkpoints the database as it closes, which is a change to the files.
#
# Measured in ROUNDS rounds (3), each with fresh repositories, the median reported: the first
# backup; a second with nothing changed since the one before (the writer stopped, and what it
# wrote during the first backup backed up by both, unmeasured); a second after 1% of the directory's
# files are rewritten (writer running); a restore of the directory's newest snapshot into an
# empty directory; the repository's size on disk; each step's wall time and peak RSS (GNU time).
# Dirty pages are written out (`sync`) before each step, so no step pays for the one before.
# Within a round Upkeep goes first on odd rounds and restic on even ones. Targets (issue 15):
# first backup at most 1.0x restic's time, the unchanged second at most 0.5x, the repository at
# most 1.0x the size.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
ROOT=$(cd "$BENCH_DIR/.." && pwd)

UPKEEP=${UPKEEP:-$ROOT/target/release/upkeep}
WORK=${WORK:-/tmp/upkeep-bench-backup}
RESULTS_MD=${RESULTS_MD:-$BENCH_DIR/results-backup.md}
ROUNDS=${ROUNDS:-3}
export RESTIC_PASSWORD=bench

[[ -x $UPKEEP ]] || die "no upkeep binary at $UPKEEP (cargo build --release -p upkeep)"
command -v restic >/dev/null || die "restic is not installed (apt-get install restic)"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"
[[ -x /usr/bin/time ]] || die "GNU time is not installed (apt-get install time)"

WRITER_PID=
cleanup() { [[ -n $WRITER_PID ]] && kill "$WRITER_PID" 2>/dev/null || true; }
trap cleanup EXIT

make_data() {
  [[ -f $WORK/data/.complete ]] && return
  log "making the data set in $WORK/data (once)"
  rm -rf "$WORK/data" && mkdir -p "$WORK/data/files"
  python3 - "$WORK/data" <<'PY'
import os, random, sqlite3, sys
root = sys.argv[1]
files = os.path.join(root, "files")
rnd = random.Random(15)
# 420 MB of random bytes: photos, archives.
os.makedirs(f"{files}/media", exist_ok=True)
for i in range(300):
    with open(f"{files}/media/blob-{i:03}.bin", "wb") as f:
        f.write(os.urandom(1_400_000))
# 400 MB of log-like text: compresses.
os.makedirs(f"{files}/logs", exist_ok=True)
words = ["GET", "POST", "/api/orders", "/login", "200", "302", "500", "user", "session", "cache", "hit", "miss"]
for i in range(200):
    lines = []
    size = 0
    while size < 2_000_000:
        line = f"[2026-11-{rnd.randint(1, 30):02} {rnd.randint(0, 23):02}:{rnd.randint(0, 59):02}] production.INFO: " \
               + " ".join(rnd.choice(words) for _ in range(8)) + f" id={rnd.randint(1, 10**9)}\n"
        lines.append(line)
        size += len(line)
    with open(f"{files}/logs/app-{i:03}.log", "w") as f:
        f.writelines(lines)
# 200 MB in 20,000 small files: uploads, sessions.
for d in range(100):
    os.makedirs(f"{files}/uploads/{d:02}", exist_ok=True)
    for i in range(200):
        with open(f"{files}/uploads/{d:02}/file-{i:03}.dat", "wb") as f:
            f.write(os.urandom(rnd.randint(2_000, 18_000)))
# A 500 MB SQLite database in WAL mode.
db = sqlite3.connect(os.path.join(root, "app.sqlite"))
db.execute("PRAGMA journal_mode = WAL")
db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, payload TEXT)")
batch = []
for i in range(2_100_000):
    batch.append((f"2026-11-{i % 30 + 1:02}", os.urandom(100).hex() + " " + rnd.choice(words) * 4))
    if len(batch) == 50_000:
        db.executemany("INSERT INTO events (at, payload) VALUES (?, ?)", batch)
        db.commit()
        batch = []
db.executemany("INSERT INTO events (at, payload) VALUES (?, ?)", batch)
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
PY
  touch "$WORK/data/.complete"
}

start_writer() {
  python3 - "$WORK/data/app.sqlite" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("PRAGMA journal_mode = WAL")
while True:
    db.execute("INSERT INTO events (at, payload) VALUES ('2026-12-03', ?)", (os.urandom(100).hex(),))
    db.commit()
    time.sleep(0.01)
PY
  WRITER_PID=$!
}

stop_writer() { kill "$WRITER_PID" 2>/dev/null || true; wait "$WRITER_PID" 2>/dev/null || true; WRITER_PID=; }

# `measure NAME CMD...`: runs CMD under GNU time; appends "NAME wall_s rss_kb" to $WORK/times.
measure() {
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/time.out" "$@" >"$WORK/$name.log" 2>&1 || { cat "$WORK/$name.log" >&2; die "$name failed"; }
  echo "$name $(cat "$WORK/time.out")" >>"$WORK/times"
  log "$name: $(cat "$WORK/time.out") (s, peak kB)"
}

restic_backup() {
  rm -rf "$WORK/restic-stage" && mkdir -p "$WORK/restic-stage"
  sqlite3 -readonly "$WORK/data/app.sqlite" "VACUUM INTO '$WORK/restic-stage/app.sqlite'"
  restic -r "$WORK/restic-repo" --quiet backup "$WORK/data/files" "$WORK/restic-stage/app.sqlite"
}
export -f restic_backup
export WORK

# Each tool's step, `NAME_upkeep` and `NAME_restic`, in the round's order.
step() {
  local name=$1
  if (( ROUND % 2 )); then
    measure "${name}_upkeep" "$UPKEEP" -c "$WORK/upkeep.toml" backup run --json
    measure "${name}_restic" bash -c restic_backup
  else
    measure "${name}_restic" bash -c restic_backup
    measure "${name}_upkeep" "$UPKEEP" -c "$WORK/upkeep.toml" backup run --json
  fi
}

change_one_percent() {
  python3 - "$WORK/data/files" <<'PY'
import os, random, sys
rnd = random.Random(1)
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs)
for p in rnd.sample(paths, len(paths) // 100):
    with open(p, "r+b") as f:
        f.seek(0)
        f.write(os.urandom(min(4096, os.path.getsize(p))))
PY
}

make_data
rm -f "$WORK/times" "$WORK/sizes"
data_size=$(du -sb "$WORK/data/files" | cut -f1)
db_size=$(stat -c %s "$WORK/data/app.sqlite")
log "data: $(calc "$data_size / 1048576" 0) MiB of files, a $(calc "$db_size / 1048576" 0) MiB SQLite database; $ROUNDS rounds"
for ROUND in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/upkeep-data" "$WORK/upkeep-repo" "$WORK/restic-repo" "$WORK/restore-"*
  {
    printf '[server]\ndata_dir = "%s/upkeep-data"\n\n[repository]\nurl = "%s/upkeep-repo"\npassword = "bench"\n\n' "$WORK" "$WORK"
    printf '[[backup]]\nname = "files"\nsource = { kind = "files", path = "%s/data/files" }\n\n' "$WORK"
    printf '[[backup]]\nname = "db"\nsource = { kind = "sqlite", path = "%s/data/app.sqlite" }\n' "$WORK"
  } >"$WORK/upkeep.toml"
  restic -r "$WORK/restic-repo" --quiet init >/dev/null
  log "round $ROUND"
  start_writer
  step first
  stop_writer
  # The writer wrote during the first backup, after each tool's copy began: both back that up
  # (unmeasured), so that the next step really has nothing new to back up.
  "$UPKEEP" -c "$WORK/upkeep.toml" backup run --json >/dev/null
  restic_backup
  step unchanged
  change_one_percent; start_writer
  step changed
  stop_writer
  id=$("$UPKEEP" -c "$WORK/upkeep.toml" backup list --backup files --json | python3 -c "import json,sys; print(json.load(sys.stdin)[-1]['id'])")
  measure restore_upkeep "$UPKEEP" -c "$WORK/upkeep.toml" backup restore "$id" --to "$WORK/restore-upkeep"
  measure restore_restic restic -r "$WORK/restic-repo" --quiet restore latest --target "$WORK/restore-restic" --include "$WORK/data/files"
  cmp -s "$WORK/restore-upkeep/logs/app-000.log" "$WORK/data/files/logs/app-000.log" || die "upkeep's restore differs"
  echo "repo_upkeep $(du -sb "$WORK/upkeep-repo" | cut -f1)" >>"$WORK/sizes"
  echo "repo_restic $(du -sb "$WORK/restic-repo" | cut -f1)" >>"$WORK/sizes"
done
upkeep_repo=$(awk '$1 == "repo_upkeep" {print $2}' "$WORK/sizes" | median)
restic_repo=$(awk '$1 == "repo_restic" {print $2}' "$WORK/sizes" | median)

value() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$WORK/times" | median; }
row() {
  local name=$1 label=$2 target=$3
  local u r
  u=$(value "${name}_upkeep" 2) r=$(value "${name}_restic" 2)
  printf '| %s | %s s | %s s | %s | %s | %s MB | %s MB |\n' "$label" "$u" "$r" "$(ratio "$u" "$r")" "$target" \
    "$(calc "$(value "${name}_upkeep" 3) / 1024" 0)" "$(calc "$(value "${name}_restic" 3) / 1024" 0)"
}
{
  echo "## Backups against restic ($(date -u +%Y-%m-%d), $(nproc) cores, restic $(restic version | awk '{print $2}'), median of $ROUNDS rounds)"
  echo
  echo "$(calc "$data_size / 1048576" 0) MiB of files (random, log text, 20,000 small files) and a $(calc "$db_size / 1048576" 0) MiB SQLite database in WAL mode under a writer; each tool its own local repository. restic's time includes the consistent copy of the live database it needs first (sqlite3 \`VACUUM INTO\`)."
  echo
  echo "| step | upkeep | restic | upkeep / restic | target | upkeep peak RSS | restic peak RSS |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  row first "first backup" "≤ 1.0×"
  row unchanged "second, nothing changed" "≤ 0.5×"
  row changed "second, 1% of files changed" "—"
  row restore "restore the directory" "—"
  echo "| repository size | $(calc "$upkeep_repo / 1048576" 0) MiB | $(calc "$restic_repo / 1048576" 0) MiB | $(ratio "$upkeep_repo" "$restic_repo") | ≤ 1.0× | | |"
} >"$RESULTS_MD"
log "wrote $RESULTS_MD"
cat "$RESULTS_MD"
