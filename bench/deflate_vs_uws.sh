#!/usr/bin/env bash
# permessage-deflate, wsp's echo server against uWebSockets' (../shared/bench/build/uws_server):
# server CPU per echoed message with compression, 64 B, 1 KiB and 16 KiB text messages, the
# same client for both (wsp-load --deflate: the referee offers no extensions), alternated in one
# run; then each mode's memory for idle connections that have compressed one message.
#
# Every run starts one server fresh pinned to CPU 0 and runs wsp-load pinned to CPU 1 with 16
# connections x 4 in flight, offering the mode that matches the server's (shared for a shared
# server, dedicated for a dedicated one, nothing for off/disabled). wsp-load checks every echo
# byte for byte and reports the server's CPU over the window and on how many connections
# compression was negotiated. Its payload is --payload chat: JSON chat messages, each
# different, text from a fixed word list (raw deflate alone leaves about 0.95 of 64 B, 0.54 of
# 1 KiB, 0.38 of 16 KiB). PAYLOAD=pattern gives the old payload (a sequence tag, then the same
# random printable bytes in every message: a sixth off alone, almost everything off with
# context takeover, which flatters the dedicated modes); PAYLOAD=random is incompressible
# (binary). Order: for each repetition, for each size, every server in turn.
#
# Idle memory (IDLE connections, default 2000; IDLE=0 skips it): per repetition and server, a
# fresh server on CPU 0 and tools/idle_connections on CPU 1 opening IDLE connections that offer
# the server's mode and echo one compressible 256-byte text message each (--messages 1,
# compressed both ways), then fall silent; the server's whole-process RSS with them minus its
# RSS before, per connection.
#
#   bench/deflate_vs_uws.sh                          # REPS=3 SECS=3 IDLE=2000
#   SIZES="1024" SERVERS="wsp shared|uws shared" PAYLOAD=pattern bench/deflate_vs_uws.sh
#   SECS=1 REPS=1 IDLE=100 SIZES=64 bench/deflate_vs_uws.sh   # a quick check that it runs
#   UWS_SERVER=/path/to/uws_server bench/deflate_vs_uws.sh   # a uws_server built elsewhere
#
# Writes bench/results/deflate-vs-uws-<date>.tsv (throughput) and ...-idle.tsv (memory), each
# with a .meta of the commands, and prints the medians as Markdown tables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
uws="${UWS_SERVER:-$shared/build/uws_server}"  # or one built elsewhere (build.sh's OUT_DIR)
[ -x "$uws" ] || { echo "build uws_server: see $shared/README.md" >&2; exit 2; }

cd "$root"
source "$here/opt_copies.sh"
if [ -z "${SKIP_BUILD:-}" ]; then
  bazel build --config=opt //tools:idle_connections >&2
  cp "$(bazel info --config=opt bazel-bin 2>/dev/null)/tools/idle_connections" "$out_dir/idle_connections.opt"
fi
out="$out_dir/deflate-vs-uws-$(date +%Y%m%d-%H%M%S).tsv"
# IDLE connections on each server (the servers inherit the limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec /usr/bin/python3 - "$out_dir/echo_server.opt" "$uws" \
  "$out_dir/wsp-load.opt" "$out" "$out_dir/idle_connections.opt" <<'PY'
import os, re, statistics, subprocess, sys, time

