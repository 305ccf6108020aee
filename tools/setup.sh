#!/usr/bin/env bash
# Installs the Debian 12 packages wsp needs to build, test and benchmark. Idempotent; run as
# root (or with sudo). Downloads nothing from anywhere but Debian's archive and, for the Node
# interop peer, the npm registry (`npm ci` of the pinned tests/interop/package-lock.json).
set -euo pipefail

packages=(
  bazel-bootstrap            # Bazel 4.2.3 (WORKSPACE mode, offline with third_party/ stand-ins)
  g++ clang                  # gcc 12 (default) and clang 14 (--config=clang, fuzzers)
  libclang-rt-14-dev libfuzzer-14-dev   # sanitizer and libFuzzer runtimes for clang
  liburing-dev               # io_uring
  android-libboringssl-dev   # BoringSSL (TLS; loaded on first use)
  catch2                     # Catch2 v2 tests
  zlib1g-dev                 # permessage-deflate
  libbenchmark-dev           # microbenchmarks
  python3 python3-websockets # interop peer (/usr/bin/python3)
  openssl ca-certificates    # system trust store; test certificates
  util-linux                 # taskset for pinned benchmarks
  chromium                   # interop peer: a real browser, headless
  nginx-light                # interop peer: reverse proxy in front of the echo server
  gnuplot-nox                # wsp-load --plot (PNG charts)
  iproute2 nftables          # netns tests: veth, tc tbf, dropping a peer's packets
  redis-server               # the Redis bridge's tests start their own on a free port (tests/redis)
)
# Node.js and npm (interop peer: the npm package ws); a Node already on the machine will do.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm packages of the interop tests, exactly as locked; skipped when node_modules already
# matches the lockfile (npm writes its own copy of the lock there).
interop="$(cd "$(dirname "$0")/../tests/interop" && pwd)"
if cmp -s "$interop/package-lock.json" "$interop/node_modules/.wsp-package-lock.json"; then
  echo "setup: npm packages present"
else
  echo "setup: npm ci in tests/interop"
  (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$interop/package-lock.json" "$interop/node_modules/.wsp-package-lock.json"
fi
