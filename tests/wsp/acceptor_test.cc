// wsp::Acceptor: a server's handshakes driven by their streams, with no task per connection
// (one deadline task for all of them), each reported once as opened or failed, over 127.0.0.1.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/wsp/raw_peer.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using io::Reactor;

namespace {

struct RecordingAcceptor final : wsp::Acceptor {
  using Acceptor::Acceptor;
  void on_accepted(std::unique_ptr<wsp::WebSocket> ws) override { opened.push_back(std::move(ws)); }
  void on_accept_failed(const wsp::AcceptFailure& failure) override { failures.push_back(failure); }

  std::vector<std::unique_ptr<wsp::WebSocket>> opened;
  std::vector<wsp::AcceptFailure> failures;
};

// A listener on 127.0.0.1, and a raw client connected to it whose accepted stream goes to
// `acceptor`.
struct Setup {
  explicit Setup(Reactor& r)
      : reactor(r), listener(std::move(*io::TcpListener::bind(r, "127.0.0.1", 0))) {}

  raw_peer::Socket connect_and_hand_to(wsp::Acceptor& acceptor) {
    raw_peer::Socket client = raw_peer::Socket::connect_to("127.0.0.1", listener.local_port());
    REQUIRE(client.valid());
    auto tcp = reactor.sync_wait(listener.accept());
    REQUIRE(tcp);
    acceptor.accept(std::make_unique<io::TcpStream>(std::move(*tcp)));
    return client;
  }
  // A few turns of the reactor: what is due runs.
  void turns() {
    for (int i = 0; i < 5; ++i) reactor.run_once(10ms);
  }
  // Runs the reactor until `done` or 5 s.
  void run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  }

  Reactor& reactor;
  io::TcpListener listener;
};

// Whether the server closed `client`'s connection (within 2 s).
bool closed(raw_peer::Socket& client) { return client.wait_closed(raw_peer::Clock::now() + 2s); }

Reactor::Options with_manual_clock() {
  Reactor::Options options;
  options.manual_clock = true;
  return options;
}

wsp::AcceptOptions with_handshake_timeout(std::chrono::milliseconds timeout) {
  wsp::AcceptOptions options;
  options.handshake_timeout = timeout;
  return options;
}

std::string local_address(const raw_peer::Socket& socket) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  return io::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&address), length)
      .to_string();
}

}  // namespace

TEST_CASE(
    "an Acceptor's handshake holds no task while the request arrives, then hands over a WebSocket "
    "that echoes") {
  Reactor reactor;
  Setup setup(reactor);
  RecordingAcceptor acceptor(with_handshake_timeout(0ms));  // no deadline: no task at all
  const std::string request = raw_peer::kUpgradeRequest;
  raw_peer::Socket client = setup.connect_and_hand_to(acceptor);
  REQUIRE(client.write_all(request.substr(0, 40)));
  setup.turns();
  CHECK(acceptor.handshakes_under_way() == 1);
  CHECK(reactor.detached_count() == 0);
  CHECK(acceptor.opened.empty());
  REQUIRE(client.write_all(request.substr(40)));
  setup.run_until([&] { return !acceptor.opened.empty(); });
  REQUIRE(acceptor.opened.size() == 1);
  CHECK(acceptor.failures.empty());
  CHECK(acceptor.handshakes_under_way() == 0);
  const auto head = client.read_head(raw_peer::Clock::now() + 2s);
  REQUIRE(head);
  CHECK(head->rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);

  wsp::WebSocket& ws = *acceptor.opened[0];
  CHECK(ws.requested_url() == "ws://127.0.0.1/");
  REQUIRE(client.write_all(raw_peer::frame(0x1, true, "hello")));
  setup.run_until([&] { return ws.connection().has_message(); });
  wsp::Received message =
      reactor.sync_wait([&]() -> io::Task<wsp::Received> { co_return co_await ws.receive(); }());
  CHECK(message.data == "hello");
  CHECK(message.text);
  CHECK(ws.send_now(std::move(message.data), true) == std::error_code{});
  setup.run_until([&] { return ws.connection().buffered_amount() == 0; });
  const auto echoed = client.read_frame(raw_peer::Clock::now() + 2s);
  REQUIRE(echoed);
  CHECK(echoed->opcode == 0x1);
  CHECK(echoed->payload == "hello");
}

