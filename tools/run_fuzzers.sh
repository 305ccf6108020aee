#!/usr/bin/env bash
# Builds the libFuzzer targets (the protocol core's in tests/wsp/protocol/fuzz, the RESP2
# parser's in tests/redis/fuzz; --config=fuzz: clang, ASan, UBSan) and runs each for a bounded
# time over its seed corpus. Exits non-zero on any crash, leak, timeout or
# sanitizer report.
#
#   tools/run_fuzzers.sh [seconds_per_target=60] [target...]
#
# New inputs go to a scratch directory, never into the committed seed corpus; a crashing input
# is kept under $WSP_FUZZ_ARTIFACTS (default /tmp/wsp-fuzz-artifacts) for reproduction:
#   bazel-bin/tests/<room>/fuzz/<target> <artifact>
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(protocol_fuzzer handshake_fuzzer utf8_fuzzer deflate_fuzzer resp_fuzzer)
fi

# The folder of a target: the fuzz/ folder that holds its source.
folder_of() {
  local source
  source=$(ls tests/*/fuzz/"$1".cc tests/*/*/fuzz/"$1".cc 2>/dev/null | head -n 1)
  [ -n "$source" ] || { echo "run_fuzzers: no fuzz target $1" >&2; exit 2; }
  dirname "$source"
}

labels=()
for t in "${targets[@]}"; do labels+=("//$(folder_of "$t"):$t"); done
bazel build --config=fuzz "${labels[@]}"
bin="$(bazel info --config=fuzz bazel-bin 2>/dev/null)"

artifacts="${WSP_FUZZ_ARTIFACTS:-/tmp/wsp-fuzz-artifacts}"
mkdir -p "$artifacts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

status=0
for t in "${targets[@]}"; do
  echo "=== $t: ${seconds}s"
  mkdir -p "$scratch/$t"
  # ASan reports leaks at exit; UBSan findings abort instead of just printing.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
       UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       "$bin/$(folder_of "$t")/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
         "$scratch/$t" "$(folder_of "$t")/corpus/$t" >"$scratch/$t.log" 2>&1; then
    echo "!!! $t FAILED; log tail:"
    tail -n 60 "$scratch/$t.log"
    status=1
  else
    grep -E '^stat::number_of_executed_units|^Done' "$scratch/$t.log" || true
  fi
done
exit "$status"
