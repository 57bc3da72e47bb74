#!/usr/bin/env bash
# Benchmark: `upkeep check` against Prometheus' blackbox_exporter, on this machine only.
#
#   bench/check_vs_blackbox.sh            # build release, run everything, write bench/results-latest.md
#   SKIP_BUILD=1 bench/check_vs_blackbox.sh
#
# What it measures
#   1. `upkeep check --json` with N_HTTP (1,000) http checks against a local nginx, concurrency 256:
#      wall time and CPU (user+sys of the upkeep process, from bash's `times`), RUNS times, median.
#      Target: under 2 s wall.
#   2. CPU per HTTP probe: upkeep = CPU of the whole process / N (includes process start, config
#      parsing, runtime start) and the marginal cost (N-check run minus a 1-check run, / (N-1));
#      blackbox_exporter = its process utime+stime (/proc/PID/stat) over a wrk run against
#      /probe?module=http_2xx, / probes served. Also blackbox paced at ~20 probes/s (curl loop).
#   3. CPU per PostgreSQL probe: upkeep with N_PG postgres checks (connect + SELECT 1 + a stats
#      query, each check its own connection) in one `upkeep check`, against blackbox's tcp_connect
#      module on the same port (blackbox has no PostgreSQL prober). Server side: CPU of the
#      postmaster's reaped children (backends), cutime+cstime of the postmaster. Also a "clean"
#      run with fewer checks than PostgreSQL's free connection slots.
#
# Everything listens on and targets 127.0.0.1 only; every loop is bounded and the script cleans
# up after itself (trap). Tunables: environment variables below.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
ROOT=$(cd "$BENCH_DIR/.." && pwd)

N_HTTP=${N_HTTP:-1000}
N_PG=${N_PG:-1000}
N_PG_CLEAN=${N_PG_CLEAN:-auto}      # postgres checks that fit in free connection slots
RUNS=${RUNS:-5}                     # upkeep http runs (median)
PG_RUNS=${PG_RUNS:-3}               # upkeep postgres runs of N_PG_CLEAN and 1 checks (median)
PG_BIG_RUNS=${PG_BIG_RUNS:-1}       # runs of N_PG checks: they fill every free connection slot of the server
CONCURRENCY=${CONCURRENCY:-256}
BB_SECONDS=${BB_SECONDS:-10}        # measured wrk run against blackbox, per module
BB_CONNS=${BB_CONNS:-20}            # wrk connections (= concurrent probes)
PACED_PROBES=${PACED_PROBES:-200}   # blackbox http probes at ~20/s
NGINX_PORT=${NGINX_PORT:-18080}
BB_PORT=${BB_PORT:-19115}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_URL=${PG_URL:-postgres://postgres@$PG_HOST:$PG_PORT/test}
TARGET_WALL=${TARGET_WALL:-2.0}
UPKEEP=${UPKEEP:-$ROOT/target/release/upkeep}
SKIP_BUILD=${SKIP_BUILD:-0}
RESULTS_MD=${RESULTS_MD:-$BENCH_DIR/results-latest.md}
KEEP_TMP=${KEEP_TMP:-0}


# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/upkeep-bench.XXXXXX)
NGINX_PID="" BB_PID="" POLICY_RC_ADDED=0
cleanup() {
    local rc=$?
    set +e
    if [[ -n $BB_PID ]] && kill -0 "$BB_PID" 2>/dev/null; then
        kill "$BB_PID"; wait "$BB_PID" 2>/dev/null
    fi
    if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID"
        for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$NGINX_PID" 2>/dev/null && kill -KILL "$NGINX_PID"
        wait "$NGINX_PID" 2>/dev/null
    fi
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
    [nginx]=nginx [wrk]=wrk [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
    [curl]=curl [jq]=jq [ss]=iproute2 [psql]=postgresql-client [awk]=gawk
)
missing=()
for cmd in "${!PKG[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
command -v cargo >/dev/null || die "cargo is not on PATH"
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}); run as root or install them"
    log "installing Debian packages: ${missing[*]}"
    # Keep apt from starting the packages' own services (nginx on :80, the exporter on :9115).
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
BLACKBOX=$(command -v prometheus-blackbox-exporter)
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
# utime+stime (self) or cutime+cstime (reaped children) of a process, in clock ticks.
child_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $14 + $15}'; }
us() { awk -v s="$1" 'BEGIN {printf "%.0f µs", s * 1e6}'; }      # seconds -> "123 µs"

