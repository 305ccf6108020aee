#!/usr/bin/env bash
# Builds a target with --config=opt and prints the path of its binary (build output on stderr).
#   bench/opt_binary.sh //bench:tls_bench
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:?a target such as //bench:tls_bench}"
path="${target#//}"
(cd "$root" && bazel build --config=opt "$target" >&2)
echo "$(cd "$root" && bazel info --config=opt bazel-bin 2>/dev/null)/${path/://}"
