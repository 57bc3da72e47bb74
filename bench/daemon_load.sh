#!/usr/bin/env bash
# Benchmark: `upkeep serve` under load, on this machine only.
#
#   bench/daemon_load.sh                  # build release, 10,000 http checks every 10 s for 300 s
#   SKIP_BUILD=1 DURATION=120 bench/daemon_load.sh
#   PERF_SECONDS=30 bench/daemon_load.sh  # afterwards, a perf profile of the still-running daemon
#
# What it measures
#   The daemon watches N_CHECKS http checks (`every` EVERY, concurrency CONCURRENCY, [retention]
#   raw = "7d") against a static /health on a local nginx, for DURATION seconds. Over the steady
#   window (from WARMUP seconds after the "listening" line to DURATION) it reports:
#     - CPU of the upkeep process (utime+stime, /proc/PID/stat) / wall: target <= TARGET_CPU cores;
#       also the busiest SAMPLE-second interval, nginx's CPU and the rest of the machine's.
#     - peak and final RSS (VmHWM, VmRSS from /proc/PID/status): target <= TARGET_RSS_MB.
#     - scheduling lag p50/p99 from the upkeep_scheduler_lag_seconds histogram in /metrics (two
#       scrapes, bucket counts subtracted, interpolated within a bucket): target p99 < TARGET_LAG_MS.
#     - results written per second (upkeep_store_results_written_total), nginx's request rate and
#       new connections per second (stub_status).
#     - the store's growth: upkeep.db + upkeep.db-wal at the start and end of the window -> bytes per
#       result -> bytes per check per day at EVERY and at 60 s; and, after shutdown, a per-table
#       breakdown (sqlite3 dbstat) for the same extrapolation from table sizes.
#     - whether every check was ok (upkeep_check_up, and the results in the store).
#   With PERF_SECONDS > 0, `perf record` samples the daemon for that long after the window (so the
#   profiler's own cost is not in the figures) and the top symbols go into the report.
#
# Everything listens on and targets 127.0.0.1 only; every loop is bounded and the script cleans
# up after itself (trap). Tunables: environment variables below. The report replaces the
# `daemon_load` section of RESULTS_MD (other sections are kept).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
ROOT=$(cd "$BENCH_DIR/.." && pwd)

N_CHECKS=${N_CHECKS:-10000}
EVERY=${EVERY:-10}                  # seconds between runs of each check
CHECK_TIMEOUT=${CHECK_TIMEOUT:-5}   # seconds
CONCURRENCY=${CONCURRENCY:-256}
DURATION=${DURATION:-300}           # seconds from the daemon's "listening" line to the end of the window
WARMUP=${WARMUP:-30}                # seconds excluded at the start
SAMPLE=${SAMPLE:-5}                 # seconds between CPU/RSS samples inside the window
PERF_SECONDS=${PERF_SECONDS:-0}     # perf record after the window; 0 = no profile
PERF_FREQ=${PERF_FREQ:-199}         # samples per second
PERF_CALLGRAPH=${PERF_CALLGRAPH:-dwarf,16384}   # Rust code has no frame pointers: unwind with DWARF
NGINX_PORT=${NGINX_PORT:-18080}
UPKEEP_PORT=${UPKEEP_PORT:-18090}
TARGET_CPU=${TARGET_CPU:-1.0}       # cores
TARGET_RSS_MB=${TARGET_RSS_MB:-200}
TARGET_LAG_MS=${TARGET_LAG_MS:-250}
UPKEEP=${UPKEEP:-$ROOT/target/release/upkeep}
SKIP_BUILD=${SKIP_BUILD:-0}
RESULTS_MD=${RESULTS_MD:-$BENCH_DIR/results-daemon.md}
KEEP_TMP=${KEEP_TMP:-0}