# run_measured OUT CMD...: runs CMD with stdout to OUT, prints "wall user sys rc" (seconds).
# The CPU comes from bash's `times` in a child shell whose only child is CMD (EPOCHREALTIME, no
# `date` forks), so it is exactly CMD's user+sys, to the millisecond.
run_measured() {
    local out=$1; shift
    bash -c '
        out=$1; shift
        s=$EPOCHREALTIME
        rc=0; timeout 300 "$@" >"$out" 2>"$out.err" || rc=$?
        e=$EPOCHREALTIME
        times >"$out.times"    # not in $( ): a subshell would report its own (empty) children
        echo "$s $e $(tail -1 "$out.times") $rc"
    ' _ "$out" "$@" | awk '{
        split($3, u, "m"); sub("s", "", u[2]); split($4, y, "m"); sub("s", "", y[2]);
        printf "%.3f %.3f %.3f %d\n", $2 - $1, u[1] * 60 + u[2], y[1] * 60 + y[2], $5
    }'
}
# Reports how many results in a --json output are ok, and the first error message.
ok_count() { jq '[.[] | select(.status == "ok")] | length' "$1" 2>/dev/null || echo 0; }
first_error() { jq -r '[.[] | select(.status != "ok")][0].message // empty' "$1" 2>/dev/null | head -c 200; }
error_kinds() { # distinct error messages with counts
    jq -r '.[] | select(.status != "ok") | .message' "$1" 2>/dev/null | sort | uniq -c | sort -rn | head -5
}

# ---------------------------------------------------------------- nginx
port_free "$NGINX_PORT" || die "port $NGINX_PORT is taken; set NGINX_PORT"
port_free "$BB_PORT" || die "port $BB_PORT is taken; set BB_PORT"
mkdir -p "$TMP/nginx"
# shellcheck source=bench/peers.sh
source "$BENCH_DIR/peers.sh"
static_nginx_conf "$TMP/nginx" "$NGINX_PORT" >"$TMP/nginx/nginx.conf"
"$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
HEALTH_URL="http://127.0.0.1:$NGINX_PORT/health"
wait_http "$HEALTH_URL" || die "nginx did not come up on :$NGINX_PORT (see $TMP/nginx/error.log)"
log "nginx up on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"

# ---------------------------------------------------------------- upkeep: http
gen() { "$BENCH_DIR/gen_config.sh" "$@"; }
export CONCURRENCY
gen http "$N_HTTP" "$HEALTH_URL" >"$TMP/http-$N_HTTP.toml"
gen http 1 "$HEALTH_URL" >"$TMP/http-1.toml"

# Parse + build cost of the big config alone, without probing.
read -r v_wall v_user v_sys v_rc < <(run_measured "$TMP/validate.out" "$UPKEEP" -c "$TMP/http-$N_HTTP.toml" config validate)
[[ $v_rc == 0 ]] || die "upkeep config validate failed: $(head -c 500 "$TMP/validate.out" "$TMP/validate.out.err")"
validate_cpu=$(calc "$v_user + $v_sys")

# Warm-up (page cache, nginx), not counted.
run_measured "$TMP/warm.json" "$UPKEEP" -c "$TMP/http-$N_HTTP.toml" check --json >/dev/null