wsp, uws, load, out, idle_tool = sys.argv[1:6]
REPS = int(os.environ.get("REPS", 3)); SECS = os.environ.get("SECS", "3")
PORT = int(os.environ.get("PORT", 9441)); SIZES = os.environ.get("SIZES", "64 1024 16384").split()
PAYLOAD = os.environ.get("PAYLOAD", "chat"); IDLE = int(os.environ.get("IDLE", 2000))
if PAYLOAD not in ("chat", "pattern", "random"): sys.exit("PAYLOAD: chat, pattern or random")
out_idle = out.replace(".tsv", "-idle.tsv")
# name: (server command, wsp-load's --deflate arguments)
SERVERS = {
    "wsp off": ([wsp, "--port", str(PORT)], []),
    "wsp shared": ([wsp, "--port", str(PORT), "--deflate", "shared"], ["--deflate", "shared"]),
    "wsp shared no counters": ([wsp, "--port", str(PORT), "--deflate", "shared", "--deflate-connection-stats", "0"],
                               ["--deflate", "shared"]),
    "wsp shared level 1": ([wsp, "--port", str(PORT), "--deflate", "shared", "--deflate-level", "1"],
                           ["--deflate", "shared"]),
    "wsp dedicated": ([wsp, "--port", str(PORT), "--deflate", "dedicated"], ["--deflate", "dedicated"]),
    "wsp dedicated 12 bits": ([wsp, "--port", str(PORT), "--deflate", "dedicated", "--deflate-window-bits", "12",
                               "--deflate-mem-level", "5"], ["--deflate", "dedicated"]),
    # uWS's dedicated4k and dedicated32k name a compressor of 9 bits/memLevel 2 and of 12 bits/
    # memLevel 5 (PerMessageDeflate.h), but uWebSockets 66dcff3's upgrade() turns both into its
    # 3 KB one, 9 bits/memLevel 1 (its "correct 4kb to 3kb" test is a bitwise AND that both
    # values pass; massif shows 1 KiB windows per connection): this is the matching wsp mode.
    "wsp dedicated 9 bits": ([wsp, "--port", str(PORT), "--deflate", "dedicated", "--deflate-window-bits", "9",
                              "--deflate-mem-level", "1"], ["--deflate", "dedicated"]),
    "uws disabled": ([uws, str(PORT)], []),
    "uws shared": ([uws, str(PORT), "--compression", "shared"], ["--deflate", "shared"]),
    "uws dedicated4k": ([uws, str(PORT), "--compression", "dedicated4k"], ["--deflate", "dedicated"]),
    "uws dedicated32k": ([uws, str(PORT), "--compression", "dedicated32k"], ["--deflate", "dedicated"]),
}
NAMES = os.environ.get("SERVERS", "|".join(SERVERS)).split("|")

def client(size, deflate):
    return [load, f"ws://127.0.0.1:{PORT}/", "--connections", "16", "--pipeline", "4", "--size", size,
            "--binary" if PAYLOAD == "random" else "--text", "--payload", PAYLOAD,
            "--duration", SECS, "--warmup", "1", "--progress", "0", "--drain-timeout", "3",
            "--deflate-min-size", "0"] + deflate

def idle_client(deflate):
    return [idle_tool, "--url", f"ws://127.0.0.1:{PORT}/", "--connections", str(IDLE), "--messages", "1",
            "--deflate-min-size", "0"] + deflate

runs = 0  # each run takes the next of 50 ports: a server just stopped may still hold its own

def with_server(name, client_args, timeout):
    """Starts server `name` fresh on CPU 0, runs the client (its command given the port and
    the server's pid) on CPU 1, stops the server; returns the client's CompletedProcess."""
    global runs
    runs += 1
    port = PORT + runs % 50
    cmd = [a.replace(str(PORT), str(port)) for a in SERVERS[name][0]]
    srv = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        if not srv.stdout.readline().startswith("listening on"): raise RuntimeError(f"{name} did not start")
        time.sleep(0.3)
        return subprocess.run(["taskset", "-c", "1"] + [a.replace(str(PORT), str(port)) for a in client_args(srv.pid)],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        srv.terminate()
        try: srv.wait(5)
        except subprocess.TimeoutExpired: srv.kill(); srv.wait()

def run(name, size):
    deflate = SERVERS[name][1]
    p = with_server(name, lambda pid: client(size, deflate) + ["--server-pid", str(pid)], float(SECS) + 60)
    s = p.stdout
    num = lambda pattern: float(m.group(1).replace(",", "")) if (m := re.search(pattern, s)) else float("nan")
    mps = num(r"in the window: ([\d,]+)/s")
    spct = num(r"server ([\d.]+)% of a core")
    gus = num(r"of a core \(user [\d.]+ s, system [\d.]+ s\): ([\d.]+) us per message")
    negotiated = num(r"negotiated on ([\d,]+) of")
    sent = num(r"sent [\d,]+ compressed \(([\d,]+) ->")
    wire = num(r"sent [\d,]+ compressed \([\d,]+ -> ([\d,]+) bytes\)")
    errors = (m.group(1).strip() if (m := re.search(r"errors +(.*)", s)) else "NA").replace(" ", "_")
    return [p.returncode, f"{mps:.0f}", f"{spct:.1f}", f"{1e4 * spct / mps:.3f}" if mps > 0 else "nan",
            f"{gus:.3f}", "0" if negotiated != negotiated else f"{negotiated:.0f}",
            f"{sent / wire:.2f}" if sent == sent and wire > 0 else "-", errors]

def idle(name):
    deflate = SERVERS[name][1]
    p = with_server(name, lambda pid: idle_client(deflate) + ["--pid", str(pid)], 300)
    m = re.search(r"^result (.*)$", p.stdout, re.M)
    kv = dict(item.split("=") for item in m.group(1).split()) if m else {}
    get = lambda k: kv.get(k, "nan")
    return [p.returncode, get("connections"), get("failed"), get("deflate"), get("rss_before_kib"),
            get("rss_kib"), get("bytes_per_connection")]

cols = "rep size payload server rc msgs_per_s srv_cpu_pct srv_us_per_msg load_us_per_msg deflate_connections client_ratio errors"
with open(out, "w") as f: f.write("\t".join(cols.split()) + "\n")
with open(out + ".meta", "w") as f:
    f.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} kernel={os.uname().release} nproc={os.cpu_count()}\n")
    f.write(f"# REPS={REPS} SECS={SECS} PAYLOAD={PAYLOAD} server on CPU 0, wsp-load on CPU 1\n")
    for n in NAMES: f.write(f"# {n}: {' '.join(SERVERS[n][0])} | {' '.join(client('SIZE', SERVERS[n][1]))}\n")
