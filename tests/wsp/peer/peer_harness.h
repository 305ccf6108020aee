// Test harness for the WebSocketPeer façade: a TCPServer on 127.0.0.1 and helpers that poll
// peers until a condition holds (bounded in time), all on one reactor in the test's thread.
#pragma once

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "wsp/protocol/handshake.h"
#include "wsp/protocol/protocol.h"
#include "wsp/websocket_peer.h"

namespace wsp::testing {

using namespace std::chrono_literals;

inline std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
inline std::string text(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

struct PeerHarness {
  io::Reactor reactor;
  TCPServer server{reactor};
  int port = 0;

  PeerHarness() {
    REQUIRE(server.listen(0, "127.0.0.1") == OK);
    port = server.get_local_port();
  }
  std::string url(const std::string& path = "/") const {
    return "ws://127.0.0.1:" + std::to_string(port) + path;
  }

  // Polls `peers` (and the reactor) until `done()` or `seconds` pass; true if done. Wait for
  // the condition a check needs, never for a fixed time: the deadline only bounds a hang.
  bool poll_until(const std::function<bool()>& done, std::initializer_list<WebSocketPeer*> peers,
                  double seconds = 5) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      for (WebSocketPeer* p : peers) p->poll();
      if (!done()) reactor.run_once(1ms);
    }
    return true;
  }

  // The next TCP connection, handed to `server_peer.accept_stream()`.
  bool accept_into(WebSocketPeer& server_peer, double seconds = 5) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!server.is_connection_available()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      reactor.run_once(1ms);
    }
    return server_peer.accept_stream(server.take_connection()) == OK;
  }

  // Connects `client` to `server_peer` and polls both to OPEN.
  bool open_pair(WebSocketPeer& client, WebSocketPeer& server_peer, const std::string& path = "/") {
    if (client.connect_to_url(url(path)) != OK) return false;
    if (!accept_into(server_peer)) return false;
    return poll_until(
        [&] {
          return client.get_ready_state() == WebSocketPeer::STATE_OPEN &&
                 server_peer.get_ready_state() == WebSocketPeer::STATE_OPEN;
        },
        {&client, &server_peer});
  }
};

// A hand-driven peer on a plain socket, for behaviour our own peers would never show: it
// answers the opening handshake, then reads and writes raw frames, or stays silent.
struct RawServer {
  int listen_fd = -1;
  int fd = -1;
  int port = 0;
  std::string received;  // raw bytes after the handshake

  RawServer() {
    listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~RawServer() {
    if (fd >= 0) ::close(fd);
    ::close(listen_fd);
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }

  // Non-blocking steps, to be called from a poll loop.
  bool try_accept() {
    if (fd >= 0) return true;
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    return fd >= 0;
  }
  // Reads what is available into `received`; false at EOF/error.
  bool read_available() {
    if (fd < 0) return true;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        received.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }
  void write(std::string_view data) {
    REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
  }
  // Connects `client` to this server and answers its handshake; true once the client is OPEN.
  bool connect(WebSocketPeer& client, io::Reactor& reactor) {
    if (client.connect_to_url(url()) != OK) return false;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    bool answered = false;
    while (client.get_ready_state() != WebSocketPeer::STATE_OPEN &&
           std::chrono::steady_clock::now() < deadline) {
      client.poll();
      reactor.run_once(1ms);
      if (try_accept() && read_available() && !answered) answered = answer_handshake();
    }
    return client.get_ready_state() == WebSocketPeer::STATE_OPEN;
  }
  // Once the whole request is in `received`: answers 101 and keeps the rest as frames.
  bool answer_handshake() {
    ServerHandshake handshake(ServerHandshakeOptions{});
    std::size_t consumed = 0;
    auto status = handshake.feed(reinterpret_cast<const std::uint8_t*>(received.data()),
                                 received.size(), consumed);
    if (status != HandshakeStatus::done) return false;
    write(handshake.response());
    received.erase(0, consumed);
    return true;
  }
};

}  // namespace wsp::testing