: >"$TMP/http-runs.txt"
http_all_ok=yes
for kind_n in "$N_HTTP" 1; do
    for r in $(seq "$RUNS"); do
        read -r wall user sys rc < <(run_measured "$TMP/http-$kind_n-$r.json" "$UPKEEP" -c "$TMP/http-$kind_n.toml" check --json)
        ok=$(ok_count "$TMP/http-$kind_n-$r.json")
        echo "$kind_n $r $wall $user $sys $rc $ok" >>"$TMP/http-runs.txt"
        log "upkeep http n=$kind_n run $r: wall ${wall}s user ${user}s sys ${sys}s ok $ok/$kind_n rc $rc"
        if [[ $ok != "$kind_n" ]]; then
            http_all_ok=no
            log "  first error: $(first_error "$TMP/http-$kind_n-$r.json") $(head -c 300 "$TMP/http-$kind_n-$r.json.err")"
        fi
    done
done
col_median() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$3" | median; }
cpu_median() { awk -v n="$1" '$1 == n {print $4 + $5}' "$2" | median; }
h_wall=$(col_median "$N_HTTP" 3 "$TMP/http-runs.txt")
h_user=$(col_median "$N_HTTP" 4 "$TMP/http-runs.txt")
h_sys=$(col_median "$N_HTTP" 5 "$TMP/http-runs.txt")
h_cpu=$(cpu_median "$N_HTTP" "$TMP/http-runs.txt")
h1_wall=$(col_median 1 3 "$TMP/http-runs.txt")
h1_cpu=$(cpu_median 1 "$TMP/http-runs.txt")
h_walls=$(awk -v n="$N_HTTP" '$1 == n {printf "%s%s", sep, $3; sep = ", "}' "$TMP/http-runs.txt")
h_per=$(calc "$h_cpu / $N_HTTP" 6)
h_marg=$(calc "($h_cpu - $h1_cpu) / ($N_HTTP - 1)" 6)
h_lat_p50=$(jq '[.[].latency_ms] | sort | .[length / 2 | floor]' "$TMP/http-$N_HTTP-1.json" 2>/dev/null || echo nan)
h_lat_max=$(jq '[.[].latency_ms] | max' "$TMP/http-$N_HTTP-1.json" 2>/dev/null || echo nan)
target_met=$(awk -v w="$h_wall" -v t="$TARGET_WALL" -v ok="$http_all_ok" 'BEGIN {print (w < t && ok == "yes") ? "yes" : "no"}')

# ---------------------------------------------------------------- blackbox_exporter
mkdir -p "$TMP/blackbox"
blackbox_conf >"$TMP/blackbox/blackbox.yml"
"$BLACKBOX" --config.file="$TMP/blackbox/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
    >"$TMP/blackbox/out.log" 2>&1 &
BB_PID=$!
wait_http "http://127.0.0.1:$BB_PORT/metrics" || die "blackbox_exporter did not come up (see $TMP/blackbox/out.log)"
log "blackbox_exporter up on 127.0.0.1:$BB_PORT (pid $BB_PID)"

BB_HTTP_URL="http://127.0.0.1:$BB_PORT/probe?module=http_2xx&target=http%3A%2F%2F127.0.0.1%3A$NGINX_PORT%2Fhealth"
BB_TCP_URL="http://127.0.0.1:$BB_PORT/probe?module=tcp_connect&target=$PG_HOST%3A$PG_PORT"
probe_ok() { curl -fsS --max-time 5 "$1" | grep -q '^probe_success 1'; }
probe_ok "$BB_HTTP_URL" || die "blackbox http_2xx probe of nginx does not succeed"
probe_ok "$BB_TCP_URL" || die "blackbox tcp_connect probe of $PG_HOST:$PG_PORT does not succeed"

