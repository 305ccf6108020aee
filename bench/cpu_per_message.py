#!/usr/bin/python3
"""cpu_per_message.py [--include-unclean] RAW.tsv [...] - server CPU microseconds per echoed message.

Reads ../shared/bench/matrix.sh output (bench/echo_matrix.sh) and prints, per workload, the
median over clean runs of srv_cpu_pct / 100 / msgs_per_s for every server side by side, how many
runs were clean, and wsp's figure over uWS's (when uws ran) and over the epoll stand-in's; then
the same ratios of each server's fastest run. This machine runs at two speeds (the same server
reads 19 or 40 us per message on w3 from one run to the next), so a median may be a fast run for
one server and a slow one for the other; the fastest run is each server's cost at the fast speed,
and its ratios held within 0.88-0.97 over three matrices whose median ratios spread 0.48-1.22.
Servers on CPU 0 and the referee on CPU 1 share loopback TCP work, so CPU per message is the
figure that holds when the referee, not the server, limits messages per second.
--include-unclean also counts runs during which other processes used the CPUs (clean=0; on a
machine shared with builds, say with bench/favoured.sh); the table still says how many were clean.
"""
import csv
import statistics
import sys

args = sys.argv[1:]
include_unclean = "--include-unclean" in args
args = [a for a in args if a != "--include-unclean"]
rows = []
for path in args:
    with open(path) as f:
        rows += list(csv.DictReader(f, delimiter="\t"))

workloads, servers = [], []
runs, clean_runs, attempts = {}, {}, {}
for r in rows:
    key = (r["workload"], r["server"])
    if r["workload"] not in workloads:
        workloads.append(r["workload"])
    if r["server"] not in servers:
        servers.append(r["server"])
    attempts[key] = attempts.get(key, 0) + 1
    try:
        msgs, cpu = float(r["msgs_per_s"]), float(r["srv_cpu_pct"])
    except (TypeError, ValueError):
        continue
    clean = r.get("clean", "1") == "1"
    if (clean or include_unclean) and r.get("rc") == "0" and msgs > 0 and cpu >= 0:
        runs.setdefault(key, []).append(cpu * 1e4 / msgs)
        clean_runs[key] = clean_runs.get(key, 0) + clean


def median(key):
    values = runs.get(key)
    return statistics.median(values) if values else float("nan")


def fastest(key):
    values = runs.get(key)
    return min(values) if values else float("nan")


ratios = [s for s in ("uws", "epoll") if s in servers and "wsp" in servers]
if include_unclean:
    print("Server CPU us per message, median of all runs (runs used, of them clean / all):")
else:
    print("Server CPU us per message, median of clean runs (clean/all):")
print()
print("| " + " | ".join(["workload"] + servers + [f"wsp / {s}" for s in ratios]) + " |")
print("|---" * (1 + len(servers) + len(ratios)) + "|")
for w in workloads:
    if include_unclean:
        cells = [f"{median((w, s)):.3g} ({len(runs.get((w, s), []))}, {clean_runs.get((w, s), 0)} clean"
                 f" / {attempts.get((w, s), 0)})" for s in servers]
    else:
        cells = [f"{median((w, s)):.3g} ({len(runs.get((w, s), []))}/{attempts.get((w, s), 0)})"
                 for s in servers]
    cells += [f"{median((w, 'wsp')) / median((w, s)):.2f}" for s in ratios]
    print(f"| {w} | " + " | ".join(cells) + " |")

if ratios:
    print()
    print("The same ratios of each server's fastest run (its cost at the machine's fast speed):")
    print()
    print("| " + " | ".join(["workload"] + [f"wsp / {s}" for s in ratios]) + " |")
    print("|---" * (1 + len(ratios)) + "|")
    for w in workloads:
        cells = [f"{fastest((w, 'wsp')) / fastest((w, s)):.2f}" for s in ratios]
        print(f"| {w} | " + " | ".join(cells) + " |")
