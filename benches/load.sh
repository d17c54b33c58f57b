#!/usr/bin/env bash
# Load benchmark: builds the release binary, serves each dataset, and drives
# four GraphQL queries with wrk, plus the same load against a bare actix-web
# endpoint that returns Q1's exact response bytes (the floor of HTTP + bytes
# on this machine). Prints a Markdown report (throughput, p50/p99 latency,
# resident memory, start-up time). Each query is first run for WARMUP
# seconds unreported, then ROUNDS times; the table holds the medians.
#
#   bash benches/load.sh                       # article, 10k and 1M entities
#   SIZES="10000" DURATION=5 bash benches/load.sh
#   bash benches/load.sh --smoke               # seconds: article only, no timings kept
#   KEEP=dir bash benches/load.sh              # keep each size's generated file and
#                                            # store in dir, and reuse them next time
#   SHIPPED_ONLY=1 bash benches/load.sh        # only the shipped-defaults comparison
#
# The article's Q1 is also measured as shipped: the binary with no flag but
# --listen and --data-dir (so `--log info`, both caches on), against the
# bare endpoint, at 32 and 64 connections, with no Accept header and with
# `Accept: application/json`, alternating rounds; and the same binary with
# only `--response-cache-size 0`, so that Q1 is resolved every time.
#
# Servers listen on 127.0.0.1 only; every run is bounded by DURATION. The
# analysis time limit is raised to two minutes so that a far shortestPath on
# a million entities, queued behind 31 others, is measured rather than
# refused; every query is checked to answer without errors first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
SIZES="${SIZES-10000 1000000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-2}"
KEEP="${KEEP:-}"
if [ "$SMOKE" = 1 ]; then SIZES=""; DURATION=1; CONNECTIONS=4; ROUNDS=1; WARMUP=1; fi

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --locked --quiet --bin partnergraph --example bare_endpoint
bin="$root/target/release/partnergraph"
bare="$root/target/release/examples/bare_endpoint"

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Starts a server whose first stdout line names its URL; sets URL and PID.
start() {
  local log="$1"; shift
  "$@" >"$log" 2>"$log.err" &
  PID=$!
  pids+=("$PID")
  URL=""
  for _ in $(seq 1 6000); do
    URL="$(sed -n 's/^.*listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n 1)"
    [ -n "$URL" ] && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$log.err"; exit 1; }
    sleep 0.01
  done
  echo "server did not start"; cat "$log.err"; exit 1
}

# Q1: the entity `$1` with its relations and their ends' names.
q1() { echo "{ entity(id: \"$1\") { id name relations(first: 100) { edges { node { kind from { name } to { name } } } } } }"; }

gql_body() { python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1"; }

# Runs wrk against URL with BODY; prints "req/s p50 p99".
load() {
  local url="$1" body="$2" out
  out="$(BODY_FILE="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 60s --latency -s benches/post.lua "$url")"
  read -r rps p50 p99 errors < <(python3 benches/wrkout.py <<<"$out")
  if [ "$errors" != 0 ]; then echo "wrk saw $errors error responses" >&2; exit 1; fi
  printf '%.0f %s %s\n' "$rps" "$p50" "$p99"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Waits until the server has been idle for half a second: requests a load
# run left in flight (wrk stops waiting for them, the server does not) would
# otherwise weigh on the next one.
settle() {
  local last now
  last=$(cpu_ticks "$1")
  for _ in $(seq 1 600); do
    sleep 0.5
    now=$(cpu_ticks "$1")
    [ $((now - last)) -le 5 ] && return 0
    last=$now
  done
}

# Waits until the whole machine has been idle (over 90% idle time) for two
# seconds, at most two minutes: what ran before (a data file parsed to pick
# the queries, an import) leaves the kernel work to do that would weigh on
# the server's first minute.
quiet_machine() {
  python3 - <<'PY'
import time
def snap():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3] + v[4], sum(v)
quiet = 0
for _ in range(240):
    i0, t0 = snap()
    time.sleep(0.5)
    i1, t1 = snap()
    quiet = quiet + 1 if (i1 - i0) > 0.9 * max(1, t1 - t0) else 0
    if quiet >= 4:
        break
PY
}

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

