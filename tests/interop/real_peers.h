// Finding the real peers tools/setup.sh installs (Node and its `ws` package, Chromium, nginx)
// and wsp's example echo servers. A missing peer fails the test (REQUIRE), never skips it: CI
// ran tools/setup.sh first, so a missing peer is a broken setup.
#pragma once

#include <catch2/catch.hpp>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/interop/child_process.h"

namespace interop {

// The first of `candidates` that is executable, or "" when none is.
inline std::string find_program(const std::vector<std::string>& candidates) {
  for (const auto& path : candidates)
    if (access(path.c_str(), X_OK) == 0) return path;
  return "";
}

inline std::string node_program() {
  std::string node = find_program({"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"});
  INFO("Node.js is missing: run tools/setup.sh");
  REQUIRE(!node.empty());
  return node;
}

// The real path of a runfile (the source tree: runfiles are symlinks under local execution).
inline std::string real_runfile(const std::string& path) {
  char resolved[PATH_MAX];
  std::string link = runfile(path);
  return realpath(link.c_str(), resolved) ? std::string(resolved) : link;
}

// A Node script in tests/interop whose `require('ws')` resolves (Node follows the runfile
// symlink to the source tree, where tools/setup.sh ran `npm ci`).
inline std::string node_script(const std::string& name) {
  std::string script = real_runfile("wsp/tests/interop/" + name);
  std::string dir = script.substr(0, script.rfind('/'));
  INFO("the npm package ws is missing from " << dir << "/node_modules: run tools/setup.sh");
  REQUIRE(access((dir + "/node_modules/ws/package.json").c_str(), R_OK) == 0);
  return script;
}

// One of wsp's example echo servers (//examples:echo_server or :echo_server_poll) on 127.0.0.1
// with a port from the OS; with `cert`/`key` it serves wss://. Killed with the object.
struct EchoServerProcess {
  ChildProcess process;
  int port = 0;

  EchoServerProcess(const std::string& target, const std::string& cert = "", const std::string& key = "",
                    const std::vector<std::string>& more_flags = {})
      : process(arguments(target, cert, key, more_flags)) {
    auto line = process.read_line(std::chrono::seconds(15));
    REQUIRE(line);
    REQUIRE(line->rfind("listening on 127.0.0.1:", 0) == 0);
    port = std::stoi(line->substr(line->rfind(':') + 1));
  }
  static std::vector<std::string> arguments(const std::string& target, const std::string& cert,
                                            const std::string& key, const std::vector<std::string>& more_flags) {
    std::vector<std::string> argv{runfile("wsp/examples/" + target), "--host", "127.0.0.1", "--port", "0",
                                  "--inbound-buffer-size", "67108864", "--outbound-buffer-size", "67108864"};
    if (!cert.empty()) argv.insert(argv.end(), {"--tls-cert", cert, "--tls-key", key});
    argv.insert(argv.end(), more_flags.begin(), more_flags.end());
    return argv;
  }
};

}  // namespace interop
