#!/usr/bin/env bash
# Runs examples/analysis.py against a freshly started server on a free
# loopback port and a throwaway data directory, in a virtualenv with the
# pinned requirements.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
cargo build --locked --quiet --bin partnergraph

venv="${PARTNERGRAPH_EXAMPLES_VENV:-$root/target/examples-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

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
"$venv/bin/python" "$here/analysis.py" "$url"
