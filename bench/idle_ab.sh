#!/usr/bin/env bash
# Alternated idle-memory runs of servers: each round starts each server in turn, opens
# CONNECTIONS idle connections to it with tools/idle_connections (whole-process RSS over the
# idle process), and stops it. Prints every run's figure and each server's range.
#
#   bench/idle_ab.sh ROUNDS "NAME=COMMAND" ...      (COMMAND: {port} is replaced)
#   bench/idle_ab.sh 3 "wsp=bazel-bin/examples/echo_server --port {port}" \
#                      "uws=../shared/bench/build/uws_server {port}"
#
# CONNECTIONS (default 10000); IDLE_ARGS, more idle_connections flags (e.g. "--messages 4":
# each connection echoes 4 messages before it falls silent).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
rounds=${1:?rounds}; shift
(cd "$root" && bazel build --config=opt //tools:idle_connections >&2)
tool="$(cd "$root" && bazel info --config=opt bazel-bin 2>/dev/null)/tools/idle_connections"
ulimit -n 20000
port=9250
results="$(mktemp)"
pid=""
trap 'rm -f "$results"; [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; true' EXIT

for round in $(seq "$rounds"); do
  for server in "$@"; do
    name="${server%%=*}"; command="${server#*=}"
    port=$((port + 1))
    # shellcheck disable=SC2086
    ${command//\{port\}/$port} >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done
    # shellcheck disable=SC2086
    line=$("$tool" --pid "$pid" --url "ws://127.0.0.1:$port/" --connections "${CONNECTIONS:-10000}" \
             ${IDLE_ARGS:-} | grep '^result')
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    echo "round $round $name $line"
    echo "$name ${line##*bytes_per_connection=}" >> "$results"
    sleep 1
  done
done
for server in "$@"; do
  name="${server%%=*}"
  awk -v n="$name" '$1 == n { v[++k] = $2 } END {
    lo = hi = v[1]; for (i = 2; i <= k; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
    printf "%s: %d-%d bytes per idle connection (%d runs)\n", n, lo, hi, k }' "$results"
done
