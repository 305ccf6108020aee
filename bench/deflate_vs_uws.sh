#!/usr/bin/env bash
# permessage-deflate, wsp's echo server against uWebSockets' (../shared/bench/build/uws_server):
# server CPU per echoed message with compression, 64 B and 1 KiB text messages, the same client
# for both (wsp-load --deflate: the referee offers no extensions), alternated in one run.
#
# Every run starts one server fresh pinned to CPU 0 and runs wsp-load pinned to CPU 1 with 16
# connections x 4 in flight, offering the mode that matches the server's (shared for a shared
# server, dedicated for a dedicated one, nothing for off/disabled). wsp-load checks every echo
# byte for byte (its payload: a sequence tag, then random printable ASCII, which deflate shrinks
# by about a sixth) and reports the server's CPU over the window and on how many connections
# compression was negotiated. Order: for each repetition, for each size, every server in turn.
#
#   bench/deflate_vs_uws.sh                          # REPS=3 SECS=3
#
# Writes bench/results/deflate-vs-uws-<date>.tsv and prints the medians as a Markdown table.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
[ -x "$shared/build/uws_server" ] || { echo "build uws_server: see $shared/README.md" >&2; exit 2; }

cd "$root"
source "$here/opt_copies.sh"
out="$out_dir/deflate-vs-uws-$(date +%Y%m%d-%H%M%S).tsv"

exec /usr/bin/python3 - "$out_dir/echo_server.opt" "$shared/build/uws_server" \
  "$out_dir/wsp-load.opt" "$out" <<'PY'
import os, re, statistics, subprocess, sys, time

wsp, uws, load, out = sys.argv[1:5]
REPS = int(os.environ.get("REPS", 3)); SECS = os.environ.get("SECS", "3")
PORT = int(os.environ.get("PORT", 9441)); SIZES = os.environ.get("SIZES", "64 1024").split()
# name: (server command, wsp-load's --deflate arguments)
SERVERS = {
    "wsp off": ([wsp, "--port", str(PORT)], []),
    "wsp shared": ([wsp, "--port", str(PORT), "--deflate", "shared"], ["--deflate", "shared"]),
    "wsp shared level 1": ([wsp, "--port", str(PORT), "--deflate", "shared", "--deflate-level", "1"],
                           ["--deflate", "shared"]),
    "wsp dedicated": ([wsp, "--port", str(PORT), "--deflate", "dedicated"], ["--deflate", "dedicated"]),
    "wsp dedicated 12 bits": ([wsp, "--port", str(PORT), "--deflate", "dedicated", "--deflate-window-bits", "12",
                               "--deflate-mem-level", "5"], ["--deflate", "dedicated"]),
    "uws disabled": ([uws, str(PORT)], []),
    "uws shared": ([uws, str(PORT), "--compression", "shared"], ["--deflate", "shared"]),
    "uws dedicated4k": ([uws, str(PORT), "--compression", "dedicated4k"], ["--deflate", "dedicated"]),
    "uws dedicated32k": ([uws, str(PORT), "--compression", "dedicated32k"], ["--deflate", "dedicated"]),
}
NAMES = os.environ.get("SERVERS", "|".join(SERVERS)).split("|")

def client(size, deflate):
    return [load, f"ws://127.0.0.1:{PORT}/", "--connections", "16", "--pipeline", "4", "--size", size,
            "--text", "--duration", SECS, "--warmup", "1", "--progress", "0", "--drain-timeout", "3",
            "--deflate-min-size", "0"] + deflate

runs = 0  # each run takes the next of 50 ports: a server just stopped may still hold its own

def run(name, size):
    global runs
    runs += 1
    port = PORT + runs % 50
    cmd, deflate = SERVERS[name]
    cmd = [a.replace(str(PORT), str(port)) for a in cmd]
    srv = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        if not srv.stdout.readline().startswith("listening on"): raise RuntimeError(f"{name} did not start")
        time.sleep(0.3)
        p = subprocess.run(["taskset", "-c", "1"] + [a.replace(str(PORT), str(port)) for a in client(size, deflate)]
                           + ["--server-pid", str(srv.pid)],
                           capture_output=True, text=True, timeout=float(SECS) + 60)
    finally:
        srv.terminate()
        try: srv.wait(5)
        except subprocess.TimeoutExpired: srv.kill(); srv.wait()
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

cols = "rep size server rc msgs_per_s srv_cpu_pct srv_us_per_msg load_us_per_msg deflate_connections client_ratio errors"
with open(out, "w") as f: f.write("\t".join(cols.split()) + "\n")
with open(out + ".meta", "w") as f:
    f.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} kernel={os.uname().release} nproc={os.cpu_count()}\n")
    f.write(f"# REPS={REPS} SECS={SECS} server on CPU 0, wsp-load on CPU 1\n")
    for n in NAMES: f.write(f"# {n}: {' '.join(SERVERS[n][0])} | {' '.join(client('SIZE', SERVERS[n][1]))}\n")
rows = []
for rep in range(1, REPS + 1):
    for size in SIZES:
        for name in NAMES:
            row = [rep, size, name] + run(name, size)
            rows.append(row)
            with open(out, "a") as f: f.write("\t".join(map(str, row)) + "\n")
            print("\t".join(map(str, row)), file=sys.stderr, flush=True)

print(f"\nwrote {out}\n")
print("| size | server | server us/msg (median) | range | msgs/s | wsp-load us/msg | connections compressed | client's messages shrank by | errors |")
print("|---|---|---|---|---|---|---|---|---|")
for size in SIZES:
    for name in NAMES:
        rs = [r for r in rows if r[1] == size and r[2] == name and r[3] == 0]
        if not rs: print(f"| {size} B | {name} | failed | | | | | | |"); continue
        us = [float(r[6]) for r in rs]
        print(f"| {size} B | {name} | **{statistics.median(us):.2f}** | {min(us):.2f}-{max(us):.2f} | "
              f"{statistics.median(float(r[4]) for r in rs):,.0f} | {statistics.median(float(r[7]) for r in rs):.2f} | "
              f"{rs[-1][8]} of 16 | {rs[-1][9]}x | {','.join(sorted(set(r[10] for r in rs)))} |")
PY
