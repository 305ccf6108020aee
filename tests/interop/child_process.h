// A child process for tests that talk to real peers: started with its stdout on a pipe, read
// line by line with a deadline, and always stopped (SIGKILL) when the object goes away, so no
// test leaves a process behind on any path.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace interop {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Path of a file in the test's runfiles, e.g. runfile("wsp/tests/interop/ws_server.py").
inline std::string runfile(const std::string& path) {
  const char* dir = std::getenv("TEST_SRCDIR");
  return dir ? std::string(dir) + "/" + path : path;
}

// The Debian interpreter that has python3-websockets (not the python3 first on PATH).
inline const char* kPython = "/usr/bin/python3";

class ChildProcess {
 public:
  struct Options {
    bool merge_stderr = false;   // stderr on the same pipe as stdout
    bool process_group = false;  // its own process group, killed whole (a browser's helpers)
  };
  explicit ChildProcess(std::vector<std::string> argv) : ChildProcess(std::move(argv), Options{}) {}
  ChildProcess(std::vector<std::string> argv, Options options) : group_(options.process_group) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (options.merge_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    if (group_) {
      posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
      posix_spawnattr_setpgroup(&attributes, 0);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, &attributes, args.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      close(out_);
      throw std::runtime_error("cannot start " + argv[0]);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(group_ ? -pid_ : pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    } else if (group_ && group_id_ > 0) {
      kill(-group_id_, SIGKILL);  // helpers that outlived the leader
    }
    if (out_ >= 0) close(out_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of stdout (without '\n'), or nullopt at EOF or when `timeout` passes first.
  // `while_waiting` (if any) runs between short waits: it drives an in-process server.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s,
                                       const std::function<void()>& while_waiting = {}) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      if (eof_ || Clock::now() >= deadline) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      int wait_ms = while_waiting ? 0 : 20;
      if (::poll(&p, 1, wait_ms) > 0) {
        char chunk[65536];
        ssize_t n = ::read(out_, chunk, sizeof chunk);
        if (n <= 0) eof_ = true;
        else buffer_.append(chunk, static_cast<std::size_t>(n));
      } else if (while_waiting) {
        while_waiting();
      }
    }
  }

  // Every remaining line until EOF (bounded by `timeout`).
  std::vector<std::string> read_all(std::chrono::milliseconds timeout = 30s,
                                    const std::function<void()>& while_waiting = {}) {
    std::vector<std::string> lines;
    auto deadline = Clock::now() + timeout;
    while (auto line = read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - Clock::now()),
                                 while_waiting)) {
      lines.push_back(*line);
    }
    return lines;
  }

  void signal(int sig) {
    if (pid_ > 0) kill(group_ ? -pid_ : pid_, sig);
  }

  // The exit status (WEXITSTATUS, or 128 + signal), or nullopt if it is still running after
  // `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout = 10s,
                          const std::function<void()>& while_waiting = {}) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        group_id_ = pid_;
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (while_waiting) while_waiting();
      else std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  bool group_ = false;
  pid_t group_id_ = -1;  // the group of a process_group child after wait() reaped its leader
  int out_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace interop