# bb_saturated URL [SERVER_PID]: prints "probes cpu_s_per_probe probes_per_s non2xx server_cpu_s_per_probe"
# (the last from SERVER_PID's reaped children, 0 without one).
bb_saturated() {
    wrk -t1 -c"$BB_CONNS" -d2s "$1" >/dev/null 2>&1 || true      # warm-up
    sleep 1
    local before after out s_before=0 s_after=0
    [[ -n ${2:-} ]] && s_before=$(child_ticks "$2")
    before=$(cpu_ticks "$BB_PID")
    out=$(wrk -t1 -c"$BB_CONNS" -d"${BB_SECONDS}s" "$1")
    after=$(cpu_ticks "$BB_PID")
    [[ -n ${2:-} ]] && { sleep 1; s_after=$(child_ticks "$2"); }
    echo "$out" >>"$TMP/blackbox/wrk.log"
    local n rps bad
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); bad=${bad:-0}
    [[ -n $n && $n -gt 0 ]] || die "wrk served no requests: $out"
    echo "$n $(calc "($after - $before) / $CLK_TCK / $n" 6) $rps $bad $(calc "($s_after - $s_before) / $CLK_TCK / $n" 6)"
}

log "blackbox http_2xx, wrk -t1 -c$BB_CONNS for ${BB_SECONDS}s"
read -r bbh_n bbh_per bbh_rps bbh_bad _ < <(bb_saturated "$BB_HTTP_URL")
probe_ok "$BB_HTTP_URL" || log "warning: blackbox http_2xx probe fails after the load run"
log "  $bbh_n probes, $(us "$bbh_per") CPU each, $bbh_rps probes/s, non-2xx $bbh_bad"

log "blackbox http_2xx paced: $PACED_PROBES probes at ~20/s (curl loop)"
p_before=$(cpu_ticks "$BB_PID"); p_start=$EPOCHREALTIME; p_fail=0
for _ in $(seq "$PACED_PROBES"); do
    curl -fsS --max-time 5 -o "$TMP/blackbox/paced.out" "$BB_HTTP_URL" || p_fail=$((p_fail + 1))
    sleep 0.05
done
p_after=$(cpu_ticks "$BB_PID"); p_secs=$(calc "$EPOCHREALTIME - $p_start")
bbp_per=$(calc "($p_after - $p_before) / $CLK_TCK / $PACED_PROBES" 6)
bbp_rate=$(calc "$PACED_PROBES / $p_secs" 1)
log "  $(us "$bbp_per") CPU each at $bbp_rate probes/s ($p_fail failed)"

