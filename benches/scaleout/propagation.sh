#!/usr/bin/env bash
# Propagation: instances A and B (shipped defaults) on one fresh PostgreSQL
# database; benches/scaleout/propagation.py measures, from the ack of a
# createEntity on A to B's graphChanged event at that version, p50 and p99
# idle and under ~100 writes/s on A, alternating, ROUNDS rounds.
#
#   bash benches/scaleout/propagation.sh            # ~1.5 min
#   PROBES=50 ROUNDS=1 bash benches/scaleout/propagation.sh
source "$(dirname "$0")/lib.sh"
need_tools
fresh_db scaleout_propagation; url=$DB_URL
start "$work/a.log" --database-url "$url"
a_url=$URL a_pid=$PID
start "$work/b.log" --database-url "$url"
b_url=$URL b_pid=$PID
python3 benches/scaleout/propagation.py --a "$a_url" --b "$b_url" --token "$TOKEN" \
  --document "$DOCUMENT" --quote "$QUOTE" --probes "${PROBES:-200}" --pause "${PAUSE:-0.05}" \
  --rate "${RATE:-100}" --rounds "${ROUNDS:-2}"
echo "A /readyz: $(curl -s "$a_url/readyz")  B /readyz: $(curl -s "$b_url/readyz")"
echo "resident MB: A $(rss_mb "$a_pid"), B $(rss_mb "$b_pid")"
grep -hi '"level":"\(warn\|error\)"\|WARN\|ERROR' "$work/a.log.err" "$work/b.log.err" | head -5 || true
