#!/usr/bin/env bash
# Benchmark: reads from a running `upkeep serve` (`/health`, `/api/v1/checks`, `/up`), on this
# machine only.
#
#   bench/health_reads.sh                 # build release, 100 checks, wrk -t2 -c200 -d20s per route
#   SKIP_BUILD=1 N_CHECKS=1000 bench/health_reads.sh
#
# What it measures
#   The daemon watches N_CHECKS http checks (every EVERY s) against a static /health on a local
#   nginx. Once every check has a result, wrk (-t WRK_THREADS -c WRK_CONNS -d WRK_SECONDS
#   --latency, after a short warm-up) hits each route in turn: p50/p99 latency, requests/s,
#   errors, and the daemon's CPU per request (utime+stime from /proc/PID/stat over the run).
#   Target: p99 < TARGET_P99_MS for /health and /api/v1/checks; /up (a constant "ok") is the
#   floor: what axum and the middleware cost without any handler work.
#   wrk and the daemon share the machine's cores (2 here): the figures are for that setup. wrk
#   keeps every connection busy (closed loop), so at 200 connections the latency is mostly queueing
#   behind the daemon's throughput (Little: latency ~ connections / requests per second); for
#   context each route is also measured at LOW_CONNS connections (service time, little queueing).
#
# Everything listens on and targets 127.0.0.1 only; every loop is bounded and the script cleans
# up after itself (trap). Tunables: environment variables below. The report replaces the
# `health_reads` section of RESULTS_MD (other sections are kept).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
ROOT=$(cd "$BENCH_DIR/.." && pwd)

N_CHECKS=${N_CHECKS:-100}
EVERY=${EVERY:-10}                  # seconds
CONCURRENCY=${CONCURRENCY:-256}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-200}
WRK_SECONDS=${WRK_SECONDS:-20}
WARM_SECONDS=${WARM_SECONDS:-3}
ROUTES=${ROUTES:-"/health /api/v1/checks /up"}
LOW_CONNS=${LOW_CONNS:-"1 10"}      # also, for context, wrk -t1 -cN at these lower concurrencies ("" = skip)
LOW_SECONDS=${LOW_SECONDS:-5}
NGINX_PORT=${NGINX_PORT:-18080}
UPKEEP_PORT=${UPKEEP_PORT:-18090}
TARGET_P99_MS=${TARGET_P99_MS:-10}
UPKEEP=${UPKEEP:-$ROOT/target/release/upkeep}
SKIP_BUILD=${SKIP_BUILD:-0}
RESULTS_MD=${RESULTS_MD:-$BENCH_DIR/results-daemon.md}
SECTION_SUFFIX=${SECTION_SUFFIX:-}      # e.g. "-1000": writes section health_reads-1000 instead
KEEP_TMP=${KEEP_TMP:-0}


[[ $N_CHECKS =~ ^[0-9]+$ && $N_CHECKS -ge 1 ]] || die "N_CHECKS must be a positive integer"
[[ $WRK_SECONDS =~ ^[0-9]+$ && $WARM_SECONDS =~ ^[0-9]+$ ]] || die "WRK_SECONDS and WARM_SECONDS must be integers"

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/upkeep-health-reads.XXXXXX)
NGINX_PID="" UPKEEP_PID="" POLICY_RC_ADDED=0
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
    stop_pid "$UPKEEP_PID" TERM 30
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
    [nginx]=nginx [wrk]=wrk [curl]=curl [jq]=jq [ss]=iproute2 [awk]=gawk
)
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
# wrk's "1.23ms" / "456.78us" / "1.02s" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'; }
# Replaces the section between <!-- NAME:begin --> and <!-- NAME:end --> in FILE with the
# contents of BODY, or appends it; the rest of FILE is kept.
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
static_nginx_conf "$TMP/nginx" "$NGINX_PORT" >"$TMP/nginx/nginx.conf"
"$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
HEALTH_URL="http://127.0.0.1:$NGINX_PORT/health"
wait_http "$HEALTH_URL" || die "nginx did not come up on :$NGINX_PORT (see $TMP/nginx/error.log)"
log "nginx up on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"

