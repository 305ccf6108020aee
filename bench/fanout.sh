#!/usr/bin/env bash
# Fan-out: one publisher, N subscribers in one room, 64-byte text messages, measured by
# wsp-load's fanout scenario (latency from the send to each receipt) against wsp's chat server
# on 1 and on 2 reactor threads and uWebSockets' built-in App::publish (uws_server, one
# thread: its topics do not span threads), alternated in one run, medians per server.
#
#   bench/fanout.sh                                 # REPS=3 SECS=5 SUBSCRIBERS=10000 PIPELINE=8
#   REPS=1 SUBSCRIBERS=1000 bench/fanout.sh         # a quick look
#   RATES="20 50" bench/fanout.sh                   # also open loop at 20 and 50 publishes/s
#
# Each run starts the server fresh (not pinned: the 2-reactor server needs both CPUs, and so
# does wsp-load, which runs on 2 threads), waits for every subscriber to join, then measures
# for SECS seconds. Closed loop: the sender keeps PIPELINE publishes in flight, a publish
# leaving flight once every member has it (wsp-load --fanout-pace all, its default; PACE=sender
# paces on the sender's own copy, as the runs before 2026-12-02 19:45 did, which a server with
# two reactors gives back before its other reactor has written to its half of the room).
# Figures: deliveries/s (receipts in the window / window), p99 publish-to-receive latency, the
# server's CPU per delivery. The chat server runs with --notices 0 (no join messages) and a
# 64 MiB outbound limit, as uws_server has. RATES adds open-loop runs (wsp-load --rate:
# publishes per second on schedule, latency from the intended send time) at the same offered
# load for every server, which is the comparison of latency at equal throughput.
# Writes bench/results/fanout-<date>.tsv. Needs ../shared/bench/build/uws_server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
[ -x "$shared/build/uws_server" ] || { echo "missing $shared/build/uws_server (see its README)" >&2; exit 2; }

cd "$root"
bazel build --config=opt //examples:chat_server //tools:wsp_load >&2
bin_dir="$(bazel info --config=opt bazel-bin 2>/dev/null)"
out_dir="$here/results"
mkdir -p "$out_dir"
# Private copies: a later build in another configuration must not swap a binary mid-run.
cp "$bin_dir/examples/chat_server" "$out_dir/chat_server.opt"
cp "$bin_dir/tools/load/wsp-load" "$out_dir/wsp-load.opt"
out="$out_dir/fanout-$(date +%Y%m%d-%H%M%S).tsv"

exec /usr/bin/python3 - "$out_dir/chat_server.opt" "$shared/build/uws_server" "$out_dir/wsp-load.opt" "$out" <<'PY'
import json, os, resource, statistics, subprocess, sys, tempfile, time

chat, uws, load, out = sys.argv[1:5]
REPS = int(os.environ.get("REPS", 3)); SECS = os.environ.get("SECS", "5")
N = int(os.environ.get("SUBSCRIBERS", 10000)); PIPELINE = os.environ.get("PIPELINE", "8")
PACE = os.environ.get("PACE", "all")
MODES = ["closed"] + [f"rate-{r}" for r in os.environ.get("RATES", "").split()]
PORT = int(os.environ.get("PORT", 9471))
SERVERS = {
    "wsp-1-reactor": [chat, "--port", str(PORT), "--threads", "1", "--notices", "0",
                      "--outbound-buffer-size", str(64 << 20)],
    "wsp-2-reactors": [chat, "--port", str(PORT), "--threads", "2", "--notices", "0",
                       "--outbound-buffer-size", str(64 << 20)],
    "uws-1-thread": [uws, str(PORT)],
}
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def run(name, mode):
    server = subprocess.Popen(SERVERS[name], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if "listening" not in line:
            raise SystemExit(f"{name}: no 'listening' line: {line!r}")
        with tempfile.NamedTemporaryFile(suffix=".json") as j:
            cmd = [load, f"ws://127.0.0.1:{PORT}/rooms/bench", "--scenario", "fanout",
                   "--connections", str(N), "--threads", "2", "--size", "64"] + (
                   ["--pipeline", PIPELINE, "--fanout-pace", PACE] if mode == "closed"
                   else ["--rate", mode[len("rate-"):]]) + [
                   "--duration", SECS, "--warmup", "2", "--progress", "0", "--json", j.name,
                   "--server-pid", str(server.pid)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                sys.stderr.write(done.stdout + done.stderr)
            r = json.load(open(j.name))
        window = r["phases_s"]["window"]
        deliveries = r["messages"]["received_in_window"] / window if window else 0
        srv = r["cpu"]["server_percent_of_core"] or 0
        return {
            "deliveries_per_s": deliveries,
            "p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
            "server_cpu_pct": srv,
            "server_ns_per_delivery": srv / 100 / deliveries * 1e9 if deliveries else 0,
            "load_cpu_pct": r["cpu"]["percent_of_core"],
            "opened": r["connections"]["opened"], "errors": r["errors_total"],
        }
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        time.sleep(1)

rows = []
with open(out, "w") as f:
    f.write("rep\tmode\tserver\tdeliveries_per_s\tp50_us\tp99_us\tserver_cpu_pct\tserver_ns_per_delivery\tload_cpu_pct\topened\terrors\n")
    for rep in range(REPS):
        for mode in MODES:
          for name in SERVERS:
            m = run(name, mode)
            rows.append((mode, name, m))
            f.write(f"{rep}\t{mode}\t{name}\t{m['deliveries_per_s']:.0f}\t{m['p50_us']}\t{m['p99_us']}\t"
                    f"{m['server_cpu_pct']:.1f}\t{m['server_ns_per_delivery']:.1f}\t{m['load_cpu_pct']:.1f}\t"
                    f"{m['opened']}\t{m['errors']}\n")
            f.flush()
            print(mode, name, {k: round(v, 1) if isinstance(v, float) else v for k, v in m.items()}, file=sys.stderr)

print(f"fan-out, {N} subscribers, 64 B, closed loop = pipeline {PIPELINE} paced by {PACE}, rate-R = R publishes/s, "
      f"medians of {REPS} ({out}):")
print("| mode | server | deliveries/s | p50 us | p99 us | server CPU % | server ns per delivery |")
print("|---|---|---|---|---|---|---|")
for mode in MODES:
  for name in SERVERS:
    ms = [m for o, n, m in rows if o == mode and n == name]
    med = lambda k: statistics.median(m[k] for m in ms)
    print(f"| {mode} | {name} | {med('deliveries_per_s'):,.0f} | {med('p50_us'):,.0f} | {med('p99_us'):,.0f} | "
          f"{med('server_cpu_pct'):.0f} | {med('server_ns_per_delivery'):.0f} |")
PY
