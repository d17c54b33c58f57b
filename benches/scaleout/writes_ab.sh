#!/usr/bin/env bash
# Two builds' PostgreSQL write throughput in the same run: createEntity
# (wrk + benches/create.lua) from 1 and 8 connections against each binary on
# a fresh database, taking turns round by round, then pgbench's one-row
# floor (benches/scaleout/pg_floor.sql) from 1 and 8 clients. For the 8-client
# runs it also prints the CPU each write cost the server and PostgreSQL
# (from /proc) and the writes per store commit (from /metrics).
#
#   BEFORE=/path/to/old/partnergraph AFTER=target/release/partnergraph \
#     bash benches/scaleout/writes_ab.sh          # 2 rounds of 10 s (~2.5 min)
source "$(dirname "$0")/lib.sh"
need_tools
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-10}"
: "${BEFORE:?set BEFORE to the binary to compare against}"
AFTER="${AFTER:-$BIN}"

fresh_db writes_ab_floor
psql -q -d writes_ab_floor -c "CREATE TABLE floor (id text PRIMARY KEY, body json NOT NULL)"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() {
  local s=0 p
  for p in $(pgrep -x postgres); do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$s"
}
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}' | grep . || echo 0; }
commits='partnergraph_store_commit_duration_seconds_count{outcome="ok"}'
floor() {
  "$PGBENCH" -n -M prepared -c "$1" -j "$(( $1 < 2 ? 1 : 2 ))" -T "$DURATION" -f benches/scaleout/pg_floor.sql writes_ab_floor 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
}

for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    if [ "$side" = before ]; then BIN="$BEFORE"; else BIN="$AFTER"; fi
    db="writes_ab_${side}_$round"
    fresh_db "$db"
    start "$work/$side.log" --database-url "$DB_URL"
    for c in 1 8; do
      s0=$(ticks "$PID"); p0=$(pg_ticks); n0=$(metric "$commits")
      v0=$(psql -Atq -d "$db" -c 'SELECT version FROM graph_version')
      read -r rps p50 p99 bad < <(RUN="r$RANDOM$RANDOM" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${DURATION}s" \
        --timeout 30s --latency -s benches/create.lua "$URL/graphql" 2>/dev/null | wrk_summary)
      s1=$(ticks "$PID"); p1=$(pg_ticks); n1=$(metric "$commits")
      v1=$(psql -Atq -d "$db" -c 'SELECT version FROM graph_version')
      python3 -c "
w = max($v1 - $v0, 1); tick = 1e6 / $(getconf CLK_TCK)
print(f'round $round $side $c clients: {$rps:.0f} writes/s, p50 {$p50} ms, p99 {$p99} ms, failed $bad; '
      f'CPU per write: server {($s1 - $s0) * tick / w:.0f} us, PostgreSQL {($p1 - $p0) * tick / w:.0f} us; '
      f'{w / max($n1 - $n0, 1):.2f} writes per commit')"
    done
    stop "$PID"
  done
  for c in 1 8; do echo "round $round floor $c clients: $(floor "$c") writes/s"; done
done
