#!/usr/bin/env bash
# wsp's echo server against the anchors (Beast, node ws, python websockets, and bench/epoll_echo,
# a minimal server in the shape of uWebSockets) with the neutral referee of ../shared/bench, in
# one run: the four workloads w1..w4, server on CPU 0, referee on CPU 1, servers alternated per
# repetition. Writes bench/results/<date>.tsv (+ .meta; + .stderr only for runs with referee errors)
# and prints the medians table (Markdown) that docs/perf.md quotes.
#
#   bench/echo_matrix.sh            # REPS=3 SECS=5 by default; env as in shared/bench/matrix.sh
#   SERVERS="wsp beast" REPS=5 bench/echo_matrix.sh
#   UWS=../shared/bench/build/uws_server SERVERS="wsp uws beast epoll" REPS=5 bench/echo_matrix.sh
#
# UWS (optional): a uWebSockets echo server built outside the project (shared/bench/README.md,
# "uWebSockets"); when given, it runs as server "uws" alongside the others. After the usual table
# comes the server CPU per message of every server side by side (bench/cpu_per_message.py).
#
# Needs: shared/bench built (make -C ../shared/bench; libboost1.81-dev for Beast) and its
# node modules (cd ../shared/bench/node && npm install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
[ -x "$shared/build/referee" ] || { echo "build the referee: make -C $shared" >&2; exit 2; }

cd "$root"
bazel build --config=opt //examples:echo_server //bench:epoll_echo >&2
bin_dir="$(bazel info --config=opt bazel-bin 2>/dev/null)"
out_dir="$here/results"
mkdir -p "$out_dir"
# A private copy: later builds in other configurations must not swap the binary mid-run.
cp "$bin_dir/examples/echo_server" "$out_dir/echo_server.opt"
cp "$bin_dir/bench/epoll_echo" "$out_dir/epoll_echo.opt"

servers="$(mktemp)"
trap 'rm -f "$servers"' EXIT
default_servers="wsp epoll beast nodews pyws"
if [ -n "${UWS:-}" ]; then
  [ -x "$UWS" ] || { echo "UWS=$UWS is not an executable" >&2; exit 2; }
  default_servers="wsp uws epoll beast nodews pyws"
fi
wanted=" ${SERVERS:-$default_servers} "
while read -r name port cmd; do
  case "$name" in ""|\#*) continue ;; esac
  [[ "$wanted" == *" $name "* ]] || continue
  cmd="${cmd//WSP_ECHO_SERVER/$out_dir/echo_server.opt}"
  echo "$name $port ${cmd//WSP_EPOLL_ECHO/$out_dir/epoll_echo.opt}"
done < "$here/servers.txt" > "$servers"
if [ -n "${UWS:-}" ] && [[ "$wanted" == *" uws "* ]]; then
  echo "uws 9106 $(realpath "$UWS") 9106" >> "$servers"
fi

out="$out_dir/matrix-$(date +%Y%m%d-%H%M%S).tsv"
"$shared/matrix.sh" "$servers" "$out"
[ -f "$out.stderr" ] && "$here/prune_stderr.sh" "$out.stderr"
/usr/bin/python3 "$shared/summarize.py" "$out"
echo
/usr/bin/python3 "$here/cpu_per_message.py" "$out"
