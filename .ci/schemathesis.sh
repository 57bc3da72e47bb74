#!/usr/bin/env bash
# Fuzzes every operation of the API's OpenAPI document against the real daemon with
# schemathesis (from PyPI, in its own virtual environment): any server error, response that does
# not match its schema, or status the document does not list fails CI.
# `positive_data_acceptance` is left out: a request can match the schema and still mean nothing
# (`from` after `to`), and such a request gets a documented 400.
# Usage: .ci/schemathesis.sh PATH-TO-UPKEEP
set -euo pipefail
bin=$(realpath "$1")
venv=${UPKEEP_SCHEMATHESIS_VENV:-$HOME/.cache/upkeep-schemathesis}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi

dir=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
token=$("$bin" token new --name fuzz --role admin 2>"$dir/token.txt")
sha=$(sed -n 's/^sha256 = "\(.*\)"$/\1/p' "$dir/token.txt")
cat >"$dir/upkeep.toml" <<TOML
[server]
data_dir = "data"

[[token]]
name = "fuzz"
sha256 = "$sha"
role = "admin"

[[check]]
name = "root"
kind = "file"
path = "/"
every = "1s"

[[check]]
name = "nightly"
kind = "heartbeat"
id = "nightly"
every = "1h"
TOML
"$bin" -c "$dir/upkeep.toml" serve --listen 127.0.0.1:0 2>"$dir/log" &
pid=$!
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$dir/log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$dir/log"; echo "the daemon did not start" >&2; exit 1; }

"$venv/bin/schemathesis" run "$url/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "${UPKEEP_SCHEMATHESIS_EXAMPLES:-100}" \
  --workers 2
kill -0 "$pid" || { cat "$dir/log"; echo "the daemon died under fuzzing" >&2; exit 1; }