[[ $N_CHECKS =~ ^[0-9]+$ && $N_CHECKS -ge 1 ]] || die "N_CHECKS must be a positive integer"
[[ $DURATION =~ ^[0-9]+$ && $WARMUP =~ ^[0-9]+$ && $SAMPLE =~ ^[0-9]+$ && $SAMPLE -ge 1 ]] || die "DURATION, WARMUP, SAMPLE must be integers"
(( DURATION > WARMUP + SAMPLE )) || die "DURATION ($DURATION) must exceed WARMUP + SAMPLE ($WARMUP + $SAMPLE)"
[[ $PERF_SECONDS =~ ^[0-9]+$ ]] || die "PERF_SECONDS must be an integer"

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/upkeep-daemon-load.XXXXXX)
NGINX_PID="" UPKEEP_PID="" PERF_PID="" POLICY_RC_ADDED=0
stop_pid() { # PID SIGNAL SECONDS: signal, wait up to SECONDS, then SIGKILL
    local pid=$1 sig=$2 secs=$3
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null
    for _ in $(seq $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() {
    local rc=$?
    set +e
    stop_pid "$PERF_PID" INT 10
    stop_pid "$UPKEEP_PID" TERM 60
    stop_pid "$NGINX_PID" QUIT 5
    [[ $POLICY_RC_ADDED == 1 ]] && rm -f /usr/sbin/policy-rc.d
    if [[ $KEEP_TMP == 1 || $rc -ne 0 ]]; then
        log "kept work files in $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools
# command -> Debian package
declare -A PKG=(
    [nginx]=nginx [curl]=curl [ss]=iproute2 [awk]=gawk [sqlite3]=sqlite3
)
(( PERF_SECONDS > 0 )) && PKG[perf]=linux-perf
missing=()
for cmd in "${!PKG[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
command -v cargo >/dev/null || [[ $SKIP_BUILD == 1 ]] || die "cargo is not on PATH"
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}); run as root or install them"
    log "installing Debian packages: ${missing[*]}"
    # Keep apt from starting the packages' own services (nginx on :80).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        POLICY_RC_ADDED=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$TMP/apt.log" 2>&1; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update -q >>"$TMP/apt.log" 2>&1 || true
        apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$TMP/apt.log" 2>&1 \
            || { tail -20 "$TMP/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
    fi
    if [[ $POLICY_RC_ADDED == 1 ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_ADDED=0; fi
fi
NGINX=$(command -v nginx)
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- build
if [[ $SKIP_BUILD != 1 ]]; then
    log "cargo build --release -p upkeep (nice 10; several minutes when cold)"
    for attempt in 1 2 3; do
        if (cd "$ROOT" && nice -n 10 cargo build --release -p upkeep) >"$TMP/build.log" 2>&1; then
            break
        fi
        if [[ $attempt == 3 ]]; then
            tail -30 "$TMP/build.log" >&2
            die "release build failed three times"
        fi
        log "release build failed (attempt $attempt; someone may be mid-edit); retrying in 60 s"
        tail -5 "$TMP/build.log" >&2
        sleep 60
    done
fi
[[ -x $UPKEEP ]] || die "no upkeep binary at $UPKEEP"

# ---------------------------------------------------------------- helpers
wait_http() { # URL: up to 10 s
    for _ in $(seq 100); do
        curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# utime+stime of a process, in clock ticks.
user_sys_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }   # PID FIELD (VmRSS, VmHWM, Threads)
machine_ticks() { awk '/^cpu / {busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6}' /proc/stat; }  # busy total
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1048576}'; }   # bytes -> "12.3 MB" (MiB)
now() { echo "$EPOCHREALTIME"; }
sleep_until() { # EPOCH: sleep until then (bounded: at most DURATION + 60 s)
    local left
    left=$(awk -v t="$1" -v n="$EPOCHREALTIME" -v cap="$((DURATION + 60))" 'BEGIN {d = t - n; if (d > cap) d = cap; printf "%.3f", (d > 0 ? d : 0)}')
    sleep "$left"
}
scrape() { curl -fsS --max-time 10 -o "$2" "http://127.0.0.1:$UPKEEP_PORT/metrics" || die "cannot scrape /metrics ($1)"; }
metric() { awk -v m="$1" '$1 == m {print $2; found = 1} END {if (!found) print 0}' "$2"; }
# Cumulative bucket counts of the lag histogram: "le count" lines, in exposition order.
lag_buckets() {
    awk '/^upkeep_scheduler_lag_seconds_bucket\{/ {
        match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $NF
    }' "$1"
}
# hist_quantile Q START_FILE END_FILE: the Q quantile (seconds) of the observations between two
# scrapes, linear within its bucket as Prometheus' histogram_quantile does; ">LAST" beyond the
# last finite bound; "nan" without observations.
hist_quantile() {
    awk -v q="$1" 'NR == FNR {start[$1] = $2; next}
        {le[n] = $1; c[n] = $2 - start[$1]; n++}
        END {
            total = c[n - 1]
            if (total <= 0) {print "nan"; exit}
            rank = q * total; lo = 0; below = 0
            for (i = 0; i < n; i++) {
                if (c[i] >= rank) {
                    if (le[i] == "+Inf") {printf ">%s\n", le[i - 1]; exit}
                    printf "%.6f\n", lo + (le[i] - lo) * (c[i] > below ? (rank - below) / (c[i] - below) : 1)
                    exit
                }
                lo = le[i]; below = c[i]
            }
        }' <(lag_buckets "$2") <(lag_buckets "$3")
}
# Share of observations between two scrapes above bound LE (which must be a bucket bound).
hist_above() {
    awk -v b="$1" 'NR == FNR {start[$1] = $2; next}
        {c[$1] = $2 - start[$1]; last = $1}
        END {total = c[last]; if (total <= 0) print "nan"; else printf "%.5f\n", 1 - c[b] / total}' \
        <(lag_buckets "$2") <(lag_buckets "$3")
}
ms_of() { [[ $1 == nan || $1 == \>* ]] && echo "$1" || calc "$1 * 1000" 1; }
nginx_status() { # "accepts handled requests"
    curl -fsS --max-time 5 "http://127.0.0.1:$NGINX_PORT/nginx_status" | awk 'NR == 3 {print $1, $2, $3}'
}
store_bytes() { # upkeep.db + -wal
    local total=0 f
    for f in "$DATA_DIR/upkeep.db" "$DATA_DIR/upkeep.db-wal"; do
        [[ -e $f ]] && total=$((total + $(stat -c %s "$f")))
    done
    echo "$total"
}
# Bytes in use in the store as SQLite sees it (main file plus frames still in the WAL):
# (page_count - freelist_count) * page_size, read through a read-only connection.
live_bytes() {
    sqlite3 -readonly -batch -noheader "$DATA_DIR/upkeep.db" \
        "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())" \
        2>/dev/null | awk -F'|' '{print $1 * $2}' || echo 0
}
# Replaces the section between <!-- NAME:begin --> and <!-- NAME:end --> in FILE with FILE2,
# or appends it; the rest of FILE is kept.
write_section() {
    local name=$1 file=$2 body=$3
    local begin="<!-- $name:begin -->" end="<!-- $name:end -->"
    if [[ -f $file ]] && grep -qxF "$begin" "$file" && grep -qxF "$end" "$file"; then
        awk -v b="$begin" -v e="$end" -v body="$body" '
            $0 == b {print; while ((getline line < body) > 0) print line; skip = 1; next}
            $0 == e {skip = 0}
            !skip {print}' "$file" >"$TMP/results.new"
    else
        { if [[ -s $file ]]; then cat "$file"; echo; fi; echo "$begin"; cat "$body"; echo "$end"; } >"$TMP/results.new"
    fi
    cat "$TMP/results.new" >"$file"
}

# ---------------------------------------------------------------- nginx
port_free "$NGINX_PORT" || die "port $NGINX_PORT is taken; set NGINX_PORT"
port_free "$UPKEEP_PORT" || die "port $UPKEEP_PORT is taken; set UPKEEP_PORT"
mkdir -p "$TMP/nginx"
# shellcheck source=bench/peers.sh
source "$BENCH_DIR/peers.sh"
static_nginx_conf "$TMP/nginx" "$NGINX_PORT" "        location = /nginx_status { stub_status; allow 127.0.0.1; deny all; }" >"$TMP/nginx/nginx.conf"
"$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
HEALTH_URL="http://127.0.0.1:$NGINX_PORT/health"
wait_http "$HEALTH_URL" || die "nginx did not come up on :$NGINX_PORT (see $TMP/nginx/error.log)"
nginx_status >/dev/null || die "nginx stub_status does not answer"
NGINX_WORKER=""
for _ in $(seq 50); do
    NGINX_WORKER=$(ps -o pid= --ppid "$NGINX_PID" | awk 'NR == 1 {print $1}')
    [[ -n $NGINX_WORKER ]] && break
    sleep 0.1
done
[[ -n $NGINX_WORKER ]] || die "cannot find nginx's worker process"
log "nginx up on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID, worker $NGINX_WORKER)"

# ---------------------------------------------------------------- config
DATA_DIR=$TMP/data
CONFIG=$TMP/upkeep.toml
{
    printf '# generated by bench/daemon_load.sh: %d http checks every %ds\n' "$N_CHECKS" "$EVERY"
    printf '[server]\nconcurrency = %d\ndata_dir = "%s"\n\n[retention]\nraw = "7d"\n' "$CONCURRENCY" "$DATA_DIR"
    # awk, not a bash loop: 10,000 checks in a few milliseconds.
    awk -v n="$N_CHECKS" -v url="$HEALTH_URL" -v every="$EVERY" -v timeout="$CHECK_TIMEOUT" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "\n[[check]]\nname = \"h-%d\"\nkind = \"http\"\nurl = \"%s?i=%d\"\nevery = \"%ds\"\ntimeout = \"%ds\"\n", i, url, i, every, timeout
    }'
} >"$CONFIG"
"$UPKEEP" -c "$CONFIG" config validate >"$TMP/validate.out" 2>&1 \
    || die "upkeep config validate failed: $(head -c 800 "$TMP/validate.out")"

