// Where a benchmark finds a program it depends on (a `data` dependency): in its runfiles tree,
// whether started by `bazel run` (RUNFILES_DIR set) or straight from bazel-bin.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

namespace bench {

// `path` is relative to the workspace, e.g. "examples/echo_server".
inline std::string runfile(const char* argv0, std::string_view path) {
  const std::string root = std::getenv("RUNFILES_DIR") ? std::getenv("RUNFILES_DIR")
                                                      : std::string(argv0) + ".runfiles";
  return root + "/wsp/" + std::string(path);
}

}  // namespace bench
