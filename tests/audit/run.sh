#!/usr/bin/env bash
# GraphQL-over-HTTP conformance: starts the server on a free loopback port,
# runs graphql-http's audit suite against it, and stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
(cd "$here" && npm ci --no-audit --no-fund --silent)

source "$root/tests/start-server.sh"
node "$here/audit.mjs" "$SERVER_URL/graphql"
