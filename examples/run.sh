#!/usr/bin/env bash
# Runs examples/analysis.py against a freshly started server on a free
# loopback port and a throwaway data directory, in a virtualenv with the
# pinned requirements.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

venv="${PARTNERGRAPH_EXAMPLES_VENV:-$root/target/examples-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

source "$root/tests/start-server.sh"
"$venv/bin/python" "$here/analysis.py" "$SERVER_URL"
