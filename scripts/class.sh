#!/usr/bin/env bash
# Starts the lab for a class: builds the release page once, then runs the lab
# server alone, serving both the page (compressed) and the calls on one port
# that other machines can reach. No `trunk serve` runs while the class works.
# Ctrl-C stops it. Installs whatever is missing first (scripts/setup.sh).
#
#   ./lab class                       listen on 0.0.0.0:8080 (every network of this machine)
#   ./lab class --listen HOST:PORT    listen elsewhere, e.g. --listen 192.168.1.10:9000
#   ./lab class [...] SERVER-FLAGS    any other flags go to the server, e.g.
#                                     --no-header-faults --fault-fail 0.2 (see --help);
#                                     --max-load-runs defaults to 4 per core here
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/start_server.sh
source scripts/start_server.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Trunk reads NO_COLOR as true/false; NO_COLOR=1 (common) would make it refuse to start.
[ -n "${NO_COLOR:-}" ] && export NO_COLOR=true

LISTEN=0.0.0.0:8080
server_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) [ $# -ge 2 ] || { echo "error: --listen needs HOST:PORT" >&2; exit 2; }
      LISTEN=$2; shift 2 ;;
    --listen=*) LISTEN=${1#--listen=}; shift ;;
    --page | --page=*) echo "error: ./lab class builds and serves the page itself; drop --page" >&2; exit 2 ;;
    *) server_flags+=("$1"); shift ;;
  esac
done
# A class runs many Scale-view load runs at once; the server's own cap (4) is
# for one person. Four per core: the heaviest lesson step (the metastable
# storm's three tries) costs the server about a fifth of a core, and eight at
# once on 2 cores (1.3 cores busy) gave the same numbers as one alone, where
# sixteen (1.9 cores) did not — the lab must not overload its own machine and
# show that as the lesson's result. A teacher's --max-load-runs wins.
if ! printf '%s\n' ${server_flags[@]+"${server_flags[@]}"} | grep -q '^--max-load-runs'; then
  cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  server_flags+=(--max-load-runs "$((4 * cores))")
fi
# The page is built here, apart from `trunk serve`'s dist/, so `./lab run`
# on the same machine cannot change it under a class.
PAGE_DIR=target/class-page

scripts/setup.sh

echo "==> building the server"
# Optimised: the Scale view's load engine runs inside the server, and a
# debug build reaches a fraction of the capacity the lessons draw.
cargo build --release -p rpc-lab-server --locked

echo "==> building the release page into $PAGE_DIR (the first build takes a few minutes)"
trunk build --release --offline --dist "$PAGE_DIR"

port=${LISTEN##*:}
host=${LISTEN%:*}
host=${host#[}
host=${host%]}

# The addresses students can type: this machine's own, when listening on all
# of them (Linux: hostname -I; macOS: ipconfig). IPv4 only: easier to type.
lan_addresses() {
  {
    hostname -I 2>/dev/null | tr ' ' '\n'
    command -v ipconfig >/dev/null && for i in en0 en1; do ipconfig getifaddr "$i" 2>/dev/null; done
  } | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | sort -u || true
}

wildcard=false
case "$host" in
  0.0.0.0 | :: | "") wildcard=true ;;
esac
urls=()
if $wildcard; then
  for address in $(lan_addresses); do urls+=("http://$address:$port/"); done
else
  urls+=("http://$host:$port/")
fi

server_pid=""
stop_server() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping"
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_server INT TERM EXIT

echo "==> starting the lab server on $LISTEN with the page"
start_server "$LISTEN" --page "$PAGE_DIR" ${server_flags[@]+"${server_flags[@]}"}

echo
echo "  RPC Resilience Lab is running for a class."
case "$host" in
  127.* | localhost | ::1)
    echo "  It listens on $LISTEN: this machine only. For a class, leave out --listen"
    echo "  (it then listens on 0.0.0.0:8080) or name this machine's network address." ;;
  *)
    echo "  WARNING: it listens on $LISTEN, beyond this machine: anyone who can reach"
    echo "  this machine (on this Wi-Fi, or further) can open the lab and call the server." ;;
esac
echo
if [ ${#urls[@]} -gt 0 ]; then
  echo "  Open:"
  for url in "${urls[@]}"; do echo "    $url"; done
else
  echo "  Open http://THIS-MACHINE'S-ADDRESS:$port/ (this script could not find the address)."
fi
$wildcard && echo "  On this machine also: http://127.0.0.1:$port/"
echo "  The page's files are compressed in the background after start (gzip within"
echo "  seconds, brotli within a minute; the server logs \"the page is compressed\")."
echo "  Press Ctrl-C here to stop."
echo
wait "$server_pid" || true
