#!/usr/bin/env bash
# The two ways io::TcpServerPool hands connections to its reactors, on 2 reactor threads
# (//examples:echo_server --threads 2 --accept reuseport / --accept one-acceptor), alternated
# per repetition, medians:
#  (a) churn: CYCLES WebSocket connections opened (TCP connect + handshake) and closed again,
#      CONCURRENCY at a time on each of CHURN_THREADS client threads, by //bench:connect_churn:
#      connections/s and server CPU per connection (from /proc/PID/stat, so 10 ms ticks: keep
#      CYCLES in the thousands); one client thread may be what limits the rate;
#  (b) echo w1 through the neutral referee (../shared/bench/build/referee): 64 conns x 16 in
#      flight x 64 B for SECS seconds: msgs/s, p99, server CPU per message.
# Each run starts the server fresh and ends it with SIGTERM; its --print-stats line gives the
# connections each reactor got (SO_REUSEPORT hashes the 4-tuple, so its split varies; one
# acceptor's round-robin is exact). Nothing is pinned: on a 2-CPU machine the client shares
# the CPUs with both reactors, so read the rates together with the server CPU per operation.
#
#   bench/accept_modes.sh       # REPS=5 SECS=5 CYCLES=10000 CONCURRENCY=32 CHURN_THREADS=1
#   SECS=2 REPS=1 CYCLES=2000 bench/accept_modes.sh   # does it run
#
# Writes bench/results/accept-modes-<date>.tsv. WSP_REFEREE overrides the referee's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
referee="${WSP_REFEREE:-$shared/build/referee}"
[ -x "$referee" ] || { echo "build the referee: make -C $shared (or set WSP_REFEREE)" >&2; exit 2; }
cd "$root"
bazel build --config=opt //examples:echo_server //bench:connect_churn >&2
bin_dir="$(bazel info --config=opt bazel-bin 2>/dev/null)"
out_dir="$here/results"
mkdir -p "$out_dir"
# Private copies: a later build in another configuration must not swap a binary mid-run.
cp "$bin_dir/examples/echo_server" "$out_dir/echo_server.accept.opt"
cp "$bin_dir/bench/connect_churn" "$out_dir/connect_churn.opt"
out="$out_dir/accept-modes-$(date +%Y%m%d-%H%M%S).tsv"

exec /usr/bin/python3 - "$referee" "$out_dir/echo_server.accept.opt" "$out_dir/connect_churn.opt" "$out" <<'PY'
import os, re, statistics, subprocess, sys, time
referee, server, churn, out = sys.argv[1:5]
REPS = int(os.environ.get("REPS", 5)); SECS = os.environ.get("SECS", "5")
CYCLES = os.environ.get("CYCLES", "10000"); CONCURRENCY = os.environ.get("CONCURRENCY", "32")
CHURN_THREADS = os.environ.get("CHURN_THREADS", "1")
PORT = int(os.environ.get("PORT", 9475))
MODES = ("reuseport", "one-acceptor")
TICK = os.sysconf("SC_CLK_TCK")

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

def serve(mode, measure):
    """Starts the server, runs measure(pid) -> dict, stops it; adds the per-reactor split."""
    s = subprocess.Popen([server, "--port", str(PORT), "--threads", "2", "--accept", mode,
                          "--print-stats", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = s.stdout.readline()
        if "listening" not in line:
            raise SystemExit(f"{mode}: no 'listening' line: {line!r}")
        m = measure(s.pid)
    finally:
        s.terminate()
        _, err = s.communicate(timeout=30)
        time.sleep(0.5)
    split = re.search(r"^connections per reactor: (\d+) (\d+)$", err, re.M)
    m["r0"], m["r1"] = (int(split[1]), int(split[2])) if split else (-1, -1)
    return m

def churn_run(pid):
    before = cpu_seconds(pid)
    r = subprocess.run([churn, f"ws://127.0.0.1:{PORT}/", "--cycles", CYCLES, "--concurrency", CONCURRENCY,
                        "--threads", CHURN_THREADS],
                       capture_output=True, text=True, timeout=600)
    cpu = cpu_seconds(pid) - before
    kv = dict(x.split("=", 1) for x in r.stdout.split() if "=" in x)
    rate, secs = float(kv.get("cycles_per_s", 0)), float(kv.get("seconds", 0))
    done = int(kv.get("cycles", 0))
    return {"rate": rate, "p99_us": 0.0, "srv_cpu_pct": 100 * cpu / secs if secs else 0,
            "srv_ns_per_op": cpu / done * 1e9 if done else 0, "failed": int(kv.get("failed", -1))}

def echo_run(pid):
    r = subprocess.run([referee, "-c", "64", "-p", "16", "-s", "64", "-d", SECS, "--server-pid", str(pid),
                        f"127.0.0.1:{PORT}"], capture_output=True, text=True, timeout=120)
    kv = dict(x.split("=", 1) for x in r.stdout.split() if "=" in x)
    rate, cpu = float(kv.get("msgs_per_s", 0)), float(kv.get("srv_cpu_pct", 0))
    return {"rate": rate, "p99_us": float(kv.get("p99_us", 0)), "srv_cpu_pct": cpu,
            "srv_ns_per_op": cpu / 100 / rate * 1e9 if rate else 0, "failed": 0 if rate else 1}

COLS = ("rate", "p99_us", "srv_cpu_pct", "srv_ns_per_op", "r0", "r1", "failed")
rows = []
with open(out, "w") as f:
    f.write("rep\ttest\tmode\t" + "\t".join(COLS) + "\n")
    for rep in range(REPS):
        for test, measure in (("churn", churn_run), ("echo", echo_run)):
            for mode in MODES:
                m = serve(mode, measure)
                rows.append((test, mode, m))
                f.write(f"{rep}\t{test}\t{mode}\t" + "\t".join(
                    f"{m[k]:.1f}" if isinstance(m[k], float) else str(m[k]) for k in COLS) + "\n")
                f.flush()
                print(test, mode, m, file=sys.stderr)
print(f"2 reactor threads, medians of {REPS} ({out}):")
print(f"churn: {CYCLES} connect+handshake+close cycles, {CONCURRENCY} at a time x {CHURN_THREADS} threads; "
      f"echo: 64 conns x 16 in flight x 64 B, {SECS} s")
print("| test | accept | per s | p99 us | server CPU % | server ns per op | reactor 0 / 1 conns | failed |")
print("|---|---|---|---|---|---|---|---|")
for test in ("churn", "echo"):
    for mode in MODES:
        ms = [m for t, x, m in rows if t == test and x == mode]
        med = lambda k: statistics.median(m[k] for m in ms)
        splits = " ".join(f"{m['r0']}/{m['r1']}" for m in ms)
        print(f"| {test} | {mode} | {med('rate'):,.0f} | {med('p99_us'):,.0f} | {med('srv_cpu_pct'):.0f} | "
              f"{med('srv_ns_per_op'):,.0f} | {splits} | {sum(m['failed'] for m in ms)} |")
PY
