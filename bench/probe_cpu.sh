#!/usr/bin/env bash
# Benchmark: CPU per probe in steady state, `upkeep serve` against Prometheus' blackbox_exporter
# at the same probe rate, on this machine only.
#
#   bench/probe_cpu.sh                   # build release, 50 probes/s for 60 s per kind
#   SKIP_BUILD=1 RATE=100 SECONDS_MEASURED=120 bench/probe_cpu.sh
#
# What it measures
#   `upkeep check` (bench/check_vs_blackbox.sh) opens a fresh connection per check and exits;
#   the daemon is how Upkeep really probes: http checks reuse keep-alive connections, and a
#   postgres check keeps its own connection (replaced every five minutes). So:
#   1. upkeep serve with RATE http checks every 1 s against a static nginx /health, then with
#      RATE postgres checks every 1 s against the machine's PostgreSQL: after WARMUP seconds,
#      the daemon's utime+stime over SECONDS_MEASURED, divided by the probes it ran in that time
#      (the sum of upkeep_check_duration_seconds_count from /metrics, read at both ends).
#      For postgres, also the server's CPU per probe (all postgres processes, same window).
#   2. blackbox_exporter driven at the same RATE (a paced client with a kept connection to
#      /probe): http_2xx against the same nginx, tcp_connect against PostgreSQL (it has no
#      PostgreSQL prober). Its utime+stime / probes served.
#   Target (issue 3): upkeep at most half of blackbox's CPU per probe.
#
# Everything listens on and targets 127.0.0.1; loops are bounded; the trap cleans up.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
ROOT=$(cd "$BENCH_DIR/.." && pwd)

RATE=${RATE:-50}                        # probes per second, both sides
WARMUP=${WARMUP:-15}
SECONDS_MEASURED=${SECONDS_MEASURED:-60}
NGINX_PORT=${NGINX_PORT:-18081}
UPKEEP_PORT=${UPKEEP_PORT:-18091}
BB_PORT=${BB_PORT:-19116}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
UPKEEP=${UPKEEP:-${CARGO_TARGET_DIR:-$ROOT/target}/release/upkeep}
SKIP_BUILD=${SKIP_BUILD:-0}
RESULTS_MD=${RESULTS_MD:-$BENCH_DIR/results-daemon.md}

[[ $RATE =~ ^[0-9]+$ && $RATE -ge 1 && $RATE -le 2000 ]] || die "RATE must be 1..2000"