echo "## Load benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, median of $ROUNDS after ${WARMUP}s warm-up)"
echo
echo "| dataset | query | req/s | p50 ms | p99 ms |"
echo "| --- | --- | ---: | ---: | ---: |"

run_dataset() {
  local name="$1" data="$2" q1id="$3" q2id="$4" far_a="$5" far_b="$6" prefix="$7" amount="${8-}"
  local t0 t1 queries="q1 q2 q3 q4"
  quiet_machine
  t0=$(date +%s.%N)
  # The response cache is off here: Q1-Q4 must run to measure what they
  # cost, not be answered from memory after their first run.
  start "$work/${name//\//-}.log" "$bin" --listen 127.0.0.1:0 --data-dir "$data" --log warn --max-resolved-fields 10000000 --analysis-time-limit-ms 120000 --response-cache-size 0
  t1=$(date +%s.%N)
  local server_pid=$PID server_url=$URL
  local startup; startup=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  gql_body "$(q1 "$q1id")" > "$work/q1.json"
  gql_body "{ neighborhood(id: \"$q2id\", depth: 2) { entities { id } relations { id } } }" > "$work/q2.json"
  gql_body "{ shortestPath(from: \"$far_a\", to: \"$far_b\") { length } }" > "$work/q3.json"
  gql_body "{ entities(search: \"$prefix\", first: 10) { totalCount edges { node { id name } } } }" > "$work/q4.json"
  if [ -n "$amount" ]; then
    # Q5 a selective filter (one amount about 100 relations state) with its
    # count; Q6 the funding totals by recipient, the 20 largest rows.
    gql_body "{ relations(filter: { amountAtLeast: $amount, amountAtMost: $amount }, first: 10) { totalCount edges { node { id } } } }" > "$work/q5.json"
    gql_body "{ fundingTotals(groupBy: RECIPIENT, first: 20) { entity { id } total { amount currency qualifier } relations unstated } }" > "$work/q6.json"
    queries="$queries q5 q6"
  fi
  for q in $queries; do
    # A query that answers with errors would measure the wrong thing.
    if curl -s "$server_url/graphql" -H 'content-type: application/json' -d @"$work/$q.json" | grep -q '"errors"'; then
      echo "| $name | ${q^^} | answered with errors: $(curl -s "$server_url/graphql" -H 'content-type: application/json' -d @"$work/$q.json" | head -c 300) | | |"
      continue
    fi
    # A short unreported run first: the first seconds of load on a freshly
    # started server pay for what start-up left behind (the allocator
    # returning the loading's freed pages, pages touched for the first
    # time), which is not what the query costs. Then the median of ROUNDS.
    settle "$server_pid"
    DURATION="$WARMUP" load "$server_url/graphql" "$work/$q.json" > /dev/null
    : > "$work/$q.rounds"
    for _ in $(seq 1 "$ROUNDS"); do
      settle "$server_pid"
      load "$server_url/graphql" "$work/$q.json" >> "$work/$q.rounds"
    done
    read -r rps p50 p99 < <(python3 - "$work/$q.rounds" <<'PY'
import statistics, sys
rows = [[float(x) for x in line.split()] for line in open(sys.argv[1])]
rps, p50, p99 = (statistics.median(r[k] for r in rows) for k in range(3))
print(f"{rps:.0f} {p50:.3f} {p99:.3f}")
PY
)
    echo "| $name | ${q^^} | $rps | $p50 | $p99 |"
    if [ "$q" = q5 ] || [ "$q" = q6 ]; then
      # With many connections an analysis's latency is mostly its queue;
      # one client alone shows what one answer takes.
      settle "$server_pid"
      THREADS=1 CONNECTIONS=1 load "$server_url/graphql" "$work/$q.json" > "$work/$q.one"
      read -r rps p50 p99 < "$work/$q.one"
      echo "| $name | ${q^^}, one client | $rps | $p50 | $p99 |"
    fi
  done
  if [ "$name" = "article" ]; then
    # Q1 against the bare endpoint, alternating rounds so that whatever else
    # the machine is doing weighs on both alike; medians of ROUNDS each.
    curl -s "$server_url/graphql" -H 'content-type: application/json' -d @"$work/q1.json" > "$work/q1.response"
    start "$work/bare.log" "$bare" 127.0.0.1:0 "$work/q1.response"
    local bare_pid=$PID bare_url=$URL
    # The service as configured by default, response cache on.
    start "$work/cached.log" "$bin" --listen 127.0.0.1:0 --data-dir "$work/article-cached" --log warn
    local cached_pid=$PID cached_url=$URL
    # And with no cache at all: every request parsed, validated and run.
    start "$work/uncached.log" "$bin" --listen 127.0.0.1:0 --data-dir "$work/article-uncached" --log warn --response-cache-size 0 --document-cache-size 0
    local uncached_pid=$PID uncached_url=$URL
    : > "$work/rounds"
    settle "$server_pid"
    for _ in $(seq 1 "$ROUNDS"); do
      echo "bare $(load "$bare_url/graphql" "$work/q1.json")" >> "$work/rounds"
      echo "cached $(load "$cached_url/graphql" "$work/q1.json")" >> "$work/rounds"
      echo "run $(load "$server_url/graphql" "$work/q1.json")" >> "$work/rounds"
      echo "uncached $(load "$uncached_url/graphql" "$work/q1.json")" >> "$work/rounds"
    done
    kill "$bare_pid" "$cached_pid" "$uncached_pid"
    python3 - "$work/rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def med(kind, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == kind)
labels = (
    ("bare", "bare endpoint (Q1's bytes)"),
    ("cached", "article, Q1, response cache on (default)"),
    ("run", "article, Q1, response cache off"),
    ("uncached", "article, Q1, no caches (parsed and validated every time)"),
)
for kind, label in labels:
    print(f"| {label} | Q1 | {med(kind, 1):.0f} | {med(kind, 2):.3f} | {med(kind, 3):.3f} |")
for kind, label in labels[1:]:
    print(f"| Q1 / bare throughput, {label.split(', ', 2)[2]} | | {100 * med(kind, 1) / med('bare', 1):.0f}% | | |")
PY
  fi
  echo "| $name | resident memory | $(rss_mb "$server_pid") MB | start-up ${startup} s | |"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
}