# ---------------------------------------------------------------- postgres
PG_PID=$(ss -ltnpH "sport = :$PG_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[[ -n $PG_PID && -r /proc/$PG_PID/stat ]] || die "cannot find the PostgreSQL postmaster on :$PG_PORT"
PSQL=(psql "$PG_URL" -X -At -v ON_ERROR_STOP=1)
[[ -x /usr/lib/postgresql/15/bin/psql ]] && PSQL[0]=/usr/lib/postgresql/15/bin/psql   # skip the Perl wrapper
pg_version=$("${PSQL[@]}" -c 'show server_version' 2>/dev/null || echo "?")
pg_max=$("${PSQL[@]}" -c 'show max_connections' 2>/dev/null || echo "?")
pg_upkeep_backends() { "${PSQL[@]}" -c "select count(*) from pg_stat_activity where application_name = 'upkeep'" 2>/dev/null || echo 0; }
pg_settle() { # wait (<= 10 s) until upkeep's backends are gone and reaped
    for _ in $(seq 100); do [[ $(pg_upkeep_backends) == 0 ]] && break; sleep 0.1; done
    sleep 0.5
}
if [[ $N_PG_CLEAN == auto ]]; then
    # Free slots for ordinary users, minus a margin for whoever else uses this server.
    free=$("${PSQL[@]}" -c "select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - (select count(*) from pg_stat_activity where backend_type = 'client backend')" 2>/dev/null || echo 60)
    N_PG_CLEAN=$(( free - 10 )); (( N_PG_CLEAN > 80 )) && N_PG_CLEAN=80; (( N_PG_CLEAN < 2 )) && N_PG_CLEAN=2
fi

gen postgres "$N_PG" "$PG_URL" >"$TMP/pg-$N_PG.toml"
gen postgres "$N_PG_CLEAN" "$PG_URL" >"$TMP/pg-$N_PG_CLEAN.toml"
gen postgres 1 "$PG_URL" >"$TMP/pg-1.toml"
: >"$TMP/pg-runs.txt"
pg_settle
for n in "$N_PG" "$N_PG_CLEAN" 1; do
    runs=$PG_RUNS; [[ $n == "$N_PG" ]] && runs=$PG_BIG_RUNS
    for r in $(seq "$runs"); do
        s_before=$(child_ticks "$PG_PID")
        read -r wall user sys rc < <(run_measured "$TMP/pg-$n-$r.json" "$UPKEEP" -c "$TMP/pg-$n.toml" check --json)
        pg_settle
        s_after=$(child_ticks "$PG_PID")
        server=$(calc "($s_after - $s_before) / $CLK_TCK")
        ok=$(ok_count "$TMP/pg-$n-$r.json")
        echo "$n $r $wall $user $sys $rc $ok $server" >>"$TMP/pg-runs.txt"
        log "upkeep postgres n=$n run $r: wall ${wall}s user ${user}s sys ${sys}s ok $ok/$n, server ${server}s"
        if [[ $ok != "$n" && $r == 1 ]]; then
            error_kinds "$TMP/pg-$n-$r.json" >"$TMP/pg-$n-errors.txt"
            while read -r line; do log "  error: $line"; done <"$TMP/pg-$n-errors.txt"
        fi
    done
done
# The same clean run without TLS: PostgreSQL's default sslmode is `prefer`, so with `ssl = on`
# every new connection above also pays a TLS handshake on both sides.
gen postgres "$N_PG_CLEAN" "$PG_URL?sslmode=disable" >"$TMP/pg-nossl.toml"
for r in $(seq "$PG_RUNS"); do
    s_before=$(child_ticks "$PG_PID")
    read -r wall user sys rc < <(run_measured "$TMP/pg-nossl-$r.json" "$UPKEEP" -c "$TMP/pg-nossl.toml" check --json)
    pg_settle
    s_after=$(child_ticks "$PG_PID")
    server=$(calc "($s_after - $s_before) / $CLK_TCK")
    ok=$(ok_count "$TMP/pg-nossl-$r.json")
    echo "nossl $r $wall $user $sys $rc $ok $server" >>"$TMP/pg-runs.txt"
    log "upkeep postgres n=$N_PG_CLEAN sslmode=disable run $r: wall ${wall}s user ${user}s sys ${sys}s ok $ok/$N_PG_CLEAN, server ${server}s"
done
pgn_cpu=$(cpu_median nossl "$TMP/pg-runs.txt")
pgn_server=$(col_median nossl 8 "$TMP/pg-runs.txt")
pgn_per=$(calc "$pgn_cpu / $N_PG_CLEAN" 6)
pgn_server_per=$(calc "$pgn_server / $N_PG_CLEAN" 6)
pg_ssl=$("${PSQL[@]}" -c 'show ssl' 2>/dev/null || echo "?")

pg_ok=$(awk -v n="$N_PG" '$1 == n {print $7}' "$TMP/pg-runs.txt" | median)
pg_wall=$(col_median "$N_PG" 3 "$TMP/pg-runs.txt")
pg_cpu=$(cpu_median "$N_PG" "$TMP/pg-runs.txt")
pg_server=$(col_median "$N_PG" 8 "$TMP/pg-runs.txt")
pgc_ok=$(awk -v n="$N_PG_CLEAN" '$1 == n {print $7}' "$TMP/pg-runs.txt" | median)
pgc_wall=$(col_median "$N_PG_CLEAN" 3 "$TMP/pg-runs.txt")
pgc_cpu=$(cpu_median "$N_PG_CLEAN" "$TMP/pg-runs.txt")
pgc_server=$(col_median "$N_PG_CLEAN" 8 "$TMP/pg-runs.txt")
pg1_cpu=$(cpu_median 1 "$TMP/pg-runs.txt")
pg1_server=$(col_median 1 8 "$TMP/pg-runs.txt")
pg_per=$(calc "$pg_cpu / $N_PG" 6)
pg_marg=$(calc "($pg_cpu - $pg1_cpu) / ($N_PG - 1)" 6)
pgc_per=$(calc "$pgc_cpu / $N_PG_CLEAN" 6)
pgc_marg=$(calc "($pgc_cpu - $pg1_cpu) / ($N_PG_CLEAN - 1)" 6)
pg_server_per=$(calc "$pg_server / $N_PG" 6)
pgc_server_per=$(calc "$pgc_server / $N_PG_CLEAN" 6)

log "blackbox tcp_connect to $PG_HOST:$PG_PORT, wrk -t1 -c$BB_CONNS for ${BB_SECONDS}s"
read -r bbt_n bbt_per bbt_rps bbt_bad bbt_server_per < <(bb_saturated "$BB_TCP_URL" "$PG_PID")
log "  $bbt_n probes, $(us "$bbt_per") CPU each, $bbt_rps probes/s, server ~$(us "$bbt_server_per") each"

# ---------------------------------------------------------------- report
upkeep_version=$("$UPKEEP" --version 2>&1 | head -1)
upkeep_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
upkeep_dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (work tree has uncommitted changes)" || true)
rustc_version=$(rustc --version 2>/dev/null || echo "?")
bb_version=$("$BLACKBOX" --version 2>&1 | head -1)
nginx_version=$("$NGINX" -v 2>&1 | head -1)
wrk_version=$(wrk -v 2>&1 | head -1 || true)
cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)