# ---------------------------------------------------------------- daemon
log "starting upkeep serve: $N_CHECKS http checks every ${EVERY}s, concurrency $CONCURRENCY, for ${DURATION}s"
t_launch=$(now)
"$UPKEEP" -c "$CONFIG" serve --listen "127.0.0.1:$UPKEEP_PORT" >"$TMP/upkeep.out" 2>"$TMP/upkeep.err" &
UPKEEP_PID=$!
listening=0
for _ in $(seq 600); do   # up to 60 s
    grep -q 'listening on http://' "$TMP/upkeep.err" 2>/dev/null && { listening=1; break; }
    kill -0 "$UPKEEP_PID" 2>/dev/null || break
    sleep 0.1
done
[[ $listening == 1 ]] || die "upkeep did not start listening: $(tail -c 800 "$TMP/upkeep.err")"
t0=$(now)
startup_s=$(calc "$t0 - $t_launch")
startup_cpu=$(calc "$(cpu_ticks "$UPKEEP_PID") / $CLK_TCK")
wait_http "http://127.0.0.1:$UPKEEP_PORT/up" || die "upkeep's /up does not answer"
log "upkeep listening after ${startup_s}s (pid $UPKEEP_PID, ${startup_cpu}s CPU so far); warm-up ${WARMUP}s"