TEST_CASE(
    "an Acceptor reports a refused request once, with the status and reason sent and the client's "
    "address") {
  Reactor reactor;
  Setup setup(reactor);
  RecordingAcceptor acceptor(wsp::AcceptOptions{});
  raw_peer::Socket client = setup.connect_and_hand_to(acceptor);
  CHECK(reactor.detached_count() == 1);  // the acceptor's deadline task
  REQUIRE(
      client.write_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  setup.run_until([&] { return !acceptor.failures.empty(); });
  REQUIRE(acceptor.failures.size() == 1);
  CHECK(acceptor.opened.empty());
  const wsp::AcceptFailure& failure = acceptor.failures[0];
  CHECK(failure.error == wsp::Errc::handshake_refused);
  CHECK(failure.reason ==
        "handshake refused with 400 Bad Request: missing or malformed Sec-WebSocket-Key");
  CHECK(failure.peer == local_address(client));
  CHECK(acceptor.handshakes_under_way() == 0);
  const auto head = client.read_head(raw_peer::Clock::now() + 2s);
  REQUIRE(head);
  CHECK(head->rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  setup.turns();
  CHECK(acceptor.failures.size() == 1);
}

TEST_CASE(
    "an Acceptor's handshake that misses its deadline fails with the reason and closes the "
    "stream") {
  Reactor reactor(with_manual_clock());
  Setup setup(reactor);
  RecordingAcceptor acceptor(with_handshake_timeout(2s));
  raw_peer::Socket client = setup.connect_and_hand_to(acceptor);
  REQUIRE(client.write_all("GET / HTTP/1.1\r\n"));
  setup.turns();
  reactor.advance_clock(1900ms);
  setup.turns();
  CHECK(acceptor.failures.empty());
  reactor.advance_clock(100ms);
  setup.run_until([&] { return !acceptor.failures.empty(); });
  REQUIRE(acceptor.failures.size() == 1);
  CHECK(acceptor.failures[0].error == wsp::Errc::handshake_failed);
  CHECK(acceptor.failures[0].reason == "handshake timed out");
  CHECK(acceptor.failures[0].peer.empty());
  CHECK(acceptor.handshakes_under_way() == 0);
  CHECK(reactor.detached_count() == 0);
  CHECK(closed(client));
}

TEST_CASE("handshakes share one deadline task: each fails at its own deadline, oldest first") {
  Reactor reactor(with_manual_clock());
  Setup setup(reactor);
  RecordingAcceptor acceptor(with_handshake_timeout(2s));
  raw_peer::Socket first = setup.connect_and_hand_to(acceptor);
  setup.turns();
  reactor.advance_clock(1s);
  raw_peer::Socket second = setup.connect_and_hand_to(acceptor);
  setup.turns();
  CHECK(acceptor.handshakes_under_way() == 2);
  CHECK(reactor.detached_count() == 1);
  reactor.advance_clock(1s);  // the first one's deadline
  setup.turns();
  REQUIRE(acceptor.failures.size() == 1);
  CHECK(acceptor.handshakes_under_way() == 1);
  CHECK(closed(first));
  reactor.advance_clock(999ms);
  setup.turns();
  CHECK(acceptor.failures.size() == 1);
  reactor.advance_clock(1ms);  // the second one's
  setup.turns();
  CHECK(acceptor.failures.size() == 2);
  CHECK(closed(second));
  CHECK(reactor.detached_count() == 0);  // nothing left to time: the task ended

  // A handshake that ends in time cancels nothing: the task wakes at its deadline and ends.
  raw_peer::Socket third = setup.connect_and_hand_to(acceptor);
  CHECK(reactor.detached_count() == 1);
  REQUIRE(third.write_all(raw_peer::kUpgradeRequest));
  setup.run_until([&] { return !acceptor.opened.empty(); });
  REQUIRE(acceptor.opened.size() == 1);
  CHECK(reactor.detached_count() == 1);
  reactor.advance_clock(2s);
  setup.turns();
  CHECK(reactor.detached_count() == 0);
  CHECK(acceptor.failures.size() == 2);
  CHECK(acceptor.opened[0]->is_open());
}

// Deletes itself when told of its first failure.
struct SelfDeletingAcceptor final : wsp::Acceptor {
  SelfDeletingAcceptor(wsp::AcceptOptions options, int& failures)
      : Acceptor(std::move(options)), failures(failures) {}
  void on_accepted(std::unique_ptr<wsp::WebSocket>) override {}
  void on_accept_failed(const wsp::AcceptFailure&) override {
    ++failures;
    delete this;
  }
  int& failures;
};

TEST_CASE(
    "an Acceptor may destroy itself when told of a missed deadline: the other handshake ends "
    "untold") {
  Reactor reactor(with_manual_clock());
  Setup setup(reactor);
  int failures = 0;
  auto* acceptor = new SelfDeletingAcceptor(with_handshake_timeout(2s), failures);
  raw_peer::Socket first = setup.connect_and_hand_to(*acceptor);
  raw_peer::Socket second = setup.connect_and_hand_to(*acceptor);
  setup.turns();
  reactor.advance_clock(2s);  // both are due; the first one's failure deletes the acceptor
  setup.turns();
  CHECK(failures == 1);
  CHECK(reactor.detached_count() == 0);
  CHECK(closed(first));
  CHECK(closed(second));
}

TEST_CASE(
    "destroying an Acceptor ends its handshakes under way: their streams close and it is not "
    "called") {
  Reactor reactor;
  Setup setup(reactor);
  auto acceptor = std::make_unique<RecordingAcceptor>(wsp::AcceptOptions{});
  raw_peer::Socket first = setup.connect_and_hand_to(*acceptor);
  raw_peer::Socket second = setup.connect_and_hand_to(*acceptor);
  REQUIRE(first.write_all("GET / HTTP/1.1\r\n"));
  setup.turns();
  CHECK(acceptor->handshakes_under_way() == 2);
  CHECK(reactor.detached_count() == 1);  // one deadline task for both
  acceptor.reset();
  CHECK(reactor.detached_count() == 0);
  CHECK(closed(first));
  CHECK(closed(second));
}

TEST_CASE(
    "an Acceptor with invalid deflate options fails each accept before it returns, and closes the "
    "stream") {
  Reactor reactor;
  Setup setup(reactor);
  wsp::AcceptOptions options;
  options.deflate.mode = wsp::DeflateOptions::Mode::dedicated;
  options.deflate.window_bits = 16;
  RecordingAcceptor acceptor(options);
  raw_peer::Socket client = setup.connect_and_hand_to(acceptor);
  REQUIRE(acceptor.failures.size() == 1);
  CHECK(acceptor.failures[0].error == wsp::Errc::handshake_failed);
  CHECK(acceptor.failures[0].reason == "invalid deflate options: window_bits must be 8..15");
  CHECK(acceptor.handshakes_under_way() == 0);
  CHECK(reactor.detached_count() == 0);
  CHECK(closed(client));
}
