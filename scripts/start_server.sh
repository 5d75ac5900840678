# Sourced by run.sh and class.sh: starts the lab server in the background and
# waits until it says it is listening, so neither script carries on (and
# opens a page) in front of a server that never came up.
#
#   start_server LISTEN [server flags…]   sets server_pid; exits 1 with the
#                                         reason if the server stops or is
#                                         silent for 10 s.
start_server() {
  local listen=$1 log listening=false
  shift
  log=$(mktemp)
  target/release/rpc-lab-server --listen "$listen" "$@" > >(tee "$log") &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$log" && { listening=true; break; }
    kill -0 "$server_pid" 2>/dev/null || { rm -f "$log"; echo "error: the server did not start (see above)" >&2; exit 1; }
    sleep 0.1
  done
  rm -f "$log"
  $listening || { echo "error: the server did not say it was listening on $listen within 10 s" >&2; exit 1; }
}
