#!/usr/bin/env bash
# wsp-load against the neutral referee (../shared/bench) on the same echo servers (wsp's and
# uWebSockets'): CPU per message of each load generator on w1, w2 and w4, alternated in one run.
#
# Every run starts the echo server fresh (wsp's opt build, or ../shared/bench/build/uws_server;
# pinned to CPU 0), runs one load generator
# pinned to CPU 1 (the referee, then wsp-load, with the same connections, messages in flight,
# size and type), records its CPU per message over the measured window (the referee's
# ref_cpu_pct / msgs_per_s; wsp-load's own getrusage figure), the server's CPU and how much
# CPU other user processes took meanwhile (as the referee's other_cpu_pct counts it), then stops
# the server by its PID. Order: for each repetition, for each workload, for each server, referee
# then wsp-load.
# Before each run it waits (at most QUIET_MAX s) for a quiet machine; a run during which other
# processes used more than OTHER_MAX % of a CPU is kept with clean=0 and repeated (at most
# RETRIES times). A repetition's referee and wsp-load runs of a workload and server make a pair (the last
# attempt of each): the machine's speed drifts between minutes, so the figure is the median of
# the pairs' ratios wsp-load / referee (the goal: at most 2/3), over the pairs where both runs
# were clean when there are at least 3 such, else over all pairs. A server above 90% of its
# core in a pair's runs saturated first: the table says so. Each generator's kernel share
# (system over user + system time, getrusage of the child) gives the "kernel floor": wsp-load's
# kernel time alone over the referee's whole CPU per message, the ratio no change to
# wsp-load's own code can go below.
#
#   bench/load_vs_referee.sh                      # REPS=5 SECS=5 WARMUP=1 SERVERS="wsp uws"
#   REPS=3 WORKLOADS="w1 w2" SERVERS=wsp bench/load_vs_referee.sh
#   UNBATCHED=1 bench/load_vs_referee.sh          # also wsp-load --batch 0 (every wake-up at
#                                                 # the first completion), in the same run
#   EXTRA_GENERATORS="wsp-load --batch-wait 300;wsp-load --batch 48" bench/load_vs_referee.sh
#                                                 # more wsp-load variants, each paired with
#                                                 # the referee as above
#
# Writes bench/results/load-vs-referee-<date>.tsv. Needs ../shared/bench/build/referee and,
# for uws, ../shared/bench/build/uws_server (see ../shared/bench/README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
[ -x "$shared/build/referee" ] || { echo "build the referee: make -C $shared" >&2; exit 2; }

cd "$root"
source "$here/opt_copies.sh"
out="$out_dir/load-vs-referee-$(date +%Y%m%d-%H%M%S).tsv"

exec /usr/bin/python3 - "$shared/build/referee" "$out_dir/echo_server.opt" \
  "$out_dir/wsp-load.opt" "$out" "$shared/build/uws_server" <<'PY'
import os, re, resource, statistics, subprocess, sys, time

referee, wsp_server, load, out, uws_server = sys.argv[1:6]
REPS = int(os.environ.get("REPS", 5)); SECS = os.environ.get("SECS", "5")
WARMUP = os.environ.get("WARMUP", "1"); PORT = int(os.environ.get("PORT", 9431))
QUIET_PCT = float(os.environ.get("QUIET_PCT", 5)); QUIET_MAX = float(os.environ.get("QUIET_MAX", 120))
OTHER_MAX = float(os.environ.get("OTHER_MAX", 5)); RETRIES = int(os.environ.get("RETRIES", 3))
WORKLOADS = os.environ.get("WORKLOADS", "w1 w2 w4").split()
SERVERS = os.environ.get("SERVERS", "wsp uws").split()
GENERATORS = ["referee", "wsp-load"] + (["wsp-load --batch 0"] if os.environ.get("UNBATCHED") else []) \
    + [g.strip() for g in os.environ.get("EXTRA_GENERATORS", "").split(";") if g.strip()]
SERVER_CMD = {"wsp": [wsp_server, "--port", "{port}"], "uws": [uws_server, "{port}"]}
runs = 0  # each run takes the next of 50 ports: a server just stopped may still hold its own
if "uws" in SERVERS and not os.access(uws_server, os.X_OK):
    sys.exit(f"no {uws_server}: build it (../shared/bench/README.md) or set SERVERS=wsp")
SPEC = {  # connections, in flight, size, text
    "w1": (64, 16, 64, False), "w2": (64, 1, 64, False), "w4": (1000, 1, 512, True),
}
TICK = os.sysconf("SC_CLK_TCK")

