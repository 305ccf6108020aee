#!/usr/bin/env bash
# User-space instructions per echoed WebSocket message, wss and ws, counted by callgrind: a
# deterministic figure for changes to the TLS path that the noisy throughput runs of
# tls_bench cannot resolve (the kernel's share is not counted).
#
#   bench/callgrind_tls.sh [TLS_BENCH_BINARY]    # default: the opt build of //bench:tls_bench
#
# Client and server run on one thread (tls_bench's count mode: wsp::WebSocket on both sides, so
# through Connection and the streams' push I/O). Each case runs twice, with N and 2N messages;
# the difference divided by N is the cost of a message (setup, certificates and handshake
# cancel out). Cases: 64 KiB messages (1 MiB in flight) and 64-byte messages (64 KiB in flight).
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v valgrind >/dev/null || { echo "install valgrind" >&2; exit 2; }
bench="${1:-}"
[ -n "$bench" ] || bench="$("$here/opt_binary.sh" //bench:tls_bench)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# instructions SIZE SCHEME COUNT
instructions() {
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bench" 0 count "$1" "$2" "$3" \
    >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  sed -n 's/^summary: *//p' "$work/out"
}

printf '%-8s %-6s %14s\n' size scheme "instr/msg"
for size in large small; do
  if [ "$size" = large ]; then n=200; else n=20000; fi
  declare -A per=()
  for scheme in ws wss; do
    one=$(instructions "$size" "$scheme" "$n")
    two=$(instructions "$size" "$scheme" $((2 * n)))
    per[$scheme]=$(( (two - one) / n ))
    printf '%-8s %-6s %14d\n' "$size" "$scheme" "${per[$scheme]}"
  done
  awk -v a="${per[wss]}" -v b="${per[ws]}" -v s="$size" \
    'BEGIN { printf "%-8s wss/ws %13.2f\n", s, a / b }'
done
