#!/usr/bin/env bash
# Echo on 2 reactor threads against 1 (//examples:echo_server --threads 2 / --threads 1),
# through the neutral referee (../shared/bench/build/referee), alternated A/B per repetition,
# medians. Nothing is pinned: the 2-reactor server needs both CPUs, and the referee (one
# thread) shares them with it, so on this 2-CPU machine the second reactor mostly competes
# with the referee: read msgs/s together with ref_cpu_pct and srv_cpu_pct, and compare server
# CPU per message (srv_cpu_pct / 100 / msgs_per_s).
#
#   bench/echo_threads.sh                  # REPS=5 SECS=5, w1: 64 conns x 16 in flight x 64 B
#   REPS=3 CONNS=1000 INFLIGHT=1 SIZE=512 bench/echo_threads.sh
#
# Writes bench/results/echo-threads-<date>.tsv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
[ -x "$shared/build/referee" ] || { echo "build the referee: make -C $shared" >&2; exit 2; }
cd "$root"
bazel build --config=opt //examples:echo_server >&2
bin_dir="$(bazel info --config=opt bazel-bin 2>/dev/null)"
out_dir="$here/results"
mkdir -p "$out_dir"
cp "$bin_dir/examples/echo_server" "$out_dir/echo_server.threads.opt"
out="$out_dir/echo-threads-$(date +%Y%m%d-%H%M%S).tsv"

exec /usr/bin/python3 - "$shared/build/referee" "$out_dir/echo_server.threads.opt" "$out" <<'PY'
import os, statistics, subprocess, sys, time
referee, server, out = sys.argv[1:4]
REPS = int(os.environ.get("REPS", 5)); SECS = os.environ.get("SECS", "5")
CONNS = os.environ.get("CONNS", "64"); INFLIGHT = os.environ.get("INFLIGHT", "16")
SIZE = os.environ.get("SIZE", "64"); PORT = int(os.environ.get("PORT", 9473))
rows = []
with open(out, "w") as f:
    f.write("rep\tthreads\tmsgs_per_s\tp99_us\tsrv_cpu_pct\tref_cpu_pct\tother_cpu_pct\tsrv_ns_per_msg\n")
    for rep in range(REPS):
        for threads in ("1", "2"):
            s = subprocess.Popen([server, "--port", str(PORT), "--threads", threads], stdout=subprocess.PIPE, text=True)
            try:
                assert "listening" in s.stdout.readline()
                r = subprocess.run([referee, "-c", CONNS, "-p", INFLIGHT, "-s", SIZE, "-d", SECS,
                                    "--server-pid", str(s.pid), f"127.0.0.1:{PORT}"],
                                   capture_output=True, text=True, timeout=120)
                kv = dict(x.split("=", 1) for x in r.stdout.split() if "=" in x)
            finally:
                s.terminate(); s.wait(30); time.sleep(0.5)
            m = {k: float(kv[k]) for k in ("msgs_per_s", "p99_us", "srv_cpu_pct", "ref_cpu_pct", "other_cpu_pct")}
            m["srv_ns_per_msg"] = m["srv_cpu_pct"] / 100 / m["msgs_per_s"] * 1e9 if m["msgs_per_s"] else 0
            rows.append((threads, m))
            f.write(f"{rep}\t{threads}\t" + "\t".join(f"{m[k]:.1f}" for k in
                    ("msgs_per_s", "p99_us", "srv_cpu_pct", "ref_cpu_pct", "other_cpu_pct", "srv_ns_per_msg")) + "\n")
            f.flush()
            print(threads, m, file=sys.stderr)
print(f"echo, {CONNS} conns x {INFLIGHT} in flight x {SIZE} B, medians of {REPS} ({out}):")
print("| reactors | msgs/s | p99 us | server CPU % | referee CPU % | other CPU % | server ns per msg |")
print("|---|---|---|---|---|---|---|")
for t in ("1", "2"):
    ms = [m for x, m in rows if x == t]
    med = lambda k: statistics.median(m[k] for m in ms)
    print(f"| {t} | {med('msgs_per_s'):,.0f} | {med('p99_us'):,.0f} | {med('srv_cpu_pct'):.0f} | "
          f"{med('ref_cpu_pct'):.0f} | {med('other_cpu_pct'):.0f} | {med('srv_ns_per_msg'):.0f} |")
PY