# Snapshot at the start of the steady window.
sleep_until "$(calc "$t0 + $WARMUP")"
kill -0 "$UPKEEP_PID" 2>/dev/null || die "upkeep exited during warm-up: $(tail -c 800 "$TMP/upkeep.err")"
tA=$(now)
read -r uA sA < <(user_sys_ticks "$UPKEEP_PID")
ngA=$(cpu_ticks "$NGINX_WORKER")
read -r mbA mtA < <(machine_ticks)
read -r accA _ reqA < <(nginx_status)
bytesA=$(store_bytes)
liveA=$(live_bytes)
scrape start "$TMP/metrics-start.txt"
log "steady window starts: store $(mb "$bytesA"), RSS $(status_kb "$UPKEEP_PID" VmRSS) kB"

# Samples every SAMPLE seconds until DURATION: CPU per interval, RSS.
samples=$(( (DURATION - WARMUP) / SAMPLE ))
: >"$TMP/samples.txt"
prev_t=$tA prev_c=$((uA + sA))
for i in $(seq "$samples"); do
    sleep_until "$(calc "$tA + $i * $SAMPLE")"
    kill -0 "$UPKEEP_PID" 2>/dev/null || die "upkeep exited during the run: $(tail -c 800 "$TMP/upkeep.err")"
    t=$(now); c=$(cpu_ticks "$UPKEEP_PID")
    rss=$(status_kb "$UPKEEP_PID" VmRSS); hwm=$(status_kb "$UPKEEP_PID" VmHWM)
    cores=$(calc "($c - $prev_c) / $CLK_TCK / ($t - $prev_t)" 3)
    echo "$(calc "$t - $t0" 1) $cores $rss $hwm $(store_bytes)" >>"$TMP/samples.txt"
    (( i % (60 / SAMPLE > 0 ? 60 / SAMPLE : 1) == 0 )) && log "  t=$(calc "$t - $t0" 0)s: ${cores} cores over the last ${SAMPLE}s, RSS $rss kB, store $(mb "$(store_bytes)")"
    prev_t=$t prev_c=$c
done
sleep_until "$(calc "$t0 + $DURATION")"

# Snapshot at the end of the steady window.
tB=$(now)
read -r uB sB < <(user_sys_ticks "$UPKEEP_PID")
ngB=$(cpu_ticks "$NGINX_WORKER")
read -r mbB mtB < <(machine_ticks)
read -r accB _ reqB < <(nginx_status)
bytesB=$(store_bytes)
liveB=$(live_bytes)
scrape end "$TMP/metrics-end.txt"
rss_end_kb=$(status_kb "$UPKEEP_PID" VmRSS)
hwm_kb=$(status_kb "$UPKEEP_PID" VmHWM)
threads=$(status_kb "$UPKEEP_PID" Threads)
conns=$(ss -tnH state established "dport = :$NGINX_PORT" | wc -l)
log "steady window ends"

