#!/usr/bin/env bash
# The scale profile's balancer run for real (see check.py): installs HAProxy
# if it is missing, builds the binary, and runs check.py in a virtualenv
# with the pinned requirements. Needs PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if ! command -v haproxy >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq haproxy >/dev/null
fi
cargo build --locked --quiet --bin partnergraph
venv="$root/target/balancer-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" "$here/check.py" target/debug/partnergraph
