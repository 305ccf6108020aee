#!/usr/bin/env bash
# The README's first command: starts the coroutine echo server on 127.0.0.1, runs the demo
# client against it, then stops the server with SIGTERM (it closes with 1001 and exits 0).
# `--deflate shared|dedicated` turns permessage-deflate on for both.
set -euo pipefail
runfiles="${RUNFILES_DIR:-$0.runfiles}/wsp/examples"
[ -x "$runfiles/echo_server" ] || runfiles="$(dirname "$0")"
port="${WSP_DEMO_PORT:-9001}"
deflate=()
if [ "${1:-}" = "--deflate" ] && [ -n "${2:-}" ]; then deflate=(--deflate "$2"); fi

log="$(mktemp)"
"$runfiles/echo_server" --port "$port" "${deflate[@]}" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.05
done
echo "echo server: $(head -n 1 "$log") (pid $server)"
status=0
"$runfiles/demo_client" "ws://127.0.0.1:$port" "${deflate[@]}" || status=$?
kill -TERM "$server"
wait "$server" && echo "echo server: stopped cleanly" || { echo "echo server: exit status $?"; status=1; }
exit "$status"
