// A redis-server of the test's own (Debian's /usr/bin/redis-server): on 127.0.0.1, on a port
// free when it starts (port_for_a_child), with no persistence (nothing written to disk, nothing loaded at a
// restart), stopped with the test object. kill() is `kill -9`; start() again brings it back on
// the same port, empty, as a restarted Redis is. It also dies with the test process
// (PR_SET_PDEATHSIG), so a test that crashes leaves no Redis behind.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/ports.h"

namespace testing_support {

class RedisServer {
 public:
  RedisServer() : port_(port_for_a_child()) { start(); }
  ~RedisServer() {
    if (running()) kill();
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Starts it (again) and waits until it accepts connections.
  void start() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (spawn() && wait_ready()) return;
      kill();  // the port of a server killed a moment ago may still be held: try again shortly
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }

  // kill -9, and waits until it is gone.
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (output_ >= 0) ::close(output_);
    output_ = -1;
  }

 private:
  bool spawn() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    const std::string port = std::to_string(port_);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::execl("/usr/bin/redis-server", "redis-server", "--port", port.c_str(), "--bind",
              "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
              "--logfile", "", "--dir", "/tmp", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    output_ = fds[0];
    return pid_ > 0;
  }

  // Reads its log until "Ready to accept connections" (true) or its end or 10 s (false).
  bool wait_ready() {
    std::string log;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{output_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(output_, chunk, sizeof chunk);
      if (n <= 0) return false;
      log.append(chunk, static_cast<std::size_t>(n));
      if (log.find("Ready to accept connections") != std::string::npos) {
        // Its later log lines go nowhere: a full pipe would block it.
        ::close(output_);
        output_ = -1;
        return true;
      }
    }
    return false;
  }

  std::uint16_t port_;
  pid_t pid_ = -1;
  int output_ = -1;
};

}  // namespace testing_support