# ---------------------------------------------------------------- daemon
DATA_DIR=$TMP/data
CONFIG=$TMP/upkeep.toml
{
    printf '# generated by bench/health_reads.sh: %d http checks every %ds\n' "$N_CHECKS" "$EVERY"
    printf '[server]\nconcurrency = %d\ndata_dir = "%s"\n' "$CONCURRENCY" "$DATA_DIR"
    awk -v n="$N_CHECKS" -v url="$HEALTH_URL" -v every="$EVERY" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "\n[[check]]\nname = \"h-%d\"\nkind = \"http\"\nurl = \"%s?i=%d\"\nevery = \"%ds\"\ntimeout = \"5s\"\n", i, url, i, every
    }'
} >"$CONFIG"
"$UPKEEP" -c "$CONFIG" serve --listen "127.0.0.1:$UPKEEP_PORT" >"$TMP/upkeep.out" 2>"$TMP/upkeep.err" &
UPKEEP_PID=$!
BASE="http://127.0.0.1:$UPKEEP_PORT"
wait_http "$BASE/up" || die "upkeep did not come up: $(tail -c 800 "$TMP/upkeep.err")"
log "upkeep up on $BASE (pid $UPKEEP_PID), $N_CHECKS checks every ${EVERY}s"

# Every check has run once (the first runs are spread over one interval by the jitter).
pending=$N_CHECKS
for _ in $(seq $((EVERY * 2 + 20))); do
    pending=$(curl -fsS --max-time 5 "$BASE/api/v1/checks" | jq '[.[] | select(.status == "pending")] | length' || echo "$N_CHECKS")
    [[ $pending == 0 ]] && break
    sleep 1
done
[[ $pending == 0 ]] || die "$pending checks still pending after $((EVERY * 2 + 20)) s"
not_ok=$(curl -fsS --max-time 5 "$BASE/api/v1/checks" | jq '[.[] | select(.status != "ok")] | length')
log "every check has a result ($not_ok not ok)"

# ---------------------------------------------------------------- wrk
: >"$TMP/rows.txt"
: >"$TMP/low.txt"
for route in $ROUTES; do
    url=$BASE$route
    code=$(curl -sS -o "$TMP/body" -w '%{http_code}' --max-time 5 "$url") || die "curl $url failed"
    size=$(stat -c %s "$TMP/body")
    [[ $code == 200 ]] || die "$url answers $code: $(head -c 300 "$TMP/body")"
    wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WARM_SECONDS}s" "$url" >/dev/null 2>&1 || true   # warm-up
    sleep 1
    before=$(cpu_ticks "$UPKEEP_PID")
    out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency "$url")
    after=$(cpu_ticks "$UPKEEP_PID")
    slug=$(tr '/' '_' <<<"$route")
    echo "$out" >"$TMP/wrk$slug.txt"
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p75=$(to_ms "$(awk '$1 == "75%" {print $2}' <<<"$out")")
    p90=$(to_ms "$(awk '$1 == "90%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    max=$(to_ms "$(awk '$1 == "Latency" && NF >= 4 {print $4; exit}' <<<"$out")")
    bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); bad=${bad:-0}
    errors=$(awk '/Socket errors/ {gsub(",", ""); print "connect " $4 ", read " $6 ", write " $8 ", timeout " $10}' <<<"$out")
    [[ -n $n && $n -gt 0 ]] || die "wrk served no requests on $route: $out"
    cpu_us=$(calc "($after - $before) / $CLK_TCK / $n * 1e6" 1)
    echo "$route $size $n $rps $p50 $p75 $p90 $p99 $max $bad $cpu_us ${errors:-none}" >>"$TMP/rows.txt"
    log "$route ($size B): $rps req/s, p50 $p50 ms, p99 $p99 ms, max $max ms, non-2xx $bad, upkeep ${cpu_us} µs CPU/request${errors:+, socket errors: $errors}"
    for conns in $LOW_CONNS; do
        low=$(wrk -t1 -c"$conns" -d"${LOW_SECONDS}s" --latency "$url")
        echo "$low" >"$TMP/wrk$slug-c$conns.txt"
        lp50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$low")")
        lp99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$low")")
        lrps=$(awk '/^Requests\/sec/ {print $2}' <<<"$low")
        echo "$route $conns $lrps $lp50 $lp99" >>"$TMP/low.txt"
        log "  at $conns connection(s): $lrps req/s, p50 $lp50 ms, p99 $lp99 ms"
    done
