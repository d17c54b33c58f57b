# Helpers shared by the benches/scaleout/ scripts (sourced, not run).
#
# Everything listens on 127.0.0.1; every server and database a script
# starts or creates is recorded and removed by `cleanup` on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
PGPORT="${PGPORT:-5432}"
export PGHOST PGUSER PGPORT
BIN="${BIN:-$root/target/release/partnergraph}"
TOKEN="${TOKEN:-scaleout-token}"
export TOKEN
# The built-in article's evidence, which every created entity quotes.
export DOCUMENT="${DOCUMENT:-k24-peshmerga-us-iraq-talks}"
export QUOTE="${QUOTE:-including the Asayish and Peshmerga}"

PGBENCH="$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)"

work="$(mktemp -d "${TMPDIR:-/tmp}/scaleout.XXXXXX")"
pids=()
dbs=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  for d in "${dbs[@]:-}"; do [ -n "$d" ] && dropdb --if-exists "$d" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

need_tools() {
  if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  fi
  python3 -c 'import websockets' 2>/dev/null || pip install -q websockets
  [ -x "$BIN" ] || cargo build --release --locked --quiet --bin partnergraph
}

# Creates a fresh database named $1 (dropped on exit); sets DB_URL. Not
# to be called in $(...): the subshell would forget to drop it.
fresh_db() {
  dropdb --if-exists "$1" >/dev/null 2>&1 || true
  createdb "$1"
  dbs+=("$1")
  DB_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$1"
}

# Starts `partnergraph serve` with the shipped defaults plus the arguments
# given (--listen 127.0.0.1:0 and the write token are added); sets URL, PID
# and STARTUP (seconds from exec to the listening line on stdout).
start() {
  local log="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  PARTNERGRAPH_WRITE_TOKEN="$TOKEN" "$BIN" serve --listen 127.0.0.1:0 "$@" >"$log" 2>"$log.err" &
  PID=$!
  pids+=("$PID")
  URL=""
  for _ in $(seq 1 12000); do
    URL="$(sed -n 's/^.*listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n 1)"
    if [ -n "$URL" ]; then
      t1=$(date +%s.%N)
      STARTUP=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || { echo "server exited:"; cat "$log.err"; exit 1; }
    sleep 0.01
  done
  echo "server did not start in 120 s"; cat "$log.err"; exit 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# Parses wrk's output on stdin: prints "req/s p50_ms p99_ms non2xx".
wrk_summary() { python3 "$root/benches/wrkout.py"; }

gql_body() { python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1"; }
