#!/usr/bin/env bash
# Starts the lab: the server on 127.0.0.1:50051 and `trunk serve` on
# 127.0.0.1:8080, which forwards the page's calls to the server. Ctrl-C stops
# both. Installs whatever is missing first (scripts/setup.sh).
set -euo pipefail
case "${1:-}" in
  -h | --help) sed -n '2,4s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
cd "$(dirname "$0")/.."
# shellcheck source=scripts/start_server.sh
source scripts/start_server.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Trunk reads NO_COLOR as true/false; NO_COLOR=1 (common) would make it refuse to start.
[ -n "${NO_COLOR:-}" ] && export NO_COLOR=true

LISTEN=127.0.0.1:50051 # must match the [[proxy]] backend in Trunk.toml
PAGE=http://127.0.0.1:8080/

scripts/setup.sh

echo "==> building the server"
# Optimised: the Scale view's load engine runs inside the server, and a
# debug build reaches a fraction of the capacity the lessons draw.
cargo build --release -p rpc-lab-server --locked

server_pid=""
trunk_pid=""
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping"
  # Trunk runs in its own process group (setsid) so its cargo and
  # wasm-bindgen children stop with it.
  [ -n "$trunk_pid" ] && kill -TERM -- "-$trunk_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

echo "==> starting the server on $LISTEN"
start_server "$LISTEN"

echo "==> starting trunk serve (the first build of the page takes a minute or two)"
setsid trunk serve --release --offline &
trunk_pid=$!
if command -v curl >/dev/null; then
  until curl -sf -o /dev/null "$PAGE"; do
    kill -0 "$trunk_pid" 2>/dev/null || { echo "error: trunk serve stopped (see above)" >&2; exit 1; }
    sleep 1
  done
fi

cat <<MSG

  RPC Resilience Lab is running.
  Open $PAGE in your browser. Press Ctrl-C here to stop the server and the page.

MSG
# Wait until either process ends (or Ctrl-C), then stop the other.
wait -n "$server_pid" "$trunk_pid" || true
