// A redis-server of the test's own (Debian's /usr/bin/redis-server): on 127.0.0.1, on a port
// free when it starts, with no persistence (nothing written to disk, nothing loaded at a
// restart), stopped with the test object. kill() is `kill -9`; start() again brings it back on
// the same port, empty, as a restarted Redis is.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/interop/child_process.h"

namespace testing_support {

class RedisServer {
 public:
  RedisServer() : port_(free_port()) { start(); }

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts it (again) and waits until it accepts connections.
  void start() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      process_ = std::make_unique<interop::ChildProcess>(
          std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--daemonize", "no", "--logfile", "", "--dir", "/tmp"},
          interop::ChildProcess::Options{.merge_stderr = true});
      while (auto line = process_->read_line(std::chrono::seconds(10))) {
        if (line->find("Ready to accept connections") != std::string::npos) return;
      }
      // The port of a server killed a moment ago may still be held: try again shortly.
      process_.reset();
      usleep(100 * 1000);
    }
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
  // kill -9, and waits until it is gone.
  void kill() {
    process_->signal(SIGKILL);
    process_->wait();
    process_.reset();
  }
  bool running() const { return process_ != nullptr; }

  // A port nothing listens on now.
  static std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
  }

 private:
  std::uint16_t port_;
  std::unique_ptr<interop::ChildProcess> process_;
};

}  // namespace testing_support
