#!/usr/bin/env bash
# GraphQL-over-HTTP conformance: starts the server on a free loopback port,
# runs graphql-http's audit suite against it, and stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --locked --quiet --bin partnergraph
(cd "$here" && npm ci --no-audit --no-fund --silent)

log="$(mktemp)"
data="$(mktemp -d)"
./target/debug/partnergraph --listen 127.0.0.1:0 --data-dir "$data" --log warn >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$log" "$data"' EXIT
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^partnergraph listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not start"; cat "$log"; exit 1; }
node "$here/audit.mjs" "$url/graphql"
