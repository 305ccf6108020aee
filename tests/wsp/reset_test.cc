// An RST in the middle of a message, both directions, on both faces: a raw peer (a plain socket
// on a thread of its own) writes half a frame, then closes with SO_LINGER 0. The coroutine
// receive() must end with closed and code -1; the façade must reach STATE_CLOSED with -1. Runs
// under --config=asan too, so nothing may leak on these paths.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/wsp/raw_peer.h"
#include "wsp/protocol/handshake.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using raw_peer::Clock;
using raw_peer::Socket;

namespace {

// Under the default inbound_buffer_size, so only the reset can end the message.
const std::string kHalfFrameSource = std::string(30000, 'r');

// A raw server on 127.0.0.1:0 that answers one handshake, writes half of a 30,000-byte
// unmasked binary frame, then resets.
class ResettingServer {
 public:
  ResettingServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ResettingServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  void run() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    Socket s(fd);
    const auto deadline = Clock::now() + 10s;
    auto head = s.read_head(deadline);
    if (!head) return;
    const std::string field = "sec-websocket-key: ";
    std::string lower = *head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find(field);
    if (at == std::string::npos) return;
    auto end = head->find("\r\n", at);
    std::string key = head->substr(at + field.size(), end - at - field.size());
    s.write_all("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " + wsp::compute_accept_key(key) + "\r\n\r\n");
    std::string frame = {static_cast<char>(0x82), 126, 0x75, 0x30};  // 30,000 bytes
    frame += kHalfFrameSource;
    s.write_all(frame.substr(0, frame.size() / 2));
    s.reset();
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// A raw client thread that handshakes with `port`, writes half a masked frame, then resets.
std::thread resetting_client(int port) {
  return std::thread([port] {
    Socket s = Socket::connect_to("127.0.0.1", port);
    if (!s.valid() || !s.handshake(Clock::now() + 10s)) return;
    std::string frame = raw_peer::frame(0x2, true, kHalfFrameSource);
    s.write_all(frame.substr(0, frame.size() / 2));
    s.reset();
  });
}

}  // namespace

TEST_CASE("an RST mid-frame from the server: the coroutine client's receive() ends closed with -1") {
  ResettingServer server;
  io::Reactor reactor;
  wsp::Received received;
  bool connected = false;
  reactor.sync_wait([&]() -> io::Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    if (!ws) co_return;
    connected = true;
    received = co_await (*ws)->receive();
  }());
  REQUIRE(connected);
  CHECK(received.closed);
  CHECK(received.close_code == -1);
}

TEST_CASE("an RST mid-frame from the client: the coroutine server's receive() ends closed with -1") {
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::thread client = resetting_client(listener->local_port());
  wsp::Received received;
  bool accepted = false;
  reactor.sync_wait([&]() -> io::Task<void> {
    auto tcp = co_await listener->accept();
    if (!tcp) co_return;
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)));
    if (!ws) co_return;
    accepted = true;
    received = co_await (*ws)->receive();
  }());
  client.join();
  REQUIRE(accepted);
  CHECK(received.closed);
  CHECK(received.close_code == -1);
}

TEST_CASE("an RST mid-frame from the server: the façade client reaches STATE_CLOSED with -1") {
  ResettingServer server;
  io::Reactor reactor;
  wsp::WebSocketPeer peer(reactor);
  REQUIRE(peer.connect_to_url(server.url()) == wsp::OK);
  const auto deadline = Clock::now() + 10s;
  bool was_open = false;
  while (peer.get_ready_state() != wsp::WebSocketPeer::STATE_CLOSED && Clock::now() < deadline) {
    peer.poll();
    was_open = was_open || peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN;
    std::this_thread::sleep_for(1ms);  // a tick, as a game loop would
  }
  CHECK(was_open);
  REQUIRE(peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED);
  CHECK(peer.get_close_code() == -1);
  CHECK(peer.get_available_packet_count() == 0);
}

TEST_CASE("an RST mid-frame from the client: the façade server peer reaches STATE_CLOSED with -1") {
  io::Reactor reactor;
  wsp::TCPServer server(reactor);
  REQUIRE(server.listen(0, "127.0.0.1") == wsp::OK);
  std::thread client = resetting_client(server.get_local_port());
  wsp::WebSocketPeer peer(reactor);
  const auto deadline = Clock::now() + 10s;
  bool taken = false, was_open = false;
  while (Clock::now() < deadline) {
    if (!taken && server.is_connection_available()) {
      REQUIRE(peer.accept_stream(server.take_connection()) == wsp::OK);
      taken = true;
    }
    if (taken) {
      peer.poll();
      was_open = was_open || peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN;
      if (peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED) break;
    } else {
      reactor.poll();
    }
    std::this_thread::sleep_for(1ms);
  }
  client.join();
  REQUIRE(taken);
  CHECK(was_open);
  REQUIRE(peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED);
  CHECK(peer.get_close_code() == -1);
}
