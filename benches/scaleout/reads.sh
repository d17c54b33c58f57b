#!/usr/bin/env bash
# Reads on the built-in article, Q1-Q4 of benches/load.sh, through two
# instances on one fresh PostgreSQL database against one: wrk -t2
# -cCONNECTIONS against A alone (B running, idle), and two wrk -t1
# -c(CONNECTIONS/2) at once, one against A and one against B (throughputs
# summed, p99 the higher of the two). Shipped defaults (response cache on).
# Alternating, ROUNDS rounds of DURATION seconds; each line also gives the
# machine's busy share over the run (both cores, from /proc/stat).
#
#   bash benches/scaleout/reads.sh                  # ~3 min
#   DURATION=3 ROUNDS=1 bash benches/scaleout/reads.sh
source "$(dirname "$0")/lib.sh"
need_tools
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
half=$((CONNECTIONS / 2))
fresh_db scaleout_reads; url=$DB_URL
start "$work/a.log" --database-url "$url"
a_url=$URL a_pid=$PID
start "$work/b.log" --database-url "$url"
b_url=$URL b_pid=$PID

gql_body '{ entity(id: "ctef") { id name relations(first: 100) { edges { node { kind from { name } to { name } } } } } }' > "$work/q1.json"
gql_body '{ neighborhood(id: "ctef", depth: 2) { entities { id } relations { id } } }' > "$work/q2.json"
gql_body '{ shortestPath(from: "issa-ozeir", to: "partner-forces-in-syria") { length } }' > "$work/q3.json"
gql_body '{ entities(search: "coun", first: 10) { totalCount edges { node { id name } } } }' > "$work/q4.json"
for q in q1 q2 q3 q4; do
  for u in "$a_url" "$b_url"; do
    if curl -s "$u/graphql" -H 'content-type: application/json' -d @"$work/$q.json" | grep -q '"errors"'; then
      echo "$q answers with errors on $u"; exit 1
    fi
  done
done

# Machine-wide busy share (all cores) between two snapshots of /proc/stat.
cpu_snap() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
busy() { python3 -c "print(f'{100 * (1 - ($3 - $1) / max(1, $4 - $2)):.0f}')"; }
one() {
  BODY_FILE="$1" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s --latency -s benches/post.lua "$a_url/graphql" | wrk_summary
}
two() {
  BODY_FILE="$1" wrk -t1 -c"$half" -d"${DURATION}s" --timeout 30s --latency -s benches/post.lua "$a_url/graphql" > "$work/wa" &
  local p=$!
  BODY_FILE="$1" wrk -t1 -c"$half" -d"${DURATION}s" --timeout 30s --latency -s benches/post.lua "$b_url/graphql" > "$work/wb"
  wait "$p"
  read -r ra _ pa ba < <(wrk_summary < "$work/wa")
  read -r rb _ pb bb < <(wrk_summary < "$work/wb")
  python3 -c "print(f'{$ra + $rb:.1f} {max($pa, $pb):.3f} {$ba + $bb} ({$ra:.0f} + {$rb:.0f})')"
}

results="$work/results"; : > "$results"
for q in q1 q2 q3 q4; do
  BODY_FILE="$work/$q.json" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/post.lua "$a_url/graphql" >/dev/null
  BODY_FILE="$work/$q.json" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/post.lua "$b_url/graphql" >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    read -r i0 t0 < <(cpu_snap)
    read -r rps _ p99 bad < <(one "$work/$q.json")
    read -r i1 t1 < <(cpu_snap)
    echo "$q $round one $rps $p99 $bad busy=$(busy "$i0" "$t0" "$i1" "$t1")%" | tee -a "$results"
    read -r i0 t0 < <(cpu_snap)
    read -r rps p99 bad split < <(two "$work/$q.json")
    read -r i1 t1 < <(cpu_snap)
    echo "$q $round two $rps $p99 $bad $split busy=$(busy "$i0" "$t0" "$i1" "$t1")%" | tee -a "$results"
  done
done
echo "resident MB: A $(rss_mb "$a_pid"), B $(rss_mb "$b_pid"); threads: A $(ls /proc/"$a_pid"/task | wc -l), B $(ls /proc/"$b_pid"/task | wc -l)"
python3 - "$results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
print()
print("| query | one instance, -c32: req/s | p99 ms | two instances, 2 x -c16: req/s (sum) | p99 ms (higher) | two / one |")
print("| --- | --- | --- | --- | --- | --- |")
for q in ("q1", "q2", "q3", "q4"):
    one = [r for r in rows if r[0] == q and r[2] == "one"]
    two = [r for r in rows if r[0] == q and r[2] == "two"]
    ratio = [float(b[3]) / float(a[3]) for a, b in zip(one, two)]
    print(f"| {q.upper()} | {', '.join(f'{float(r[3]):.0f}' for r in one)} | {', '.join(r[4] for r in one)} | "
          f"{', '.join(f'{float(r[3]):.0f}' for r in two)} | {', '.join(r[4] for r in two)} | {', '.join(f'{x:.2f}' for x in ratio)} |")
bad = sum(int(r[5]) for r in rows)
print(f"\nnon-2xx responses: {bad}")
PY
