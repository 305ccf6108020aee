#!/usr/bin/env bash
# Where an echo server's CPU goes under the referee, kernel included: the per-message counts
# callgrind cannot see (TCP segments, system calls, context switches) and a perf profile of the
# server's thread(s), its symbols in samples per 1,000 echoed messages, so two servers' lists
# compare line by line, and the samples' shares: the kernel, the instruction just after a system
# call returns (where its return's cost lands), the rest.
#
#   bench/kernel_profile.sh [SERVER_BINARY [ARGS...]]      # ARGS as in bench/callgrind_echo.sh
#   bench/kernel_profile.sh /work/bench-anchor/build/uws_server {port}
#   LOAD="-c 1000 -p 1 -s 512 --text" TOP=40 bench/kernel_profile.sh   # another workload
#
# Server on CPU 0, referee on CPU 1 (../shared/bench): a 1 s warm-up, 3 s profiled, 2 s counted. Needs perf and
# root. The counts are the two ends' (TCP segments) or the server's (system calls, switches).
set -euo pipefail
command -v perf >/dev/null || { echo "install perf (linux-perf)" >&2; exit 2; }
default_port=9302
# shellcheck source=bench/echo_server_setup.sh
source "$(dirname "$0")/echo_server_setup.sh"

taskset -c 0 "$server" "${args[@]}" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  ss -ltn | grep -q "127.0.0.1:$port " && break
  sleep 0.1
done
# shellcheck disable=SC2086 # LOAD is the referee's options, split on purpose
taskset -c 1 "$shared/build/referee" ${LOAD:--c 64 -p 16 -s 64} -d 1 -w 0 "127.0.0.1:$port" \
  >/dev/null 2>&1  # warm-up: connections open, buffers grown
referee() {
  # shellcheck disable=SC2086 # LOAD is the referee's options, split on purpose
  taskset -c 1 "$shared/build/referee" ${LOAD:--c 64 -p 16 -s 64} -d "$1" -w 0 "127.0.0.1:$port" \
    2>/dev/null | grep -o ' msgs=[0-9]*' | cut -d= -f2
}
# Two windows: the system-call tracepoint would weigh on the profile.
nstat -n >/dev/null
perf record -q -F 2000 -g -p "$pid" -o "$work/perf.data" -- sleep 3.5 >/dev/null 2>&1 &
record_pid=$!
messages="$(referee 3)"
wait "$record_pid"
segments="$(nstat | awk '/TcpOutSegs/ {print $2}')"
perf stat -e raw_syscalls:sys_enter,context-switches -p "$pid" -x, -o "$work/stat" -- sleep 2.5 &
stat_pid=$!
counted="$(referee 2)"
wait "$stat_pid"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
[ -n "$messages" ] && [ "$messages" -gt 0 ] && [ -n "$counted" ] && [ "$counted" -gt 0 ] ||
  { echo "the referee echoed nothing" >&2; exit 1; }
syscalls="$(awk -F, '/raw_syscalls/ {print $1}' "$work/stat")"
switches="$(awk -F, '/context-switches/ {print $1}' "$work/stat")"
awk -v m="$messages" -v c="$counted" -v seg="$segments" -v sc="$syscalls" -v cs="$switches" 'BEGIN {
  printf "messages %d; per message: TCP segments %.3f; server system calls %.3f, context switches %.4f (another window, %d messages)\n",
    m, seg / m, sc / c, cs / c, c }'
samples="$(perf report -i "$work/perf.data" --stdio 2>/dev/null | awk '/^# Samples:/ {print $3}')"
echo "perf samples (2,000 a second): $samples"
perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none -n 2>/dev/null |
  awk -v m="$messages" -v top="${TOP:-30}" '/^ *[0-9.]+%/ {
    pct = $1; n = $2; $1 = ""; $2 = ""
    if (shown++ < top) printf "%7s %8.2f per 1,000 msgs %s\n", pct, n * 1000 / m, $0
    # Where a system call returns is where its return costs land (liburing has no symbols).
    if ($0 ~ /\[k\]/) kernel += pct
    else if ($0 ~ /liburing|__send|__libc_recv|epoll_wait/) returns += pct
    else own += pct
  }
  END { printf "shares: kernel %.1f%%, just after a system call returns (liburing; libc send, recv, epoll_wait) %.1f%%, the rest (the server'"'"'s own code) %.1f%%\n", kernel, returns, own }'