# Optional profile, after the window so that it does not disturb the figures.
perf_top=""
if (( PERF_SECONDS > 0 )); then
    log "perf record -F $PERF_FREQ --call-graph $PERF_CALLGRAPH -p $UPKEEP_PID for ${PERF_SECONDS}s"
    perf record -F "$PERF_FREQ" --call-graph "$PERF_CALLGRAPH" -p "$UPKEEP_PID" -o "$TMP/perf.data" -- sleep "$PERF_SECONDS" >"$TMP/perf.log" 2>&1 &
    PERF_PID=$!
    wait "$PERF_PID" || log "perf record failed: $(tail -3 "$TMP/perf.log")"
    PERF_PID=""
    if [[ -s $TMP/perf.data ]]; then
        # On a VM without a PMU perf samples cpu-clock; kernel time shows up in the scheduler
        # (finish_task_switch): read the split by thread and library, then user-space symbols.
        tidy() { grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | cut -c1-150; }
        {
            echo "by thread:"
            timeout 300 perf report -i "$TMP/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null | tidy | head -6
            echo "by library:"
            timeout 300 perf report -i "$TMP/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | tidy | head -6
            echo "selected frames, including callees (children, self): the daemon's tasks, hyper's connections, SQLite, idle"
            timeout 300 perf report -i "$TMP/perf.data" --children --sort symbol --stdio -g none --percent-limit 0.3 2>/dev/null \
                | grep -F '[.]' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' \
                | grep -E 'poll_future<upkeep_|UpgradeableConnection<I,B> as|schedule::Job::run::\{\{closure\}\}$|Metrics::record$|Live::update$|\] sqlite3_step$|Context::park_internal$|\] epoll_wait$|\] _int_malloc$' \
                | sed -E 's/(poll_future<[^,]+),.*/\1>/' | cut -c1-150 | sed -E 's/[[:space:]]+$//' | awk '!seen[$0]++' | head -20
        } >"$TMP/perf-top.txt" || true
        perf_top=$TMP/perf-top.txt
    fi
fi

# ---------------------------------------------------------------- stop, then read the store
t_stop=$(now)
kill -TERM "$UPKEEP_PID"
for _ in $(seq 600); do kill -0 "$UPKEEP_PID" 2>/dev/null || break; sleep 0.1; done   # up to 60 s
kill -0 "$UPKEEP_PID" 2>/dev/null && die "upkeep did not stop within 60 s of SIGTERM"
upkeep_rc=0; wait "$UPKEEP_PID" || upkeep_rc=$?
UPKEEP_PID=""
shutdown_s=$(calc "$(now) - $t_stop" 2)
log "upkeep stopped in ${shutdown_s}s (exit $upkeep_rc)"

DB=$DATA_DIR/upkeep.db
sq() { sqlite3 -readonly -batch -noheader -separator ' ' "$DB" "$1"; }
read -r db_results db_ok < <(sq "SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM results")
db_errors=$(sq "SELECT COUNT(*) || '× ' || COALESCE(message, '(no message)') FROM results WHERE ok = 0 GROUP BY message ORDER BY COUNT(*) DESC LIMIT 5")
sq "SELECT tier, COUNT(*) FROM rollups GROUP BY tier ORDER BY tier" >"$TMP/rollup-counts.txt"
sq "SELECT name, COUNT(*), SUM(pgsize) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC" >"$TMP/dbstat.txt"
page_size=$(sq "PRAGMA page_size")
tbl_bytes() { awk -v n="$1" '$1 == n {print $3; f = 1} END {if (!f) print 0}' "$TMP/dbstat.txt"; }
results_bytes=$(tbl_bytes results)
rollup_bytes=$(( $(tbl_bytes rollups) + $(tbl_bytes rollups_by_check) ))
rollup_rows=$(awk '{s += $2} END {print s + 0}' "$TMP/rollup-counts.txt")
minute_rows=$(awk '$1 == 60 {print $2}' "$TMP/rollup-counts.txt"); minute_rows=${minute_rows:-0}
final_bytes=$(( $(stat -c %s "$DB") + $( [[ -e $DB-wal ]] && stat -c %s "$DB-wal" || echo 0) ))