done
still_ok=$(curl -fsS --max-time 5 "$BASE/api/v1/checks" | jq '[.[] | select(.status == "ok")] | length' || echo "?")

# ---------------------------------------------------------------- report
upkeep_version=$("$UPKEEP" --version 2>&1 | head -1)
upkeep_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
upkeep_dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (work tree has uncommitted changes)" || true)
rustc_version=$(rustc --version 2>/dev/null || echo "?")
wrk_version=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}' || true)
cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
{
    echo "## reads from upkeep serve: /health, /api/v1/checks, /up — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: \`nproc\` = $(nproc), ${cpu_model:-unknown CPU}, $(uname -sr); shared and noisy. wrk runs on the same 2 cores as the daemon."
    echo "Versions: $upkeep_version (release, commit $upkeep_commit$upkeep_dirty), $rustc_version; ${wrk_version:-wrk}."
    echo "Produced by \`bench/health_reads.sh\`: the daemon watches $N_CHECKS http checks every ${EVERY} s (all with a result; $still_ok ok at the end);"
    echo "per route \`wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency\` after a ${WARM_SECONDS}-s warm-up, keep-alive connections."
    echo
    echo "| metric | measured | target | met? |"
    echo "| --- | ---: | ---: | :---: |"
    while read -r route size n rps p50 p75 p90 p99 max bad cpu_us _; do
        target="—" met=""
        if [[ $route != /up ]]; then
            target="< $TARGET_P99_MS ms"
            met=$(awk -v a="$p99" -v t="$TARGET_P99_MS" -v bad="$bad" 'BEGIN {print (a < t && bad == 0) ? "yes" : "**no**"}')
        fi
        echo "| \`$route\` p99 latency ($size-B body) | $p99 ms | $target | $met |"
        echo "| \`$route\` p50 latency | $p50 ms | — | |"
        echo "| \`$route\` requests/s | $rps | — | |"
    done <"$TMP/rows.txt"
    echo
    echo "| route | body | requests | req/s | p50 | p75 | p90 | p99 | max | non-2xx | upkeep CPU / request | socket errors |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    while read -r route size n rps p50 p75 p90 p99 max bad cpu_us errors; do
        echo "| \`$route\` | $size B | $n | $rps | $p50 ms | $p75 ms | $p90 ms | $p99 ms | $max ms | $bad | $cpu_us µs | $errors |"
    done <"$TMP/rows.txt"
    if [[ -s $TMP/low.txt ]]; then
        echo
        echo "For context, the same routes at fewer connections (\`wrk -t1 -cN -d${LOW_SECONDS}s --latency\`): service time with little queueing."
        echo
        echo "| route | connections | req/s | p50 | p99 |"
        echo "| --- | ---: | ---: | ---: | ---: |"
        while read -r route conns lrps lp50 lp99; do
            echo "| \`$route\` | $conns | $lrps | $lp50 ms | $lp99 ms |"
        done <"$TMP/low.txt"
    fi
} >"$TMP/section.md"
write_section "health_reads${SECTION_SUFFIX:-}" "$RESULTS_MD" "$TMP/section.md"

echo
cat "$TMP/section.md"
echo
log "written to $RESULTS_MD (section health_reads${SECTION_SUFFIX:-})"
