#!/usr/bin/env bash
# User-space instructions per echoed message of an echo server, counted by callgrind: a
# deterministic figure for code changes that the noisy throughput runs cannot resolve (the
# kernel's share, about three quarters of the server's time, is not counted).
#
#   bench/callgrind_echo.sh [SERVER_BINARY [ARGS...]]  # default: the opt build of
#                                                  # //examples:echo_server; ARGS default to
#                                                  # "--port {port}" ({port}: the port used)
#   bench/callgrind_echo.sh /work/bench-anchor/build/uws_server {port}   # uWebSockets
#   KEEP_PROFILE=/tmp/echo.callgrind bench/callgrind_echo.sh    # keeps the profile for
#                                                  # callgrind_annotate --inclusive=yes FILE
#   LOAD="-c 1000 -p 1 -s 512 --text" bench/callgrind_echo.sh   # another workload (w4; the
#                                                  # handshakes count too)
#
# The server runs under valgrind pinned to CPU 0 while the referee (../shared/bench) loads it
# with w1 (64 connections x 16 in flight x 64 B; LOAD sets another) for 4 s; messages = all
# the referee echoed,
# warm-up and drain included. Needs valgrind (apt-get install valgrind).
set -euo pipefail
command -v valgrind >/dev/null || { echo "install valgrind" >&2; exit 2; }
default_port=9301
# shellcheck source=bench/echo_server_setup.sh
source "$(dirname "$0")/echo_server_setup.sh"

taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$work/out" "$server" "${args[@]}" \
  >"$work/server.log" 2>&1 &
pid=$!
# Valgrind runs one thread at a time and keeps its lock while the reactor thread waits in
# io_uring_enter: the main thread (the "listening on" line, SIGTERM) runs only while the reactor
# has work. So the port is watched instead of the line, and the server is woken after SIGTERM.
for _ in $(seq 300); do
  ss -ltn | grep -q "127.0.0.1:$port " && break
  sleep 0.2
done
ss -ltn | grep -q "127.0.0.1:$port " || { cat "$work/server.log" >&2; exit 1; }
# shellcheck disable=SC2086 # LOAD is the referee's options, split on purpose
taskset -c 1 "$shared/build/referee" ${LOAD:--c 64 -p 16 -s 64} -d 4 -w 1 "127.0.0.1:$port" \
  >"$work/referee.out" 2>"$work/referee.err"
kill -TERM "$pid"
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || break
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || true  # a connection wakes the reactor
  sleep 0.2
done
wait "$pid" || true
pid=""
messages="$(sed -n 's/.*msgs in window [0-9]* (all \([0-9]*\)).*/\1/p' "$work/referee.err")"
instructions="$(sed -n 's/^summary: *//p' "$work/out")"
[ -n "$messages" ] && [ -n "$instructions" ] || { cat "$work/referee.err" >&2; exit 1; }
echo "messages $messages, user-space instructions $instructions," \
  "per message $((instructions / messages))"
if [ -n "${KEEP_PROFILE:-}" ]; then cp "$work/out" "$KEEP_PROFILE"; fi