# ---------------------------------------------------------------- figures
win=$(calc "$tB - $tA")
cpu_s=$(calc "($uB + $sB - $uA - $sA) / $CLK_TCK")
cpu_user=$(calc "($uB - $uA) / $CLK_TCK")
cpu_sys=$(calc "($sB - $sA) / $CLK_TCK")
cores=$(calc "$cpu_s / $win" 3)
cores_max=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {printf "%.3f", m}' "$TMP/samples.txt")
nginx_cores=$(calc "($ngB - $ngA) / $CLK_TCK / $win" 3)
machine_cores=$(calc "($mbB - $mbA) / ($mtB - $mtA) * $NCPU" 3)
other_cores=$(calc "$machine_cores - $cores - $nginx_cores" 3)
rss_peak_mb=$(calc "$hwm_kb / 1024" 1)
rss_end_mb=$(calc "$rss_end_kb / 1024" 1)
lag_p50=$(hist_quantile 0.50 "$TMP/metrics-start.txt" "$TMP/metrics-end.txt")
lag_p99=$(hist_quantile 0.99 "$TMP/metrics-start.txt" "$TMP/metrics-end.txt")
lag_p999=$(hist_quantile 0.999 "$TMP/metrics-start.txt" "$TMP/metrics-end.txt")
lag_over=$(hist_above 0.25 "$TMP/metrics-start.txt" "$TMP/metrics-end.txt")
lag_count=$(calc "$(metric upkeep_scheduler_lag_seconds_count "$TMP/metrics-end.txt") - $(metric upkeep_scheduler_lag_seconds_count "$TMP/metrics-start.txt")" 0)
lag_mean=$(awk -v c="$lag_count" -v a="$(metric upkeep_scheduler_lag_seconds_sum "$TMP/metrics-start.txt")" \
    -v b="$(metric upkeep_scheduler_lag_seconds_sum "$TMP/metrics-end.txt")" 'BEGIN {if (c > 0) printf "%.6f", (b - a) / c; else print "nan"}')
runs_per_s=$(calc "$lag_count / $win" 1)
written=$(calc "$(metric upkeep_store_results_written_total "$TMP/metrics-end.txt") - $(metric upkeep_store_results_written_total "$TMP/metrics-start.txt")" 0)
written_per_s=$(calc "$written / $win" 1)
write_errors=$(metric upkeep_store_write_errors_total "$TMP/metrics-end.txt")
up_ok=$(awk '/^upkeep_check_up\{/ && $NF == 1 {n++} END {print n + 0}' "$TMP/metrics-end.txt")
up_down=$(awk '/^upkeep_check_up\{/ && $NF == 0 {n++} END {print n + 0}' "$TMP/metrics-end.txt")
nginx_rps=$(calc "($reqB - $reqA) / $win" 1)
nginx_conn_per_s=$(calc "($accB - $accA) / $win" 2)
expected_rps=$(calc "$N_CHECKS / $EVERY" 1)
growth=$((bytesB - bytesA))
b_per_result=$(awk -v g="$growth" -v n="$written" 'BEGIN {if (n > 0) printf "%.1f", g / n; else print "nan"}')
per_day() { awk -v b="$1" -v every="$2" 'BEGIN {if (b == "nan") print "nan"; else printf "%.0f", b * 86400 / every}'; }
live_growth=$((liveB - liveA))
live_per_result=$(awk -v g="$live_growth" -v n="$written" 'BEGIN {if (n > 0) printf "%.1f", g / n; else print "nan"}')
b_day=$(per_day "$b_per_result" "$EVERY")
b_day60=$(per_day "$b_per_result" 60)
# From table sizes: raw results and rollup rows (minute rows: one per check per minute whatever
# the interval; hour and day rows: 25 per check per day).
raw_b=$(awk -v b="$results_bytes" -v n="$db_results" 'BEGIN {if (n > 0) printf "%.1f", b / n; else print "nan"}')
roll_b=$(awk -v b="$rollup_bytes" -v n="$rollup_rows" 'BEGIN {if (n > 0) printf "%.1f", b / n; else print "nan"}')
model_day() { awk -v r="$raw_b" -v m="$roll_b" -v every="$1" 'BEGIN {if (r == "nan" || m == "nan") print "nan"; else printf "%.0f", 86400 / every * r + (1440 + 25) * m}'; }
m_day=$(model_day "$EVERY")
m_day60=$(model_day 60)
kb() { awk -v b="$1" 'BEGIN {if (b == "nan") print "nan"; else printf "%.0f kB", b / 1000}'; }
# Retained at raw = 7d (raw 7 d, minutes 8 d, hours and days for the rollup retention, 400 d by default: 25 rows a day).
retained_7d=$(awk -v r="$raw_b" -v m="$roll_b" -v every="$EVERY" -v n="$N_CHECKS" \
    'BEGIN {if (r == "nan") print "nan"; else printf "%.0f", n * (7 * 86400 / every * r + 8 * 1440 * m)}')

met() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
    if (a == "nan" || a ~ /^>/) {print (op == "<" || op == "<=") ? "**no**" : "?"; exit}
    ok = (op == "<=") ? (a <= b) : (op == "<") ? (a < b) : (a >= b); print ok ? "yes" : "**no**" }'; }
all_ok=yes
(( up_ok == N_CHECKS && up_down == 0 && db_ok == db_results )) || all_ok=no
met_cpu=$(met "$cores" "<=" "$TARGET_CPU")
met_rss=$(met "$rss_peak_mb" "<=" "$TARGET_RSS_MB")
lag_p99_ms=$(ms_of "$lag_p99")
met_lag=$(met "$lag_p99_ms" "<" "$TARGET_LAG_MS")
met_rate=$(awk -v a="$written_per_s" -v e="$expected_rps" 'BEGIN {print (a >= 0.98 * e) ? "yes" : "**no**"}')

log "CPU $cores cores (user $cpu_user s, sys $cpu_sys s over $win s; busiest ${SAMPLE}s: $cores_max), RSS peak $rss_peak_mb MB, end $rss_end_mb MB"
log "lag p50 $(ms_of "$lag_p50") ms, p99 $lag_p99_ms ms, > 250 ms: $lag_over; runs $runs_per_s/s, written $written_per_s/s, nginx $nginx_rps req/s"
log "store +$(mb "$growth") over the window: $b_per_result B/result; checks up $up_ok, down $up_down; results ok $db_ok/$db_results"

# ---------------------------------------------------------------- report
upkeep_version=$("$UPKEEP" --version 2>&1 | head -1)
upkeep_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
upkeep_dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (work tree has uncommitted changes)" || true)
rustc_version=$(rustc --version 2>/dev/null || echo "?")
nginx_version=$("$NGINX" -v 2>&1 | head -1)
sqlite_version=$(sqlite3 --version 2>/dev/null | awk '{print $1}')
cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)