# Q1 as a user runs the binary: its shipped defaults only.
shipped() {
  local c_list="32 64" accepts=("" "application/json")
  [ "$SMOKE" = 1 ] && c_list="$CONNECTIONS"
  local q1="$work/shipped-q1.json"
  gql_body "$(q1 ctef)" > "$q1"
  start "$work/shipped.log" "$bin" --listen 127.0.0.1:0 --data-dir "$work/shipped-data"
  local cached_pid=$PID cached_url=$URL
  start "$work/shipped-run.log" "$bin" --listen 127.0.0.1:0 --data-dir "$work/shipped-run-data" --response-cache-size 0
  local run_pid=$PID run_url=$URL
  curl -s "$cached_url/graphql" -H 'content-type: application/json' -d @"$q1" > "$work/shipped.response"
  start "$work/shipped-bare.log" "$bare" 127.0.0.1:0 "$work/shipped.response"
  local bare_pid=$PID bare_url=$URL
  quiet_machine
  : > "$work/shipped.rounds"
  for c in $c_list; do
    for accept in "${accepts[@]}"; do
      for url in "$bare_url" "$cached_url" "$run_url"; do
        ACCEPT="$accept" CONNECTIONS="$c" DURATION="$WARMUP" load "$url/graphql" "$q1" > /dev/null
      done
      for _ in $(seq 1 "$ROUNDS"); do
        echo "$c ${accept:-none} bare $(ACCEPT="$accept" CONNECTIONS="$c" load "$bare_url/graphql" "$q1")" >> "$work/shipped.rounds"
        echo "$c ${accept:-none} cached $(ACCEPT="$accept" CONNECTIONS="$c" load "$cached_url/graphql" "$q1")" >> "$work/shipped.rounds"
        echo "$c ${accept:-none} run $(ACCEPT="$accept" CONNECTIONS="$c" load "$run_url/graphql" "$q1")" >> "$work/shipped.rounds"
      done
    done
  done
  kill "$bare_pid" "$cached_pid" "$run_pid"
  echo
  echo "### Q1 on the article as shipped (no flags; median of $ROUNDS alternating rounds)"
  echo
  echo "| connections | Accept | bare req/s | cache hit req/s | ratio | resolved req/s | ratio |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
  python3 - "$work/shipped.rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
groups = []
for r in rows:
    if (r[0], r[1]) not in groups:
        groups.append((r[0], r[1]))
for c, accept in groups:
    med = lambda kind: statistics.median(float(r[3]) for r in rows if (r[0], r[1], r[2]) == (c, accept, kind))
    bare, cached, run = med("bare"), med("cached"), med("run")
    print(f"| {c} | {accept} | {bare:.0f} | {cached:.0f} | {cached / bare:.2f}× | {run:.0f} | {run / bare:.2f}× |")
PY
  echo
}

