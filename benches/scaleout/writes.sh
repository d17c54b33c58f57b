#!/usr/bin/env bash
# Write throughput of single-entity createEntity (wrk + benches/create.lua)
# from 1 and 8 connections, on SQLite (a fresh data directory) and on
# PostgreSQL (a fresh database), each against its engine's own floor
# measured in the same round, alternating server / floor:
#   - SQLite floor: benches/scaleout/sqlite_floor.py, one-row transactions,
#     WAL + synchronous=FULL, 1 and 8 threads each with its own connection
#     (8 threads twice: on SQLite's busy handler, and taking turns on one
#     lock in the process);
#   - PostgreSQL floor: pgbench -M prepared -n with benches/scaleout/pg_floor.sql
#     (one-row INSERT per transaction) on a table (id text primary key,
#     body json) in a database of its own, 1 and 8 clients.
# The servers run with the shipped defaults (only --listen, the store and a
# write token given). Prints one line per measurement and a Markdown table.
#
#   bash benches/scaleout/writes.sh                 # 2 rounds of 10 s runs (~3.5 min)
#   ROUNDS=1 DURATION=3 bash benches/scaleout/writes.sh
source "$(dirname "$0")/lib.sh"
need_tools
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-10}"

fresh_db scaleout_writes; pg_url=$DB_URL
fresh_db scaleout_floor
psql -q -d scaleout_floor -c "CREATE TABLE floor (id text PRIMARY KEY, body json NOT NULL)"

start "$work/sqlite.log" --data-dir "$work/sqlite-data"
sqlite_url=$URL sqlite_pid=$PID
start "$work/pg.log" --database-url "$pg_url"
pg_url_http=$URL pg_pid=$PID
mkdir -p "$work/floor"

# wrk with create.lua for DURATION seconds; prints "writes/s failed".
server_run() {
  local url="$1" c="$2" t out
  t=$(( c < 2 ? 1 : 2 ))
  out="$(RUN="r$RANDOM$RANDOM" wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 30s --latency \
    -s benches/create.lua "$url/graphql" 2>"$work/wrk.err")"
  read -r rps _ _ bad < <(echo "$out" | wrk_summary)
  echo "$rps $(( bad + $(grep -c 'write failed' "$work/wrk.err" || true) ))"
}

pg_floor() {
  local c="$1" j
  j=$(( c < 2 ? 1 : 2 ))
  "$PGBENCH" -n -M prepared -c "$c" -j "$j" -T "$DURATION" -f benches/scaleout/pg_floor.sql scaleout_floor 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
}

results="$work/results"
: > "$results"
for round in $(seq 1 "$ROUNDS"); do
  for c in 1 8; do
    read -r w f < <(server_run "$sqlite_url" "$c")
    echo "$round sqlite server $c $w $f" | tee -a "$results"
    echo "$round sqlite floor $c $(python3 benches/scaleout/sqlite_floor.py "$work/floor" "$c" "$DURATION") 0" | tee -a "$results"
    if [ "$c" = 8 ]; then
      echo "$round sqlite floor-onelock $c $(python3 benches/scaleout/sqlite_floor.py "$work/floor" "$c" "$DURATION" --one-lock) 0" | tee -a "$results"
    fi
    read -r w f < <(server_run "$pg_url_http" "$c")
    echo "$round postgres server $c $w $f" | tee -a "$results"
    echo "$round postgres floor $c $(pg_floor "$c") 0" | tee -a "$results"
  done
done
echo "server resident MB at the end: sqlite $(rss_mb "$sqlite_pid"), postgres $(rss_mb "$pg_pid")"
echo "postgres store version: $(psql -Atq -d scaleout_writes -c 'SELECT version FROM graph_version'), change_log rows: $(psql -Atq -d scaleout_writes -c 'SELECT count(*) FROM change_log')"
grep -ic "error\|warn" "$work/pg.log.err" | sed 's/^/postgres server log lines with error or warn: /' || true

python3 - "$results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
get = lambda r, e, k, c: next(float(x[4]) for x in rows if x[0] == r and x[1] == e and x[2] == k and x[3] == c)
rounds = sorted({x[0] for x in rows})
print()
print("| engine | clients | server writes/s | floor writes/s | server / floor |")
print("| --- | ---: | --- | --- | --- |")
for e in ("sqlite", "postgres"):
    for c in ("1", "8"):
        floors = ["floor"] + (["floor-onelock"] if e == "sqlite" and c == "8" else [])
        for fk in floors:
            s = [get(r, e, "server", c) for r in rounds]
            f = [get(r, e, fk, c) for r in rounds]
            ratio = [a / b for a, b in zip(s, f)]
            label = e + (" (floor on one lock)" if fk == "floor-onelock" else "")
            print(f"| {label} | {c} | {', '.join(f'{v:.0f}' for v in s)} | {', '.join(f'{v:.0f}' for v in f)} | "
                  f"{', '.join(f'{v:.2f}' for v in ratio)} |")
fails = sum(int(x[5]) for x in rows)
print(f"\nfailed writes: {fails}")
PY