{
    echo "## upkeep serve under load — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: \`nproc\` = $NCPU, ${cpu_model:-unknown CPU}, $mem_total RAM, $(uname -sr); shared and noisy (other builds may run)."
    echo "Versions: $upkeep_version (release, commit $upkeep_commit$upkeep_dirty), $rustc_version; $nginx_version; sqlite3 CLI $sqlite_version (for reading the store)."
    echo "Produced by \`bench/daemon_load.sh\`: $N_CHECKS http checks every ${EVERY} s (timeout ${CHECK_TIMEOUT} s) against a static nginx \`/health\` (1 worker, keep-alive),"
    echo "\`[server] concurrency = $CONCURRENCY\`, \`[retention] raw = \"7d\"\`; run ${DURATION} s, steady window from ${WARMUP} s to the end: $win s."
    echo
    echo "| metric | measured | target | met? |"
    echo "| --- | ---: | ---: | :---: |"
    echo "| CPU of upkeep, (utime+stime) / wall over the window | $cores cores ($cpu_s s: user $cpu_user, sys $cpu_sys) | ≤ $TARGET_CPU core | $met_cpu |"
    echo "| busiest ${SAMPLE}-s interval in the window | $cores_max cores | — | |"
    echo "| peak RSS (VmHWM) | $rss_peak_mb MB | ≤ $TARGET_RSS_MB MB | $met_rss |"
    echo "| final RSS (VmRSS) | $rss_end_mb MB | ≤ $TARGET_RSS_MB MB | $(met "$rss_end_mb" "<=" "$TARGET_RSS_MB") |"
    echo "| scheduling lag p99 (histogram, window) | $lag_p99_ms ms | < $TARGET_LAG_MS ms | $met_lag |"
    echo "| scheduling lag p50 / p99.9 / mean | $(ms_of "$lag_p50") / $(ms_of "$lag_p999") / $(ms_of "$lag_mean") ms | — | |"
    echo "| runs started later than 250 ms after due | $(awk -v f="$lag_over" 'BEGIN {if (f == "nan") print f; else printf "%.2f %%", f * 100}') | — | |"
    echo "| runs started per second (lag observations) | $runs_per_s | $expected_rps | $(awk -v a="$runs_per_s" -v e="$expected_rps" 'BEGIN {print (a >= 0.98 * e) ? "yes" : "**no**"}') |"
    echo "| results written per second | $written_per_s | $expected_rps | $met_rate |"
    echo "| nginx requests per second / new connections per second | $nginx_rps / $nginx_conn_per_s | $expected_rps / — | |"
    echo "| store growth over the window (upkeep.db + -wal) | $(mb "$bytesA") → $(mb "$bytesB") (+$(mb "$growth")) | — | |"
    echo "| bytes per result (file growth / results written) | $b_per_result B | — | |"
    echo "| pages in use (page_count − freelist, incl. WAL) | $(mb "$liveA") → $(mb "$liveB") (+$(mb "$live_growth") = $live_per_result B/result) | — | |"
    echo "| per check per day at ${EVERY} s / 60 s (pages in use) | $(kb "$(per_day "$live_per_result" "$EVERY")") / $(kb "$(per_day "$live_per_result" 60)") | — | |"
    echo "| per check per day at ${EVERY} s (file growth) | $(kb "$b_day") | — | |"
    echo "| per check per day at 60 s (file growth) | $(kb "$b_day60") | — | |"
    echo "| per check per day at ${EVERY} s / 60 s, from table sizes¹ | $(kb "$m_day") / $(kb "$m_day60") | — | |"
    echo "| store for $N_CHECKS checks at ${EVERY} s with raw = 7d, steady state¹ | $(awk -v b="$retained_7d" 'BEGIN {if (b == "nan") print b; else printf "%.1f GB", b / 1e9}') | — | |"
    echo "| all checks ok | $all_ok (up $up_ok, down $up_down; results ok $db_ok of $db_results) | all | $([[ $all_ok == yes ]] && echo yes || echo "**no**") |"
    echo
    echo "Other figures: start-up (launch to \"listening\") $startup_s s with $startup_cpu s CPU; shutdown after SIGTERM $shutdown_s s (exit $upkeep_rc);"
    echo "$threads threads; $conns established connections to nginx at the end; store write errors $write_errors;"
    echo "over the window nginx's worker used $nginx_cores cores and the rest of the machine $other_cores cores (all $NCPU cores: $machine_cores busy)."
    echo "Store after shutdown: $(mb "$final_bytes") (page size $page_size); results $db_results rows in $(mb "$results_bytes") (= $raw_b B/row);"
    echo "rollups $rollup_rows rows ($(awk '{printf "%s%s: %s", sep, ($1 == 60 ? "minute" : $1 == 3600 ? "hour" : $1 == 86400 ? "day" : $1), $2; sep = ", "}' "$TMP/rollup-counts.txt")) in $(mb "$rollup_bytes") with their index (= $roll_b B/row)."
    if [[ -n $db_errors ]]; then
        echo
        echo "Failed results in the store (count × message):"
        echo
        echo '```'
        echo "$db_errors"
        echo '```'
    fi
    echo
    echo "CPU per ${SAMPLE} s and RSS through the window (t from \"listening\"):"
    echo
    echo '```'
    awk '{printf "t=%6.1fs  %s cores  RSS %6.1f MB  store %7.1f MB\n", $1, $2, $3 / 1024, $5 / 1048576}' "$TMP/samples.txt"
    echo '```'
    if [[ -n $perf_top && -s $perf_top ]]; then
        echo
        echo "\`perf record -F $PERF_FREQ --call-graph $PERF_CALLGRAPH\` of the daemon for ${PERF_SECONDS} s after the window (share of samples):"
        echo
        echo '```'
        cat "$perf_top"
        echo '```'
    fi
    echo
    echo "1. From \`dbstat\` after shutdown: bytes per raw result row × runs a day + bytes per rollup row × (1,440 minute rows + 24 hour rows + 1 day row) a day."
    echo "   Raw results are kept for \`raw\` (7 d), minute rollups for \`raw\` + 1 d, hour and day rollups for \`rollups\` (400 d by default); the steady-state row counts"
    echo "   7 d of raw and 8 d of minute rows only. Failed results and status changes also keep their message (none here when all are ok)."
} >"$TMP/section.md"
write_section daemon_load "$RESULTS_MD" "$TMP/section.md"

echo
cat "$TMP/section.md"
echo
log "written to $RESULTS_MD (section daemon_load)"