if [ "${SHIPPED_ONLY:-0}" = 1 ]; then
  shipped
  exit 0
fi

run_dataset article "$work/article-data" ctef ctef issa-ozeir partner-forces-in-syria "coun"
shipped

for n in $SIZES; do
  rels=$((n * 5))
  kept="${KEEP:-$work}"
  mkdir -p "$kept"
  if [ -n "$KEEP" ] && [ -f "$kept/gen-$n.json" ] && [ -d "$kept/gen-$n" ]; then
    echo "| ${n} entities / ${rels} relations | import | kept from an earlier run | | |"
  else
    rm -rf "$kept/gen-$n"
    "$bin" generate --entities "$n" --relations "$rels" --seed 1 --out "$kept/gen-$n.json" >&2
    t0=$(date +%s.%N)
    "$bin" import "$kept/gen-$n.json" --no-seed --data-dir "$kept/gen-$n" >&2
    t1=$(date +%s.%N)
    # Start-up is measured with the import's writes on disk, not in flight.
    sync
    echo "| ${n} entities / ${rels} relations | import | $(python3 -c "print(f'{$t1 - $t0:.1f}')") s | | |"
  fi
  # Queries that touch about as much at every size, so that latency shows
  # what the graph's size costs: Q1 an entity of median degree; Q2 one whose
  # two-hop neighbourhood has about 300 entities and relations; Q4 a 4-letter prefix that
  # about 20 names contain; Q3 the first and last entities (far apart); Q5
  # the stated amount that about 100 relations share.
  read -r q1id q2id far_a far_b prefix amount < <(python3 - "$kept/gen-$n.json" <<'PY'
import collections, json, sys, unicodedata
data = json.load(open(sys.argv[1]))
adj = collections.defaultdict(set)
for r in data["relations"]:
    adj[r["from"]].add(r["to"])
    adj[r["to"]].add(r["from"])
ids = sorted(adj, key=lambda i: (len(adj[i]), i))
median = ids[len(ids) // 2]
def two_hop_cost(i):
    # Entities within two hops, and the relations they bring: the work of
    # an induced two-hop neighbourhood.
    seen = {i} | adj[i]
    for j in adj[i]:
        seen |= adj[j]
        if len(seen) > 500:
            return 10**9
    return len(seen) + sum(len(adj[k]) for k in seen)
q2 = min(sorted(adj)[:5000], key=lambda i: (abs(two_hop_cost(i) - 300), i))
def fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
names = [fold(e["name"]) for e in data["entities"]]
grams = collections.Counter()
for name in names:
    grams.update({name[k:k + 4] for k in range(len(name) - 3)})
starts = {name[:4] for name in names if name[:4].isalpha()}
prefix = min(sorted(starts), key=lambda g: (abs(grams[g] - 20), g))
amounts = collections.Counter(r["amount"]["amount"] for r in data["relations"] if r.get("amount"))
amount = min(sorted(amounts), key=lambda a: (abs(amounts[a] - 100), a))
print(median, q2, data["entities"][0]["id"], data["entities"][-1]["id"], prefix, amount)
PY
)
  run_dataset "${n}/${rels}" "$kept/gen-$n" "$q1id" "$q2id" "$far_a" "$far_b" "$prefix" "$amount"
done
