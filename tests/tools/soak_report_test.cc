// //tools:soak's failure report, against a listener in this process (127.0.0.1, a port from
// the OS) that answers every upgrade request with 503, and against a port nobody listens on:
// each failure is counted by its reason (a handshake's told apart from the client's own
// lateness) and fails the run.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/ports.h"
#include "tests/tools/tool_process.h"

using namespace tool_test;

namespace {

// Accepts one connection at a time, reads its request head (at most a second), answers 503 and
// closes; until destroyed.
class RefusingListener {
 public:
  RefusingListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RefusingListener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int refused() const { return refused_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::string head;
      char chunk[4096];
      for (pollfd c{client, POLLIN, 0}; head.find("\r\n\r\n") == std::string::npos && ::poll(&c, 1, 1000) > 0;) {
        const ssize_t n = ::recv(client, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        head.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
      if (::send(client, answer.data(), answer.size(), MSG_NOSIGNAL) > 0) ++refused_;
      ::close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> refused_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("soak counts handshakes refused in time by their reason and fails the run") {
  RefusingListener listener;
  Output out = run({runfile("tools/soak"), "--port", std::to_string(listener.port()), "--connections", "2",
                    "--seconds", "2"},
                   60s);
  INFO(out.text());
  CHECK(out.status == 1);
  REQUIRE(listener.refused() > 0);
  const std::string n = std::to_string(listener.refused());
  // Every refusal the listener wrote is one failed handshake of that reason; none was late (the
  // requests went out at once) and none other happened.
  CHECK(out.text().find("errors: connect=0 handshake=" + n + " ") != std::string::npos);
  CHECK(out.text().find("failed " + n + " times: handshake: answered HTTP/1.1 503 Service Unavailable (0 of them late;") !=
        std::string::npos);
  CHECK(out.text().find("handshakes failed: " + n + "; 0 with the request written 10.0 s") != std::string::npos);
  CHECK(out.text().find("; " + n + " unexplained") != std::string::npos);
  CHECK(out.lines.back() == "FAIL");
}

TEST_CASE("soak counts a refused connect by its reason and fails the run") {
  testing_support::RefusingPort refusing;
  Output out = run({runfile("tools/soak"), "--port", std::to_string(refusing.port()), "--connections",
                    "1", "--seconds", "1"},
                   60s);
  INFO(out.text());
  CHECK(out.text().find("errors: connect=") != std::string::npos);
  CHECK(out.text().find("errors: connect=0 ") == std::string::npos);
  CHECK(out.text().find("times: connect: Connection refused (up to ") != std::string::npos);
  CHECK(out.text().find("handshakes failed:") == std::string::npos);
  CHECK(out.status == 1);
  CHECK(out.lines.back() == "FAIL");
}
