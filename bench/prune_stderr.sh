#!/usr/bin/env bash
# Keeps of a matrix run's referee log (<run>.tsv.stderr) only the runs whose error counters are
# not all zero (each with the line before it), and deletes the log when none is.
#
#   bench/prune_stderr.sh bench/results/matrix-*.tsv.stderr
set -euo pipefail
for log in "$@"; do
  kept="$(awk '/errors:/ { if ($0 ~ /=[1-9]/) print prev "\n" $0 } { prev = $0 }' "$log")"
  if [ -z "$kept" ]; then rm -f "$log"; else printf '%s\n' "$kept" >"$log"; fi
done
