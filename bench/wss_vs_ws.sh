#!/usr/bin/env bash
# wss against ws through the same echo (wsp::WebSocket on both sides, tls_bench's websocket
# figures), RUNS times; each run measures ws then wss for each size, so the two alternate on the
# shared machine. Prints per size the median (and range) of the wall-clock ratio wss/ws, of the
# CPU ratio (ws CPU per message / wss CPU per message, both threads) and of the CPU ratio the
# cipher alone would allow (tls_bench: "wss/ws CPU at most"), then every run's line.
#
#   bench/wss_vs_ws.sh [RUNS, default 9] [SECONDS per figure, default 2] [TLS_BENCH_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runs="${1:-9}"
seconds="${2:-2}"
bench="${3:-}"
[ -n "$bench" ] || bench="$("$here/opt_binary.sh" //bench:tls_bench)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for run in $(seq "$runs"); do
  echo "run $run of $runs" >&2
  "$bench" "$seconds" websocket >>"$log"
done
# Lines: "64 KiB messages ... TLS/plain  28% | ... plain/TLS  30%" and
#        "64 KiB messages ... wss/ws CPU at most  46%".
python3 - "$log" <<'EOF'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    size = "64 KiB" if line.startswith("64 KiB") else "64 B" if line.startswith("64-byte") else None
    if size is None:
        continue
    r = rows.setdefault(size, {"wall": [], "cpu": [], "bound": []})
    m = re.search(r"TLS/plain +(\d+)%.*plain/TLS +(\d+)%", line)
    if m:
        r["wall"].append(int(m.group(1)))
        r["cpu"].append(int(m.group(2)))
    m = re.search(r"at most +(\d+)%", line)
    if m:
        r["bound"].append(int(m.group(1)))
def show(v):
    return f"{statistics.median(v):5.1f}% [{min(v)}-{max(v)}]" if v else "-"
print(f"{'size':8} {'wall wss/ws':>18} {'CPU ws/wss':>18} {'cipher allows':>18}  ({len(rows.get('64 KiB', {}).get('wall', []))} runs)")
for size in ("64 KiB", "64 B"):
    if size in rows:
        r = rows[size]
        print(f"{size:8} {show(r['wall']):>18} {show(r['cpu']):>18} {show(r['bound']):>18}")
EOF
grep -E '^64' "$log"
