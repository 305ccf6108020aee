# Sourced by the scripts that run one echo server under the referee (bench/callgrind_echo.sh,
# bench/kernel_profile.sh) after `set -euo pipefail`, with their own arguments and PORT's
# default in `default_port`. Sets: here, root, shared (the referee's directory), server and
# args (SERVER_BINARY [ARGS...], default the opt build of //examples:echo_server with
# "--port {port}"; {port} replaced), port, and work (a directory removed at exit, when the
# server started as $pid is stopped too).
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(dirname "$here")"
shared="${WSP_SHARED_BENCH:-$root/../shared/bench}"
[ -x "$shared/build/referee" ] || { echo "build the referee: make -C $shared" >&2; exit 2; }
server="${1:-}"
[ $# -gt 0 ] && shift
[ -n "$server" ] || server="$("$here/opt_binary.sh" //examples:echo_server)"
port="${PORT:-$default_port}"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--port "{port}")
args=("${args[@]//\{port\}/$port}")
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