def machine():  # (total jiffies, idle jiffies) of all CPUs
    f = open("/proc/stat").readline().split()[1:9]
    v = list(map(int, f)); return sum(v), v[3] + v[4]

def user_cpu(skip):  # pid -> utime+stime+cutime+cstime (s) of every user process not in skip
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip: continue
        try: st = open(f"/proc/{name}/stat").read()
        except OSError: continue
        f = st[st.rindex(")") + 2:].split()
        if int(f[6]) & 0x00200000: continue  # PF_KTHREAD: kernel threads are not counted
        out[int(name)] = sum(int(x) for x in f[11:15]) / TICK
    return out

def proc_cpu(pid):  # utime + stime of a process, seconds
    try: s = open(f"/proc/{pid}/stat").read()
    except OSError: return 0.0
    f = s[s.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / TICK

def quiet():
    start = time.time()
    while time.time() - start < QUIET_MAX:
        a = machine(); time.sleep(1); b = machine()
        if 100 * (1 - (b[1] - a[1]) / max(1, b[0] - a[0])) <= QUIET_PCT: break
    return time.time() - start

def command(gen, w):
    c, p, s, text = SPEC[w]
    if gen == "referee":
        cmd = [referee, "-c", str(c), "-p", str(p), "-s", str(s), "-d", SECS, "-w", WARMUP]
        if text: cmd.append("--text")
        return cmd + ["--server-pid", "{pid}", f"127.0.0.1:{PORT}"]
    cmd = [load, f"ws://127.0.0.1:{PORT}/", "--connections", str(c), "--pipeline", str(p),
           "--size", str(s), "--duration", SECS, "--warmup", WARMUP, "--progress", "0",
           "--server-pid", "{pid}", "--drain-timeout", "3"] + gen.split()[1:]
    return cmd + (["--text"] if text else ["--binary"])

def run(server, gen, w):
    global runs
    runs += 1
    port = PORT + runs % 50
    srv = subprocess.Popen(["taskset", "-c", "0"] + [a.replace("{port}", str(port)) for a in SERVER_CMD[server]],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if not srv.stdout.readline().startswith("listening on"): raise RuntimeError("server did not start")
        time.sleep(0.3)
        cmd = ["taskset", "-c", "1"] + [a.replace("{pid}", str(srv.pid)).replace(str(PORT), str(port))
                                         for a in command(gen, w)]
        skip = {os.getpid(), srv.pid}
        u0, s0, t0 = user_cpu(skip), proc_cpu(srv.pid), time.time()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the generator is the only child reaped
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        skip.add(p.pid)
        stdout, stderr = p.communicate(timeout=float(SECS) + 90)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        u1, s1 = user_cpu(skip), proc_cpu(srv.pid)
    finally:
        srv.terminate()
        try: srv.wait(5)
        except subprocess.TimeoutExpired: srv.kill(); srv.wait()
    # CPU seconds other user processes used during the run (children reaped meanwhile included).
    other = sum(max(0.0, v - u0.get(pid, 0.0)) for pid, v in u1.items())
    # The generator's share of its CPU spent in the kernel (whole run, getrusage of the child).
    user, system = c1.ru_utime - c0.ru_utime, c1.ru_stime - c0.ru_stime
    kernel_share = system / (user + system) if user + system > 0 else float("nan")
    return p.returncode, stdout, stderr, other, time.time() - t0, kernel_share

rows = []
cols = "rep workload server generator attempt clean quiet_wait_s rc msgs_per_s gen_cpu_pct gen_us_per_msg srv_cpu_pct srv_us_per_msg other_cpu_pct errors gen_kernel_share"
with open(out, "w") as f: f.write("\t".join(cols.split()) + "\n")
with open(out + ".meta", "w") as f:
    f.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} kernel={os.uname().release} nproc={os.cpu_count()}\n")
    f.write(f"# REPS={REPS} SECS={SECS} WARMUP={WARMUP} server on CPU 0, generators on CPU 1\n")
    for s in SERVERS: f.write(f"# server {s}: {' '.join(SERVER_CMD[s])}\n")
    for w in WORKLOADS:
        for g in GENERATORS: f.write(f"# {w} {g}: {' '.join(command(g, w))}\n")

def measure(server, gen, w):  # one row: the last attempt, repeated while not clean
    for attempt in range(RETRIES + 1):
        waited = quiet()
        rc, stdout, stderr, other_s, elapsed, kernel_share = run(server, gen, w)
        other = 100 * other_s / elapsed
        if gen == "referee":
            kv = dict(re.findall(r"(\w+)=(\S+)", stdout))
            mps = float(kv.get("msgs_per_s", "nan")); gpct = float(kv.get("ref_cpu_pct", "nan"))
            spct = float(kv.get("srv_cpu_pct", "nan")); errors = kv.get("errors", "NA")
        else:
            m = re.search(r"in the window: ([\d,]+)/s", stdout)
            mps = float(m.group(1).replace(",", "")) if m else float("nan")
            m = re.search(r"wsp-load ([\d.]+)% of a core", stdout)
            gpct = float(m.group(1)) if m else float("nan")
            m = re.search(r"server ([\d.]+)% of a core", stdout)
            spct = float(m.group(1)) if m else float("nan")
            m = re.search(r"errors +(.*)", stdout)
            errors = "0" if m and m.group(1).strip() == "none" else (m.group(1).strip().replace(" ", "_") if m else "NA")
        gus = 1e4 * gpct / mps if mps > 0 else float("nan")
        sus = 1e4 * spct / mps if mps > 0 else float("nan")
        clean = int(other <= OTHER_MAX and rc == 0)
        row = [rep, w, server, gen, attempt, clean, f"{waited:.0f}", rc, f"{mps:.0f}", f"{gpct:.1f}",
               f"{gus:.3f}", f"{spct:.1f}", f"{sus:.3f}", f"{other:.1f}", errors, f"{kernel_share:.3f}"]
        with open(out, "a") as f: f.write("\t".join(map(str, row)) + "\n")
        print("\t".join(map(str, row)), file=sys.stderr, flush=True)
        rows.append(row)
        if clean: return
        if rc != 0: sys.stderr.write(stderr[-2000:])

for rep in range(1, REPS + 1):
    for w in WORKLOADS:
        for server in SERVERS:
            for gen in GENERATORS: measure(server, gen, w)

# Columns of a row.
W, SRV, GEN, CLEAN, RC, MPS, GEN_PCT, GEN_US, SRV_PCT, KERNEL = 1, 2, 3, 5, 7, 8, 9, 10, 11, 15
print(f"\nwrote {out}\n")
# "kernel floor": the generator's kernel time alone over the referee's whole CPU per message,
# the ratio it would have if its own user-space code cost nothing.
print("| server | workload | referee us/msg | generator us/msg | ratio (median of pairs) | kernel floor | kernel share (referee / generator) | pairs under 2/3 | referee msgs/s | generator msgs/s | server CPU % (ref / wsp-load) | saturated first | pairs |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for server, w, gen in ((s, w, g) for s in SERVERS for w in WORKLOADS for g in GENERATORS[1:]):
        pairs = []
        for rep in range(1, REPS + 1):
            last = {}
            for r in rows:
                if r[0] == rep and r[W] == w and r[SRV] == server and r[RC] == 0: last[r[GEN]] = r
            if "referee" in last and gen in last: pairs.append((last["referee"], last[gen]))
        clean = [p for p in pairs if p[0][CLEAN] == 1 and p[1][CLEAN] == 1]
        used = clean if len(clean) >= 3 else pairs
        if not used:
            print(f"| {server} | {w} | no pairs |"); continue
        med = lambda k, i: statistics.median(float(p[k][i]) for p in used)
        ratios = [float(p[1][GEN_US]) / float(p[0][GEN_US]) for p in used]
        under = sum(1 for x in ratios if x <= 2 / 3)
        floor = statistics.median(r * float(p[1][KERNEL]) for r, p in zip(ratios, used))
        # A side above 90% of its core set the pace (the referee's own figure is ref_cpu_pct).
        saturated = []
        if med(0, SRV_PCT) > 90 or med(1, SRV_PCT) > 90: saturated.append("server")
        if med(0, GEN_PCT) > 90: saturated.append("referee")
        if med(1, GEN_PCT) > 90: saturated.append("generator")
        note = f"{len(used)} {'clean' if used is clean else 'all (fewer than 3 clean)'}"
        print(f"| {server} | {w} | {med(0, GEN_US):.3f} | {gen}: {med(1, GEN_US):.3f} | **{statistics.median(ratios):.2f}** "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {floor:.2f} | {med(0, KERNEL):.0%} / {med(1, KERNEL):.0%} | "
              f"{under} of {len(used)} | {med(0, MPS):,.0f} | "
              f"{med(1, MPS):,.0f} | {med(0, SRV_PCT):.0f} / {med(1, SRV_PCT):.0f} | "
              f"{' and '.join(saturated) or 'neither'} | {note} |")
PY
