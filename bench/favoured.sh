#!/usr/bin/env bash
# Runs a benchmark command in a scheduling group of its own at the highest weight, so that
# builds and tests of others on this 2-CPU machine take the CPU only when the benchmark does
# not want it (the kernel's autogroups weigh sessions, not processes: nice alone does not help).
# Needs root. Children inherit the group.
#
#   bench/favoured.sh bench/echo_matrix.sh
#   SECS=4 bench/favoured.sh bench/ab.sh w3 4 "a=..." "b=..."
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bench/favoured.sh COMMAND [ARGS...]" >&2; exit 2; }
exec setsid --wait bash -c 'echo -20 > /proc/$$/autogroup && exec nice -n -20 "$@"' favoured "$@"
