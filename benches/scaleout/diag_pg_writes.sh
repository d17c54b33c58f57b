#!/usr/bin/env bash
# Where a PostgreSQL write's time goes: createEntity from 1 and 8
# connections (wrk, DURATION s) against one instance on a fresh database,
# with the writes per store commit and the mean commit time from /metrics
# (store_commit_duration_seconds); then pgbench, 1 client, of
# benches/scaleout/pg_product_tx.sql (the product's transaction shape) and
# of benches/scaleout/pg_floor.sql (a one-row INSERT) on the same database.
#
#   bash benches/scaleout/diag_pg_writes.sh
source "$(dirname "$0")/lib.sh"
need_tools
DURATION="${DURATION:-5}"
fresh_db scaleout_diag; url=$DB_URL
psql -q -d scaleout_diag -c "CREATE TABLE floor (id text PRIMARY KEY, body json NOT NULL)"
start "$work/d.log" --database-url "$url"
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}' | grep . || echo 0; }
for c in 1 8; do
  n0=$(metric 'partnergraph_store_commit_duration_seconds_count{outcome="ok"}'); s0=$(metric 'partnergraph_store_commit_duration_seconds_sum{outcome="ok"}')
  v0=$(psql -Atq -d scaleout_diag -c 'SELECT version FROM graph_version')
  t=$(( c < 2 ? 1 : 2 ))
  rps=$(RUN="d$c$RANDOM" wrk -t$t -c$c -d"${DURATION}s" -s benches/create.lua "$URL/graphql" 2>/dev/null | sed -n 's/Requests\/sec:\s*//p')
  n1=$(metric 'partnergraph_store_commit_duration_seconds_count{outcome="ok"}'); s1=$(metric 'partnergraph_store_commit_duration_seconds_sum{outcome="ok"}')
  v1=$(psql -Atq -d scaleout_diag -c 'SELECT version FROM graph_version')
  python3 -c "
n = $n1 - $n0; w = $v1 - $v0
print(f'server, {$c} connections: {$rps} writes/s, {w} writes in {n:.0f} commits ({w / max(n, 1):.2f} per commit), mean commit {1000 * ($s1 - $s0) / max(n, 1):.2f} ms')"
done
stop "$PID"
for s in pg_product_tx pg_floor; do
  echo "pgbench $s.sql, 1 client: $("$PGBENCH" -n -M prepared -c 1 -j 1 -T "$DURATION" -f "benches/scaleout/$s.sql" scaleout_diag 2>&1 | grep -E '^(tps|latency average)' | tr '\n' ' ')"
done
