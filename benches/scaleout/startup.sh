#!/usr/bin/env bash
# Start-up from PostgreSQL against SQLite, same data, same session.
# Generates ENTITIES / 5*ENTITIES relations (seed 1), imports the file into
# a fresh SQLite data directory and into a fresh PostgreSQL database (each
# import timed; the PostgreSQL one bounded by IMPORT_LIMIT seconds), then
# starts `serve` (shipped defaults) ROUNDS times from each, alternating:
# seconds from exec to the listening line, and VmRSS once listening.
#
#   bash benches/scaleout/startup.sh                # 1M / 5M
#   ENTITIES=100000 bash benches/scaleout/startup.sh
#   KEEP=dir bash benches/scaleout/startup.sh       # keep and reuse the generated file, the SQLite
#                                                 # store and the database scaleout_startup_N
#                                                 # (drop it yourself: dropdb -h 127.0.0.1 -U postgres scaleout_startup_N)
source "$(dirname "$0")/lib.sh"
need_tools
ENTITIES="${ENTITIES:-1000000}"
RELATIONS="${RELATIONS:-$((ENTITIES * 5))}"
ROUNDS="${ROUNDS:-2}"
IMPORT_LIMIT="${IMPORT_LIMIT:-900}"
keep="${KEEP:-$work}"
mkdir -p "$keep"
file="$keep/gen-$ENTITIES.json"
data="$keep/gen-$ENTITIES-sqlite"
secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }

if [ ! -f "$file" ]; then
  "$BIN" generate --entities "$ENTITIES" --relations "$RELATIONS" --seed 1 --out "$file" >&2
fi
echo "dataset: $ENTITIES entities / $RELATIONS relations, $(du -h "$file" | cut -f1) of JSON"
if [ ! -d "$data" ]; then
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/sqlite-import.mem" "$BIN" import "$file" --no-seed --data-dir "$data" >&2
  t1=$(date +%s.%N)
  echo "import into SQLite: $(secs "$t0" "$t1") s, peak RSS $(( $(cat "$work/sqlite-import.mem") / 1024 )) MB"
fi

db="scaleout_startup_$ENTITIES"
url="postgres://$PGUSER@$PGHOST:$PGPORT/$db"
if [ -n "${KEEP:-}" ] && [ "$(psql -Atq -d "$db" -c 'SELECT version FROM graph_version' 2>/dev/null || echo 0)" -gt 0 ]; then
  echo "import into PostgreSQL: kept from an earlier run"
else
  if [ -n "${KEEP:-}" ]; then dropdb --if-exists "$db"; createdb "$db"; else fresh_db "$db"; url=$DB_URL; fi
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -f "%M" -o "$work/pg-import.mem" timeout "$IMPORT_LIMIT" \
    "$BIN" import "$file" --no-seed --database-url "$url" >"$work/pg-import.out" 2>"$work/pg-import.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  echo "import into PostgreSQL: exit $rc after $(secs "$t0" "$t1") s, peak RSS $(( $(tail -n 1 "$work/pg-import.mem" | tr -dc 0-9 || echo 0) / 1024 )) MB"
  cat "$work/pg-import.out"
  if [ "$rc" != 0 ]; then
    echo "import error output (without log lines and backtrace frames):"
    grep -v 'INFO\|^ *[0-9]*: \|^ *at ' "$work/pg-import.err" | head -n 20 | cut -c1-1000
    echo "PostgreSQL tables after the failed import:"
    psql -Atq -d "$db" -c "SELECT 'entities', count(*) FROM entities UNION ALL SELECT 'relations', count(*) FROM relations UNION ALL SELECT 'change_log', count(*) FROM change_log UNION ALL SELECT 'version', version FROM graph_version" || true
    exit 1
  fi
fi
echo "PostgreSQL database size: $(psql -Atq -d "$db" -c "SELECT pg_size_pretty(pg_database_size('$db'))"), change_log: $(psql -Atq -d "$db" -c "SELECT pg_size_pretty(pg_total_relation_size('change_log'))")"
echo "SQLite data directory: $(du -sh "$data" | cut -f1)"
sync

echo
echo "| round | store | start-up s | resident MB once listening |"
echo "| ---: | --- | ---: | ---: |"
for round in $(seq 1 "$ROUNDS"); do
  for store in postgres sqlite; do
    if [ "$store" = postgres ]; then args=(--database-url "$url"); else args=(--data-dir "$data"); fi
    start "$work/$store.log" "${args[@]}"
    sleep 0.2
    echo "| $round | $store | $STARTUP | $(rss_mb "$PID") |"
    stop "$PID"
  done
done
