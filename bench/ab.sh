#!/usr/bin/env bash
# Alternated runs of echo servers on one workload of the shared referee, for A/B comparisons
# on a noisy machine (server on CPU 0, referee on CPU 1, servers taking turns each round).
# Prints per server the median msgs/s, server CPU microseconds per message (with the share the
# kernel took, from the server's utime and stime over the run, and that share in microseconds)
# and peak RSS above the idle process (and the whole peak), with every run's figures. The peak
# is the larger of VmHWM and what bench/rss_peak sampled every millisecond beside the referee
# (on its CPU): VmHWM alone reads low on recent kernels (see rss_peak.cc).
#
#   bench/ab.sh WORKLOAD ROUNDS "NAME=COMMAND" ...      (COMMAND: {port} is replaced)
#   bench/ab.sh w3 5 "wsp=bazel-bin/examples/echo_server --port {port}" \
#                    "beast=../shared/bench/build/beast_echo {port}"
#
# WORKLOAD: w1 (64 conns x 16 in flight x 64 B), w2 (64 x 1 x 64 B), w3 (8 x 4 x 64 KiB),
# w4 (1,000 x 1 x 512 B text), or the referee's own options ("-c 1000 -p 1 -s 16384").
# SECS (default 4) is the measured window of each run.
#
# WORKLOAD idle measures memory instead: tools/idle_connections opens CONNECTIONS (default
# 10000) idle connections and reports whole-process RSS over the idle process per connection;
# IDLE_ARGS adds its flags (e.g. "--messages 4": each connection echoes 4 messages first).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
referee="${WSP_SHARED_BENCH:-$here/../../shared/bench}/build/referee"
workload=${1:?workload w1..w4 or idle}; rounds=${2:?rounds}; shift 2
if [ "$workload" = idle ]; then
  (cd "$here/.." && bazel build --config=opt //tools:idle_connections >&2)
  idle_tool="$(cd "$here/.." && bazel info --config=opt bazel-bin 2>/dev/null)/tools/idle_connections"
  ulimit -n 20000
else
  [ -x "$referee" ] || { echo "build the referee: make -C ../shared/bench" >&2; exit 2; }
  (cd "$here/.." && bazel build --config=opt //bench:rss_peak >&2)
  rss_peak="$(cd "$here/.." && bazel info --config=opt bazel-bin 2>/dev/null)/bench/rss_peak"
fi
case "$workload" in
  idle) ;;
  w1) load="-c 64 -p 16 -s 64" ;;
  w2) load="-c 64 -p 1 -s 64" ;;
  w3) load="-c 8 -p 4 -s 65536" ;;
  w4) load="-c 1000 -p 1 -s 512 --text" ;;
  -*) load="$workload" ;;
  *) echo "unknown workload $workload" >&2; exit 2 ;;
esac
port=9190
results="$(mktemp)"
sampled="$(mktemp)"
pid=""
sampler=""
trap 'rm -f "$results" "$sampled"; [ -n "$sampler" ] && kill -KILL "$sampler" 2>/dev/null
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; true' EXIT

for _ in $(seq "$rounds"); do
  for server in "$@"; do
    name="${server%%=*}"; command="${server#*=}"
    # shellcheck disable=SC2086
    taskset -c 0 ${command//\{port\}/$port} >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done
    if [ "$workload" = idle ]; then
      # shellcheck disable=SC2086
      line=$("$idle_tool" --pid "$pid" --url "ws://127.0.0.1:$port/" \
               --connections "${CONNECTIONS:-10000}" ${IDLE_ARGS:-} | grep '^result')
      kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
      echo "$name ${line#result }" >> "$results"
      continue
    fi
    idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    read -r user0 system0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    taskset -c 1 "$rss_peak" --pid "$pid" > "$sampled" &
    sampler=$!
    # shellcheck disable=SC2086
    line=$(taskset -c 1 "$referee" $load -d "${SECS:-4}" -w 1 --server-pid "$pid" "127.0.0.1:$port" 2>/dev/null)
    kill -TERM "$sampler"; wait "$sampler" || true; sampler=""
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    peak=$(sed -n 's/^peak_kb=\([0-9]*\).*/\1/p' "$sampled")
    peak=$(( ${peak:-0} > hwm ? ${peak:-0} : hwm ))
    read -r user1 system1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    line="$line user_ticks=$((user1 - user0)) system_ticks=$((system1 - system0))"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    echo "$name $line idle_kb=$idle peak_kb=$peak" >> "$results"
  done
done

/usr/bin/python3 - "$results" "$@" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *fields = line.split()
    kv = dict(f.split("=", 1) for f in fields if "=" in f)
    if "bytes_per_connection" in kv:  # WORKLOAD idle
        rows.setdefault(name, []).append(int(kv["bytes_per_connection"]))
        continue
    msgs, cpu = float(kv["msgs_per_s"]), float(kv["srv_cpu_pct"])
    user, system = int(kv["user_ticks"]), int(kv["system_ticks"])
    rows.setdefault(name, []).append(
        (msgs, cpu * 1e4 / msgs if msgs else float("nan"), int(kv["peak_kb"]) - int(kv["idle_kb"]),
         system / (user + system) if user + system else float("nan"), int(kv["peak_kb"])))
for server in sys.argv[2:]:
    name = server.split("=", 1)[0]
    runs = rows.get(name, [])
    if not runs:
        continue
    if isinstance(runs[0], int):
        print(f"{name}: {min(runs):,}-{max(runs):,} bytes per idle connection"
              f"  (runs: {', '.join(f'{r:,}' for r in runs)})")
        continue
    med = [statistics.median(r[i] for r in runs) for i in range(5)]
    # The kernel's part of the server's CPU per message: what no user-space change can remove.
    print(f"{name}: {med[0]:,.0f} msgs/s, {med[1]:.2f} us/msg ({med[3]:.0%} in the kernel, "
          f"{med[1] * med[3]:.2f} us), peak RSS +{med[2]/1024:.2f} MiB (whole: {med[4]:,.0f} kB)"
          f"  (runs: {', '.join(f'{r[0]:,.0f}/{r[1]:.2f}/{r[2]}' for r in runs)})")
PY