idle_cols = "rep server rc connections failed deflate_connections rss_before_kib rss_kib bytes_per_connection"
if IDLE > 0:
    with open(out_idle, "w") as f: f.write("\t".join(idle_cols.split()) + "\n")
    with open(out_idle + ".meta", "w") as f:
        f.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} kernel={os.uname().release} nproc={os.cpu_count()}\n")
        f.write(f"# REPS={REPS} IDLE={IDLE} server on CPU 0, idle_connections on CPU 1\n")
        for n in NAMES: f.write(f"# {n}: {' '.join(SERVERS[n][0])} | {' '.join(idle_client(SERVERS[n][1]))} --pid PID\n")
rows, idle_rows = [], []
for rep in range(1, REPS + 1):
    for size in SIZES:
        for name in NAMES:
            row = [rep, size, PAYLOAD, name] + run(name, size)
            rows.append(row)
            with open(out, "a") as f: f.write("\t".join(map(str, row)) + "\n")
            print("\t".join(map(str, row)), file=sys.stderr, flush=True)
    for name in NAMES if IDLE > 0 else []:
        row = [rep, name] + idle(name)
        idle_rows.append(row)
        with open(out_idle, "a") as f: f.write("\t".join(map(str, row)) + "\n")
        print("\t".join(map(str, row)), file=sys.stderr, flush=True)

print(f"\nwrote {out}" + (f" and {out_idle}" if IDLE > 0 else "") + f"\n\npayload {PAYLOAD}\n")
print("| size | server | server us/msg (median) | range | msgs/s | wsp-load us/msg | connections compressed | client's messages shrank by | errors |")
print("|---|---|---|---|---|---|---|---|---|")
for size in SIZES:
    for name in NAMES:
        rs = [r for r in rows if r[1] == size and r[3] == name and r[4] == 0]
        if not rs: print(f"| {size} B | {name} | failed | | | | | | |"); continue
        us = [float(r[7]) for r in rs]
        print(f"| {size} B | {name} | **{statistics.median(us):.2f}** | {min(us):.2f}-{max(us):.2f} | "
              f"{statistics.median(float(r[5]) for r in rs):,.0f} | {statistics.median(float(r[8]) for r in rs):.2f} | "
              f"{rs[-1][9]} of 16 | {rs[-1][10]}x | {','.join(sorted(set(r[11] for r in rs)))} |")
if IDLE > 0:
    print(f"\n| server | bytes per idle connection after one compressed message (median, {IDLE} connections) | range | compressed on | RSS idle -> with them |")
    print("|---|---|---|---|---|")
    for name in NAMES:
        rs = [r for r in idle_rows if r[1] == name and r[2] == 0]
        if not rs: print(f"| {name} | failed | | | |"); continue
        b = [float(r[8]) for r in rs]
        print(f"| {name} | **{statistics.median(b):,.0f}** | {min(b):,.0f}-{max(b):,.0f} | {rs[-1][5]} of {rs[-1][3]} | "
              f"{int(rs[-1][6]) / 1024:.1f} -> {int(rs[-1][7]) / 1024:.1f} MiB |")
PY