{
    echo "## upkeep check vs blackbox_exporter — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: \`nproc\` = $(nproc), ${cpu_model:-unknown CPU}, $(uname -sr); shared and noisy (other builds may run)."
    echo "Versions: $upkeep_version (release, commit $upkeep_commit$upkeep_dirty), $rustc_version; $bb_version;"
    echo "$nginx_version; ${wrk_version:-wrk}; PostgreSQL $pg_version (max_connections $pg_max)."
    echo "Produced by \`bench/check_vs_blackbox.sh\` (N_HTTP=$N_HTTP, RUNS=$RUNS, N_PG=$N_PG × $PG_BIG_RUNS, N_PG_CLEAN=$N_PG_CLEAN × $PG_RUNS, concurrency $CONCURRENCY, blackbox wrk -t1 -c$BB_CONNS -d${BB_SECONDS}s)."
    echo
    echo "| metric | upkeep | blackbox_exporter | ratio (upkeep / blackbox) |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| \`upkeep check\`, $N_HTTP HTTP checks: wall, median of $RUNS (target < ${TARGET_WALL} s) | $h_wall s | $(calc "$N_HTTP / $bbh_rps" 2) s¹ | $(ratio "$h_wall" "$(calc "$N_HTTP / $bbh_rps" 6)") |"
    echo "| same run: CPU user+sys, median | $(calc "$h_cpu" 3) s (user $h_user, sys $h_sys) | $(calc "$bbh_per * $N_HTTP" 3) s¹ | $(ratio "$h_cpu" "$(calc "$bbh_per * $N_HTTP" 6)") |"
    echo "| HTTP CPU per probe, whole process / N² | $(us "$h_per") | $(us "$bbh_per") | $(ratio "$h_per" "$bbh_per") |"
    echo "| HTTP CPU per probe, marginal ((N run − 1 run) / (N−1)) | $(us "$h_marg") | $(us "$bbh_per") | $(ratio "$h_marg" "$bbh_per") |"
    echo "| HTTP CPU per probe, blackbox paced at $bbp_rate/s | — | $(us "$bbp_per") | — |"
    echo "| PostgreSQL CPU per probe, whole process / N, N = $N_PG³ | $(us "$pg_per") | $(us "$bbt_per") (tcp_connect⁴) | $(ratio "$pg_per" "$bbt_per") |"
    echo "| PostgreSQL CPU per probe, marginal, N = $N_PG³ | $(us "$pg_marg") | $(us "$bbt_per") (tcp_connect⁴) | $(ratio "$pg_marg" "$bbt_per") |"
    echo "| PostgreSQL CPU per probe, whole process / N, N = $N_PG_CLEAN (fits the server) | $(us "$pgc_per") | $(us "$bbt_per") (tcp_connect⁴) | $(ratio "$pgc_per" "$bbt_per") |"
    echo "| PostgreSQL CPU per probe, marginal, N = $N_PG_CLEAN | $(us "$pgc_marg") | $(us "$bbt_per") (tcp_connect⁴) | $(ratio "$pgc_marg" "$bbt_per") |"
    echo "| PostgreSQL CPU per probe, whole process / N, N = $N_PG_CLEAN, sslmode=disable⁵ | $(us "$pgn_per") | $(us "$bbt_per") (tcp_connect⁴) | $(ratio "$pgn_per" "$bbt_per") |"
    echo "| PostgreSQL server CPU per probe, N = $N_PG_CLEAN, sslmode=disable⁵ | $(us "$pgn_server_per") | $(us "$bbt_server_per") (tcp_connect) | $(ratio "$pgn_server_per" "$bbt_server_per") |"
    echo "| PostgreSQL server CPU per probe (backends), N = $N_PG / $N_PG_CLEAN | $(us "$pg_server_per") / $(us "$pgc_server_per") | $(us "$bbt_server_per") (tcp_connect) | $(ratio "$pgc_server_per" "$bbt_server_per") |"
    echo
    echo "**Target (${N_HTTP} HTTP checks in under ${TARGET_WALL} s wall, all ok): $target_met** — walls: $h_walls s; all checks ok: $http_all_ok; latency p50 $h_lat_p50 ms, max $h_lat_max ms (run 1)."
    echo
    echo "Other figures: 1-check \`upkeep check\` (http) wall $h1_wall s, CPU $(calc "$h1_cpu" 3) s; \`upkeep config validate\` of the $N_HTTP-check file CPU $validate_cpu s, wall $v_wall s;"
    echo "1-check postgres CPU $(calc "$pg1_cpu" 3) s (server $pg1_server s); $N_PG postgres checks: $pg_ok ok (median), wall $pg_wall s, server $pg_server s;"
    echo "$N_PG_CLEAN postgres checks: $pgc_ok ok, wall $pgc_wall s, server $pgc_server s. Blackbox: $bbh_n http_2xx probes at $bbh_rps/s (non-2xx $bbh_bad), $bbt_n tcp_connect probes at $bbt_rps/s."
    echo
    if [[ -s $TMP/pg-$N_PG-errors.txt ]]; then
        echo "Errors in the first $N_PG-postgres-check run (count, message):"
        echo
        sed 's/^ */    /' "$TMP/pg-$N_PG-errors.txt"
        echo
    fi
    echo "1. blackbox has no batch mode: its column is $N_HTTP × (its per-probe CPU) and $N_HTTP / (its probe rate with $BB_CONNS probes in flight under wrk); indicative only."
    echo "2. upkeep's whole-process figure includes process and runtime start, config parsing and printing the JSON; the marginal row subtracts a 1-check run."
    echo "   upkeep reuses keep-alive connections to the one host (pooled client); blackbox opens a new connection per probe."
    echo "3. upkeep's postgres probe: connect + SELECT 1 + a stats query (database size, connections); each check keeps its own connection until the process exits,"
    echo "   so with $N_PG checks only as many succeed as the server has free slots (max_connections $pg_max); the rest fail with an error and are still counted in N."
    echo "4. blackbox_exporter has no PostgreSQL prober; tcp_connect to $PG_HOST:$PG_PORT only opens and closes a TCP connection (the server still forks a backend for it)."
    echo "   Server CPU is the postmaster's reaped children's CPU (cutime+cstime) across the run: includes any other client's backends that ended meanwhile."
    echo "5. The server has ssl = $pg_ssl; the URL without sslmode means \`prefer\`, so the other postgres rows include a TLS handshake per new connection."
} >"$RESULTS_MD"

echo
cat "$RESULTS_MD"
echo
log "written to $RESULTS_MD"
