# Sourced by the bench scripts that run wsp's echo server and wsp-load: builds both (opt) and
# copies them to $out_dir (bench/results) as echo_server.opt and wsp-load.opt, private copies
# that a later build in another configuration cannot swap mid-run. SKIP_BUILD=1 reuses the
# copies of the last run (while another bazel command holds the lock).
out_dir="$here/results"
mkdir -p "$out_dir"
if [ -z "${SKIP_BUILD:-}" ]; then
  bazel build --config=opt //examples:echo_server //tools:wsp_load >&2
  bin_dir="$(bazel info --config=opt bazel-bin 2>/dev/null)"
  cp "$bin_dir/examples/echo_server" "$out_dir/echo_server.opt"
  cp "$bin_dir/tools/load/wsp-load" "$out_dir/wsp-load.opt"
fi
