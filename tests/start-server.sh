# Sourced by the check scripts: builds the binary, starts it on a free
# loopback port with a throwaway data directory, sets SERVER_URL, and stops
# it (and removes the directory) when the calling script exits.
cargo build --locked --quiet --bin partnergraph
server_log="$(mktemp)"
server_data="$(mktemp -d)"
./target/debug/partnergraph --listen 127.0.0.1:0 --data-dir "$server_data" --log warn >"$server_log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$server_log" "$server_data"' EXIT
SERVER_URL=""
for _ in $(seq 1 100); do
  SERVER_URL="$(sed -n 's/^partnergraph listening on \(http:[^ ]*\)$/\1/p' "$server_log" | head -n 1)"
  [ -n "$SERVER_URL" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log"; exit 1; }
  sleep 0.1
done
[ -n "$SERVER_URL" ] || { echo "the server did not start"; cat "$server_log"; exit 1; }