TMP=$(mktemp -d /tmp/upkeep-probe-cpu.XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    if [[ $rc -ne 0 ]]; then log "kept work files in $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools
declare -A PKG=([nginx]=nginx [prometheus-blackbox-exporter]=prometheus-blackbox-exporter [curl]=curl)
missing=()
for cmd in "${!PKG[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing Debian packages: ${missing[*]}"
    # Keep apt from starting the packages' own services.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$TMP/apt.log" 2>&1 \
        || { apt-get update -q >>"$TMP/apt.log" 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$TMP/apt.log" 2>&1; } \
        || { rm -f /usr/sbin/policy-rc.d; die "apt-get install ${missing[*]} failed"; }
    rm -f /usr/sbin/policy-rc.d
fi
if [[ $SKIP_BUILD != 1 ]]; then
    log "cargo build --release -p upkeep"
    (cd "$ROOT" && cargo build --release -p upkeep) >"$TMP/build.log" 2>&1 || { tail -20 "$TMP/build.log" >&2; die "build failed"; }
fi
[[ -x $UPKEEP ]] || die "no upkeep binary at $UPKEEP"
CLK_TCK=$(getconf CLK_TCK)

postgres_ticks() { # every postgres process (the server's side of the probes)
    local sum=0 pid
    for pid in $(pgrep -x postgres); do
        sum=$((sum + $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
    done
    echo "$sum"
}
us() { awk -v s="$1" 'BEGIN {printf "%.0f µs", s * 1e6}'; }
wait_http() { for _ in $(seq 100); do curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# ---------------------------------------------------------------- nginx
mkdir -p "$TMP/nginx"
# shellcheck source=bench/peers.sh
source "$BENCH_DIR/peers.sh"
static_nginx_conf "$TMP/nginx" "$NGINX_PORT" >"$TMP/nginx/nginx.conf"
nginx -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
HEALTH_URL="http://127.0.0.1:$NGINX_PORT/health"
wait_http "$HEALTH_URL" || die "nginx did not come up"

# ---------------------------------------------------------------- upkeep serve
# upkeep_run KIND URL: prints "probes cpu_s server_cpu_s"
upkeep_run() {
    local kind=$1 url=$2 dir="$TMP/upkeep-$1"
    mkdir -p "$dir"
    {
        printf '[server]\ndata_dir = "%s"\n' "$dir/data"
        awk -v n="$RATE" -v kind="$kind" -v url="$url" 'BEGIN {
            for (i = 1; i <= n; i++) {
                u = (kind == "http") ? url "?i=" i : url
                printf "\n[[check]]\nname = \"%s-%d\"\nkind = \"%s\"\nurl = \"%s\"\nevery = \"1s\"\ntimeout = \"900ms\"\n", kind, i, kind, u
            }
        }'
    } >"$dir/upkeep.toml"
    "$UPKEEP" -c "$dir/upkeep.toml" serve --listen "127.0.0.1:$UPKEEP_PORT" >"$dir/out.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$UPKEEP_PORT/up" || die "upkeep serve did not come up: $(tail -c 600 "$dir/out.log")"
    sleep "$WARMUP"
    local runs_before cpu_before pg_before runs_after cpu_after pg_after up
    runs_before=$(probes "$UPKEEP_PORT")
    cpu_before=$(cpu_ticks "$pid"); pg_before=$(postgres_ticks)
    sleep "$SECONDS_MEASURED"
    runs_after=$(probes "$UPKEEP_PORT")
    cpu_after=$(cpu_ticks "$pid"); pg_after=$(postgres_ticks)
    up=$(curl -fsS "http://127.0.0.1:$UPKEEP_PORT/metrics" | awk '/^upkeep_check_up\{/ {s += $NF} END {print s + 0}')
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    [[ $up == "$RATE" ]] || die "$kind: only $up of $RATE checks up at the end: $(tail -c 600 "$dir/out.log")"
    echo "$((runs_after - runs_before)) $(calc "($cpu_after - $cpu_before) / $CLK_TCK" 3) $(calc "($pg_after - $pg_before) / $CLK_TCK" 3)"
}
probes() { curl -fsS "http://127.0.0.1:$1/metrics" | awk '/^upkeep_check_duration_seconds_count/ {s += $NF} END {printf "%d", s}'; }

log "upkeep serve: $RATE http checks every 1 s (warm-up ${WARMUP}s, measured ${SECONDS_MEASURED}s)"
read -r uh_n uh_cpu _ < <(upkeep_run http "$HEALTH_URL")
log "  $uh_n probes, ${uh_cpu}s CPU"
log "upkeep serve: $RATE postgres checks every 1 s"
read -r up_n up_cpu up_server < <(upkeep_run postgres "$PG_URL")
log "  $up_n probes, ${up_cpu}s CPU, server ${up_server}s"

# ---------------------------------------------------------------- blackbox_exporter
mkdir -p "$TMP/blackbox"
blackbox_conf >"$TMP/blackbox/blackbox.yml"
prometheus-blackbox-exporter --config.file="$TMP/blackbox/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
    >"$TMP/blackbox/out.log" 2>&1 &
BB_PID=$!
PIDS+=("$BB_PID")
wait_http "http://127.0.0.1:$BB_PORT/metrics" || die "blackbox_exporter did not come up"

# bb_paced URL: RATE probes a second for WARMUP + SECONDS_MEASURED, one kept connection;
# prints "probes cpu_s server_cpu_s failures" for the measured part.
bb_paced() {
    python3 - "$1" "$RATE" "$WARMUP" "$SECONDS_MEASURED" "$BB_PID" "$CLK_TCK" <<'PY'
import http.client, subprocess, sys, time, urllib.parse
url, rate, warm, measured, pid, tck = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
u = urllib.parse.urlsplit(url)
def ticks(p):
    with open(f"/proc/{p}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
def pg():
    out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split()
    total = 0
    for p in out:
        try: total += ticks(p)
        except OSError: pass
    return total
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
start = time.monotonic(); n = 0; failures = 0; measuring = False; served = 0
deadline = start + warm + measured
while True:
    now = time.monotonic()
    if now >= deadline: break
    if not measuring and now >= start + warm:
        measuring, before, pg_before, served = True, ticks(pid), pg(), 0
    due = start + n / rate
    if due > now: time.sleep(due - now)
    conn.request("GET", u.path + "?" + u.query)
    body = conn.getresponse().read()
    n += 1
    if measuring:
        served += 1
        if b"probe_success 1" not in body: failures += 1
after, pg_after = ticks(pid), pg()
print(served, (after - before) / tck, (pg_after - pg_before) / tck, failures)
PY
}
BB_HTTP_URL="http://127.0.0.1:$BB_PORT/probe?module=http_2xx&target=http%3A%2F%2F127.0.0.1%3A$NGINX_PORT%2Fhealth"
PG_HOSTPORT=$(sed -E 's#^[a-z]+://([^@/]*@)?([^/?]+).*#\2#' <<<"$PG_URL")
BB_TCP_URL="http://127.0.0.1:$BB_PORT/probe?module=tcp_connect&target=$PG_HOSTPORT"
log "blackbox http_2xx at $RATE/s"
read -r bh_n bh_cpu _ bh_fail < <(bb_paced "$BB_HTTP_URL")
log "  $bh_n probes, ${bh_cpu}s CPU, $bh_fail failed"
log "blackbox tcp_connect to $PG_HOSTPORT at $RATE/s"
read -r bt_n bt_cpu bt_server bt_fail < <(bb_paced "$BB_TCP_URL")
log "  $bt_n probes, ${bt_cpu}s CPU, server ${bt_server}s, $bt_fail failed"
[[ $bh_fail == 0 && $bt_fail == 0 ]] || die "blackbox probes failed"

per() { calc "$1 / $2" 6; }
uh_per=$(per "$uh_cpu" "$uh_n"); up_per=$(per "$up_cpu" "$up_n"); ups_per=$(per "$up_server" "$up_n")
bh_per=$(per "$bh_cpu" "$bh_n"); bt_per=$(per "$bt_cpu" "$bt_n"); bts_per=$(per "$bt_server" "$bt_n")
met() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b / 2) ? "**met**" : "not met"}'; }

# ---------------------------------------------------------------- report
md=$TMP/report.md
{
    echo "## CPU per probe in steady state: upkeep serve vs blackbox_exporter — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: \`nproc\` = $(nproc), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); shared and noisy."
    echo "Versions: $("$UPKEEP" --version 2>/dev/null || echo upkeep), release; $(prometheus-blackbox-exporter --version 2>&1 | head -1); $(nginx -v 2>&1); $(psql "$PG_URL" -Atc 'SELECT version()' 2>/dev/null | cut -d' ' -f1-2)."
    echo "Produced by \`bench/probe_cpu.sh\`: $RATE probes/s on each side, ${WARMUP} s warm-up, ${SECONDS_MEASURED} s measured; upkeep runs $RATE checks every 1 s; blackbox is driven at $RATE requests/s over one kept connection to \`/probe\`."
    echo
    echo "| probe | upkeep serve: probes, CPU per probe | blackbox_exporter: probes, CPU per probe | upkeep / blackbox | target ≤ 0.5× |"
    echo "| --- | ---: | ---: | ---: | :---: |"
    echo "| http (nginx \`/health\`) | $uh_n, $(us "$uh_per") | $bh_n, $(us "$bh_per") (http_2xx) | $(ratio "$uh_per" "$bh_per") | $(met "$uh_per" "$bh_per") |"
    echo "| PostgreSQL (\`SELECT 1\` + stats on a kept connection) | $up_n, $(us "$up_per") | $bt_n, $(us "$bt_per") (tcp_connect¹) | $(ratio "$up_per" "$bt_per") | $(met "$up_per" "$bt_per") |"
    echo "| PostgreSQL server CPU per probe | $(us "$ups_per") | $(us "$bts_per") | $(ratio "$ups_per" "$bts_per") | |"
    echo
    echo "1. blackbox_exporter has no PostgreSQL prober; tcp_connect only opens and closes a TCP connection to the server (which still forks a backend for it). Upkeep's probe authenticates once, then runs two queries per probe."
} >"$md"
cat "$md"
if [[ -n $RESULTS_MD ]]; then
    python3 - "$RESULTS_MD" "$md" <<'PY'
import sys
path, body = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- probe_cpu:begin -->", "<!-- probe_cpu:end -->"
try: old = open(path).read()
except FileNotFoundError: old = ""
if begin in old and end in old:
    new = old[:old.index(begin)] + begin + "\n" + body + old[old.index(end):]
else:
    new = old + ("\n" if old and not old.endswith("\n") else "") + begin + "\n" + body + end + "\n"
open(path, "w").write(new)
PY
    log "written to $RESULTS_MD (section probe_cpu)"
fi
