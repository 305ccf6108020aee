#!/usr/bin/env bash
# What permessage-deflate's shared mode adds to a connection: whole-process RSS per connection
# of wsp's echo server (tools/idle_connections, 10,000 connections by default) with
# compression off, shared, and shared without per-connection counters
# (--deflate-connection-stats 0), each with 0 messages (idle since its handshake) and with 1
# compressed message echoed first; the modes alternate within each round, and each figure is
# compared with `off` of the same round and message count.
#
#   bench/deflate_idle_memory.sh                    # ROUNDS=3 CONNECTIONS=10000
#
# Writes bench/results/deflate-idle-memory-<date>.tsv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
bazel build --config=opt //examples:echo_server //tools:idle_connections >&2
bin_dir="$(bazel info --config=opt bazel-bin 2>/dev/null)"
out_dir="$here/results"
mkdir -p "$out_dir"
cp "$bin_dir/examples/echo_server" "$out_dir/echo_server.opt"
cp "$bin_dir/tools/idle_connections" "$out_dir/idle_connections.opt"
out="$out_dir/deflate-idle-memory-$(date +%Y%m%d-%H%M%S).tsv"
exec /usr/bin/python3 - "$out_dir/echo_server.opt" "$out_dir/idle_connections.opt" "$out" <<'PY'
import os, re, statistics, subprocess, sys, time
server, tool, out = sys.argv[1:4]
ROUNDS = int(os.environ.get("ROUNDS", 3)); N = int(os.environ.get("CONNECTIONS", 10000))
PORT = int(os.environ.get("PORT", 9481))
MODES = {  # name: (server flags, client flags)
    "off": ([], []),
    "shared": (["--deflate", "shared"], ["--deflate", "shared"]),
    "shared, no counters": (["--deflate", "shared", "--deflate-connection-stats", "0"], ["--deflate", "shared"]),
}
rows = []
with open(out, "w") as f: f.write("round\tmessages\tmode\trc\tbytes_per_connection\tcompressed_on\n")
for rnd in range(1, ROUNDS + 1):
    for messages in (0, 1):
        for mode, (server_flags, client_flags) in MODES.items():
            port = PORT + len(rows) % 40
            srv = subprocess.Popen(["taskset", "-c", "0", server, "--port", str(port)] + server_flags,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                srv.stdout.readline()
                p = subprocess.run(["taskset", "-c", "1", tool, "--pid", str(srv.pid), "--url",
                                    f"ws://127.0.0.1:{port}/", "--connections", str(N), "--messages",
                                    str(messages), "--deflate-min-size", "0"] + client_flags,
                                   capture_output=True, text=True, timeout=300)
            finally:
                srv.terminate(); srv.wait()
            kv = dict(re.findall(r"(\w+)=(\S+)", p.stdout))
            row = [rnd, messages, mode, p.returncode, float(kv.get("bytes_per_connection", "nan")),
                   kv.get("deflate", "-")]
            rows.append(row)
            with open(out, "a") as f: f.write("\t".join(map(str, row)) + "\n")
            print("\t".join(map(str, row)), file=sys.stderr, flush=True)
print(f"\nwrote {out}\n\n| messages | mode | bytes per connection, each round | above `off`, each round | median above `off` |")
print("|---|---|---|---|---|")
for messages in (0, 1):
    for mode in MODES:
        own = [r[4] for r in rows if r[1] == messages and r[2] == mode]
        off = [r[4] for r in rows if r[1] == messages and r[2] == "off"]
        above = [a - b for a, b in zip(own, off)]
        print(f"| {messages} | {mode} | {' / '.join(f'{x:,.0f}' for x in own)} | "
              f"{' / '.join(f'{x:+,.0f}' for x in above)} | {statistics.median(above):+,.0f} |")
PY
