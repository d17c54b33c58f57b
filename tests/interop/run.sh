#!/usr/bin/env bash
# Exports the built-in graph in every format with the CLI and reads each
# back with the tool it targets (networkx, followthemoney), in a virtualenv
# with the pinned requirements.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --locked --quiet --bin partnergraph

venv="$root/target/interop-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# followthemoney needs PyICU, which builds against the system's ICU.
if ! pkg-config --exists icu-uc 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq libicu-dev pkg-config
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for format in graphml gexf node-link cytoscape csv ftm json; do
  ./target/debug/partnergraph export --format "$format" "$work/graph.$format" --data-dir "$work/data" 2>/dev/null
done
"$venv/bin/python" "$here/check.py" "$work"
