// Running wsp-load, wsp-cat and the servers they talk to as child processes in the tools'
// tests: every process is stopped when its object goes away (interop::ChildProcess), output
// is read with deadlines, and servers announce the port the OS gave them.
#pragma once

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/interop/child_process.h"

namespace tool_test {

using namespace std::chrono_literals;
using interop::ChildProcess;

inline std::string runfile(const std::string& path) { return interop::runfile("wsp/" + path); }

inline std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// A command's output (stdout and stderr joined, in order) and exit status.
struct Output {
  std::vector<std::string> lines;
  int status = -1;
  std::string text() const {
    std::string all;
    for (const std::string& l : lines) all += l + "\n";
    return all;
  }
};

// Runs `argv` to its end (at most `timeout`) with stderr joined to stdout.
inline Output run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 60s) {
  std::vector<std::string> shell{"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1"};
  shell.insert(shell.end(), argv.begin(), argv.end());
  ChildProcess child(shell);
  Output out;
  out.lines = child.read_all(timeout);
  out.status = child.wait(10s).value_or(-1);
  return out;
}

// Runs a shell command line (pipelines) the same way.
inline Output run_shell(const std::string& command, std::chrono::milliseconds timeout = 60s) {
  ChildProcess child({"/bin/sh", "-c", command + " 2>&1"});
  Output out;
  out.lines = child.read_all(timeout);
  out.status = child.wait(10s).value_or(-1);
  return out;
}

// A server started with --port 0 that prints "listening on HOST:PORT" first.
struct Server {
  ChildProcess process;
  int port = 0;
  std::string host;
  explicit Server(std::vector<std::string> argv, std::string host_ = "127.0.0.1")
      : process(std::move(argv)), host(std::move(host_)) {
    const std::string line = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on " + host + ":";
    REQUIRE(line.rfind(prefix, 0) == 0);
    port = std::stoi(line.substr(prefix.size()));
  }
  std::string url(const std::string& scheme = "ws") const {
    const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return scheme + "://" + h + ":" + std::to_string(port) + "/";
  }
};

inline Server echo_server() {
  return Server({runfile("examples/echo_server"), "--port", "0"});
}
inline Server faulty_server(std::vector<std::string> faults) {
  std::vector<std::string> argv{runfile("tests/tools/faulty_echo_server"), "--port", "0"};
  argv.insert(argv.end(), faults.begin(), faults.end());
  return Server(argv);
}

// The figures check_load_json.py prints for a wsp-load --json file ("schema" is "ok" when
// every required field is there with its type).
inline std::map<std::string, std::string> json_figures(const std::string& path) {
  Output out = run({interop::kPython, runfile("tests/tools/check_load_json.py"), path}, 30s);
  std::map<std::string, std::string> figures;
  for (const std::string& line : out.lines) {
    const std::size_t space = line.find(' ');
    if (space != std::string::npos) figures[line.substr(0, space)] = line.substr(space + 1);
  }
  if (out.status != 0) figures["schema"] = out.text();
  return figures;
}

}  // namespace tool_test
