// The coroutine face: wsp::connect / wsp::accept, co_await receive/send/close, over 127.0.0.1;
// and the URL rules connect_to_url() and wsp::connect() share.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/event.h"
#include "io/file_descriptor.h"
#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "io/testing/memory_stream.h"
#include "tests/skip.h"
#include "tests/wsp/raw_peer.h"
#include "wsp/engine/connection.h"
#include "wsp/engine/opening.h"
#include "wsp/engine/per_thread.h"
#include "wsp/protocol/url.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Task;

namespace {

// Echo server on 127.0.0.1:0 serving `connections` clients, then stopping to accept.
struct EchoServer {
  Reactor& reactor;
  io::TcpListener listener;
  wsp::AcceptOptions options;
  int served = 0;

  explicit EchoServer(Reactor& r) : reactor(r), listener(std::move(*io::TcpListener::bind(r, "127.0.0.1", 0))) {}
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(listener.local_port()) + "/"; }

  static Task<void> echo(EchoServer& self, io::TcpStream tcp) {
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), self.options);
    if (!ws) co_return;
    ++self.served;
    for (;;) {
      wsp::Received m = co_await (*ws)->receive();
      if (m.closed) co_return;
      auto sent = co_await (*ws)->send(std::move(m.data), m.text);
      if (!sent) co_return;
    }
  }
  static Task<void> accept_loop(EchoServer& self, int connections) {
    for (int i = 0; i < connections; ++i) {
      auto tcp = co_await self.listener.accept();
      if (!tcp) co_return;
      self.reactor.spawn(echo(self, std::move(*tcp)));
    }
  }
  void start(int connections = 1) { reactor.spawn(accept_loop(*this, connections)); }
};

// Passes everything to the stream it wraps and records where the pieces of every write the
// connection starts are: a payload written without a copy is a piece of its own, in the
// buffer it was given away in.
class RecordingStream final : public io::ByteStream {
 public:
  explicit RecordingStream(std::unique_ptr<io::ByteStream> inner) : inner_(std::move(inner)) {}

  // Whether a write had a piece of exactly `size` bytes at `data`.
  bool wrote_piece(const char* data, std::size_t size) const {
    return std::any_of(pieces_.begin(), pieces_.end(),
                       [&](const iovec& v) { return v.iov_base == data && v.iov_len == size; });
  }

  io::Task<io::Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override {
    return inner_->read_some(buffer);
  }
  io::Task<io::Result<void>> write_all(std::span<const iovec> buffers) override {
    pieces_.insert(pieces_.end(), buffers.begin(), buffers.end());
    return inner_->write_all(buffers);
  }
  io::Task<io::Result<void>> shutdown() override { return inner_->shutdown(); }
  void close() override { inner_->close(); }
  io::Reactor& reactor() override { return inner_->reactor(); }
  io::TcpStream* tcp() override { return inner_->tcp(); }
  void start_receiving(io::StreamHandler& handler) override { inner_->start_receiving(handler); }
  void resume_receiving() override { inner_->resume_receiving(); }
  void start_write(std::span<const iovec> buffers, io::StreamHandler& handler) override {
    pieces_.insert(pieces_.end(), buffers.begin(), buffers.end());
    inner_->start_write(buffers, handler);
  }
  void stop_io() override { inner_->stop_io(); }

 private:
  std::unique_ptr<io::ByteStream> inner_;
  std::vector<iovec> pieces_;
};

// What wsp::connect() does, with the connection's stream wrapped in a RecordingStream.
Task<std::unique_ptr<wsp::WebSocket>> connect_recording(Reactor& reactor, std::string url,
                                                        wsp::ConnectionLimits limits,
                                                        RecordingStream** recorder) {
  wsp::WebSocketUrl parsed;
  REQUIRE(wsp::parse_websocket_url(url, parsed));
  auto opening = wsp::Opening::client(reactor, std::move(parsed), wsp::ClientOpeningOptions{});
  if (!opening->done()) co_await opening->finished().wait();
  wsp::OpenedStream& opened = opening->result();
  INFO(opened.error);
  REQUIRE(opened.ok);
  auto stream = std::make_unique<RecordingStream>(std::move(opened.stream));
  *recorder = stream.get();
  co_return std::make_unique<wsp::WebSocket>(wsp::WebSocketParts{.stream = std::move(stream),
                                                                .role = wsp::Role::client,
                                                                .limits = limits,
                                                                .leftover = std::move(opened.leftover),
                                                                .requested_url = std::move(url)});
}


}  // namespace

// --- URLs --------------------------------------------------------------------------------

TEST_CASE("URL defaults: ws port 80, wss port 443, path /, no scheme means ws") {
  wsp::WebSocketUrl u;
  REQUIRE(wsp::parse_websocket_url("ws://Example.COM", u));
  CHECK_FALSE(u.tls);
  CHECK(u.host == "example.com");
  CHECK(u.port == 80);
  CHECK(u.path_and_query == "/");
  REQUIRE(wsp::parse_websocket_url("wss://example.com/a/b?c=d#frag", u));
  CHECK(u.tls);
  CHECK(u.port == 443);
  CHECK(u.path_and_query == "/a/b?c=d");
  REQUIRE(wsp::parse_websocket_url("example.com:8080?x", u));
  CHECK_FALSE(u.tls);
  CHECK(u.port == 8080);
  CHECK(u.path_and_query == "/?x");
}

TEST_CASE("URL: IPv6 literals in brackets, explicit ports, user info dropped") {
  wsp::WebSocketUrl u;
  REQUIRE(wsp::parse_websocket_url("ws://[::1]:9001/chat", u));
  CHECK(u.host == "::1");
  CHECK(u.port == 9001);
  CHECK(u.path_and_query == "/chat");
  REQUIRE(wsp::parse_websocket_url("wss://user:secret@host.example:1/", u));
  CHECK(u.host == "host.example");
  CHECK(u.port == 1);
  REQUIRE(wsp::parse_websocket_url("ws://[fe80::1]", u));
  CHECK(u.host == "fe80::1");
  CHECK(u.port == 80);
}

TEST_CASE("URL: bad input is refused") {
  wsp::WebSocketUrl u;
  for (const char* bad : {"", "http://x", "ws://", "ws://[::1", "ws://[::1]x", "ws://h:0", "ws://h:65536",
                          "ws://h:", "ws://h:12a", "ws://h /", "ws://h/a b"}) {
    INFO(bad);
    CHECK_FALSE(wsp::parse_websocket_url(bad, u));
  }
}

// --- coroutine face ----------------------------------------------------------------------

TEST_CASE("co_await send and receive: text, binary, empty and 1 MiB messages echo intact") {
  Reactor reactor;
  EchoServer server(reactor);
  server.options.limits.inbound_buffer_size = 2 << 20;
  server.options.limits.outbound_buffer_size = 2 << 20;
  server.start();
  auto body = [&]() -> Task<void> {
    wsp::ConnectOptions options;
    options.limits.inbound_buffer_size = 2 << 20;
    options.limits.outbound_buffer_size = 2 << 20;
    auto ws = co_await wsp::connect(reactor, server.url(), options);
    REQUIRE(ws);
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13);
    std::vector<std::pair<std::string, bool>> cases = {{"hello", true}, {std::string("\0\xff", 2), false},
                                                       {"", true}, {big, false}};
    for (auto& [data, is_text] : cases) {
      auto sent = co_await (*ws)->send(data, is_text);
      REQUIRE(sent);
      wsp::Received echo = co_await (*ws)->receive();
      CHECK_FALSE(echo.closed);
      CHECK(echo.text == is_text);
      CHECK(echo.data == data);
    }
    co_await (*ws)->close(1000, "done");
    CHECK((*ws)->close_code() == 1000);
    wsp::Received after = co_await (*ws)->receive();
    CHECK(after.closed);
    CHECK(after.close_code == 1000);
  };
  reactor.sync_wait(body());
}

TEST_CASE("send suspends while the outbound queue is full instead of failing") {
  Reactor reactor;
  EchoServer server(reactor);
  server.start();
  auto body = [&]() -> Task<void> {
    wsp::ConnectOptions options;
    options.limits.max_queued_packets = 2;
    options.limits.inbound_buffer_size = 0;
    auto ws = co_await wsp::connect(reactor, server.url(), options);
    REQUIRE(ws);
    for (int i = 0; i < 100; ++i) {
      auto sent = co_await (*ws)->send_text(std::to_string(i));
      REQUIRE(sent);
      CHECK((*ws)->connection().queued_outbound() <= 2);
    }
    for (int i = 0; i < 100; ++i) {
      wsp::Received echo = co_await (*ws)->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.data == std::to_string(i));
    }
  };
  reactor.sync_wait(body());
}

TEST_CASE("send and send_now fail at once for a message larger than the outbound buffer or invalid text") {
  Reactor reactor;
  EchoServer server(reactor);
  server.start();
  auto body = [&]() -> Task<void> {
    wsp::ConnectOptions options;
    options.limits.outbound_buffer_size = 10;
    auto ws = co_await wsp::connect(reactor, server.url(), options);
    REQUIRE(ws);
    auto too_big = co_await (*ws)->send_binary(std::string(11, 'x'));
    CHECK(too_big.error() == wsp::Errc::message_too_big);
    auto invalid = co_await (*ws)->send_text("\xff");
    CHECK(invalid.error() == wsp::Errc::invalid_utf8);
    // send_now gives the same errors and leaves a given-away string in place.
    std::string big(11, 'x');
    CHECK((*ws)->send_now(std::move(big), false) == wsp::Errc::message_too_big);
    CHECK(big == std::string(11, 'x'));
    CHECK((*ws)->send_now(std::string_view("\xff"), true) == wsp::Errc::invalid_utf8);
    (*ws)->abort();
    auto after = co_await (*ws)->send_text("x");
    CHECK(after.error() == wsp::Errc::closed);
    std::string late = "x";
    CHECK((*ws)->send_now(std::move(late), true) == wsp::Errc::closed);
    CHECK(late == "x");
  };
  reactor.sync_wait(body());
}

TEST_CASE("connect reports a readable reason for a bad URL and a refused connection") {
  Reactor reactor;
  std::string reason;
  wsp::ConnectOptions options;
  options.failure_reason = &reason;
  auto bad = reactor.sync_wait(wsp::connect(reactor, "http://x/", options));
  CHECK(bad.error() == wsp::Errc::bad_url);
  CHECK(reason == "invalid URL http://x/: unsupported scheme \"http\" (use ws:// or wss://)");
  std::uint16_t port;
  {
    auto l = io::TcpListener::bind(reactor, "127.0.0.1", 0);
    port = l->local_port();
  }
  auto refused = reactor.sync_wait(
      wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(port) + "/", options));
  CHECK(refused.error() == wsp::Errc::handshake_failed);
  CHECK_THAT(reason, Catch::Contains("refused"));
}

TEST_CASE("wsp::accept opens without a subprotocol when none is common; the client decides") {
  Reactor reactor;
  EchoServer server(reactor);
  server.options.supported_protocols = {"superchat"};
  server.start();
  std::string reason;
  wsp::ConnectOptions options;
  options.protocols = {"chat"};
  options.failure_reason = &reason;
  // RFC 6455 §4.2.2: the server answers 101 without Sec-WebSocket-Protocol; wsp's client, which
  // asked for "chat", fails the connection.
  auto ws = reactor.sync_wait(wsp::connect(reactor, server.url(), options));
  CHECK(ws.error() == wsp::Errc::handshake_failed);
  CHECK(reason == "server selected none of the offered subprotocols");
  for (int i = 0; i < 1000 && server.served == 0; ++i) reactor.run_once(10ms);
  CHECK(server.served == 1);
}

TEST_CASE("the server's WebSocket keeps the requested URL, and the subprotocol and headers only when there are some") {
  Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  const std::string base = "ws://127.0.0.1:" + std::to_string(listener->local_port());
  struct Seen {
    std::string url, protocol;
    std::size_t headers = 0;
    bool client_id = false;
  };
  std::vector<Seen> seen;
  auto accept_two = [&]() -> Task<void> {
    for (bool asked : {true, false}) {
      auto tcp = co_await listener->accept();
      if (!tcp) co_return;
      wsp::AcceptOptions options;
      if (asked) {
        options.supported_protocols = {"chat"};
        options.keep_request_headers = true;
      }
      auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)), options);
      if (!ws) co_return;
      Seen s{(*ws)->requested_url(), (*ws)->selected_protocol(), (*ws)->request_headers().size()};
      for (const auto& [name, value] : (*ws)->request_headers()) s.client_id |= name == "X-Client-Id" && value == "42";
      seen.push_back(s);
      co_await (*ws)->close();
    }
  };
  reactor.spawn(accept_two());
  wsp::ConnectOptions asking;
  asking.protocols = {"chat"};
  asking.extra_headers = {"X-Client-Id: 42"};
  auto first = reactor.sync_wait(wsp::connect(reactor, base + "/room?x=1", asking));
  REQUIRE(first);
  CHECK((*first)->selected_protocol() == "chat");
  auto second = reactor.sync_wait(wsp::connect(reactor, base + "/plain"));
  REQUIRE(second);
  CHECK((*second)->selected_protocol().empty());
  for (int i = 0; i < 1000 && seen.size() < 2; ++i) reactor.run_once(10ms);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].url == base + "/room?x=1");
  CHECK(seen[0].protocol == "chat");
  CHECK(seen[0].client_id);
  CHECK(seen[0].headers >= 6);  // Host, Upgrade, Connection, the key, the version, ours
  CHECK(seen[1].url == base + "/plain");
  CHECK(seen[1].protocol.empty());
  CHECK(seen[1].headers == 0);
}

TEST_CASE("WebSockets with alike limits and requests share one copy of the limits, URL, subprotocol and headers") {
  Reactor reactor;
  REQUIRE(wsp::Interned<wsp::ConnectionFacts>::distinct_values() == 0);
  std::vector<std::unique_ptr<io::test::MemoryStream>> peers;
  auto make = [&](std::string url, std::string protocol, wsp::HeaderList headers,
                  wsp::ConnectionLimits limits = {}) {
    auto [ours, theirs] = io::test::MemoryStream::pair(reactor);
    peers.push_back(std::move(theirs));
    return std::make_unique<wsp::WebSocket>(
        wsp::WebSocketParts{.stream = std::move(ours),
                            .limits = limits,
                            .selected_protocol = std::move(protocol),
                            .requested_url = std::move(url),
                            .request_headers = std::move(headers)});
  };
  {
    std::vector<std::unique_ptr<wsp::WebSocket>> sockets;
    for (int i = 0; i < 100; ++i) sockets.push_back(make("ws://h/a", "", {}));
    for (int i = 0; i < 100; ++i) sockets.push_back(make("ws://h/b", "chat", {}));
    sockets.push_back(make("ws://h/a", "", {{"X-Id", "1"}}));
    sockets.push_back(make("ws://h/a", "", {{"X-Id", "2"}}));
    CHECK(wsp::Interned<wsp::ConnectionFacts>::distinct_values() == 4);
    sockets.push_back(make("ws://h/a", "", {}, {.inbound_buffer_size = 1000}));
    CHECK(wsp::Interned<wsp::ConnectionFacts>::distinct_values() == 5);
    CHECK(sockets[202]->connection().limits().inbound_buffer_size == 1000);
    CHECK(sockets[0]->connection().limits().inbound_buffer_size == 65535);
    CHECK(sockets[0]->requested_url() == "ws://h/a");
    CHECK(sockets[0]->selected_protocol().empty());
    CHECK(sockets[0]->request_headers().empty());
    CHECK(sockets[150]->requested_url() == "ws://h/b");
    CHECK(sockets[150]->selected_protocol() == "chat");
    CHECK(sockets[201]->request_headers() == wsp::HeaderList{{"X-Id", "2"}});
    CHECK(&sockets[0]->requested_url() == &sockets[99]->requested_url());
    for (auto& ws : sockets) ws->abort();
  }
  CHECK(wsp::Interned<wsp::ConnectionFacts>::distinct_values() == 0);
}

TEST_CASE("wsp::accept with require_protocol_match refuses with 400, and both sides say why") {
  Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::optional<std::string> server_reason;
  auto server = [&]() -> Task<void> {
    auto tcp = co_await listener->accept();
    REQUIRE(tcp);
    std::string why;
    wsp::AcceptOptions options;
    options.supported_protocols = {"superchat"};
    options.require_protocol_match = true;
    options.failure_reason = &why;
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)), options);
    CHECK(ws.error() == wsp::Errc::handshake_refused);
    server_reason = why;
  };
  reactor.spawn(server());
  std::string reason;
  wsp::ConnectOptions options;
  options.protocols = {"chat"};
  options.failure_reason = &reason;
  auto ws = reactor.sync_wait(wsp::connect(
      reactor, "ws://127.0.0.1:" + std::to_string(listener->local_port()) + "/", options));
  CHECK(ws.error() == wsp::Errc::handshake_refused);
  CHECK(reason ==
        "server refused the handshake: 400 Bad Request: no common subprotocol: offered chat, "
        "supported superchat");
  for (int i = 0; i < 1000 && !server_reason; ++i) reactor.run_once(10ms);
  REQUIRE(server_reason);
  CHECK(*server_reason ==
        "handshake refused with 400 Bad Request: no common subprotocol: offered chat, supported "
        "superchat");
}

TEST_CASE("finished handshakes ask the reactor to give the heap back once it is quiet: one trim after a burst") {
  Reactor::Options options;
  options.heap_trim_after = 20ms;
  Reactor reactor(options);
  EchoServer server(reactor);
  server.start(16);
  std::vector<std::unique_ptr<wsp::WebSocket>> clients;
  reactor.sync_wait([&]() -> Task<void> {
    for (int i = 0; i < 16; ++i) {
      auto ws = co_await wsp::connect(reactor, server.url());
      if (ws) clients.push_back(std::move(*ws));
    }
  }());
  REQUIRE(clients.size() == 16);
  CHECK(server.served == 16);
  reactor.sync_wait([&]() -> Task<void> {
    for (auto& ws : clients) {
      auto sent = co_await ws->send_binary(std::string(200, 'x'));
      REQUIRE(sent);
      wsp::Received echoed = co_await ws->receive();
      CHECK(echoed.data == std::string(200, 'x'));
    }
  }());
  CHECK(wsp::thread_buffer_pool().pooled() > 0);  // the echoes' buffers, kept for reuse
  CHECK(reactor.stats().heap_trims == 0);  // no quiet turn yet: every turn had work
  // The connections stay open and idle; the first turn that would block 20 ms after the last
  // handshake trims, and empties this thread's buffer pool first (its trim hook).
  reactor.sync_wait([&]() -> Task<void> { co_await io::sleep_for(reactor, 100ms); }());
  CHECK(reactor.stats().heap_trims == 1);
  CHECK(wsp::thread_buffer_pool().pooled() == 0);
  reactor.sync_wait([&]() -> Task<void> { co_await io::sleep_for(reactor, 50ms); }());
  CHECK(reactor.stats().heap_trims == 1);
}

TEST_CASE("connect over a stream the caller connected runs only the WebSocket handshake on it") {
  Reactor reactor;
  EchoServer server(reactor);
  server.start();
  auto body = [&]() -> Task<void> {
    auto tcp = co_await io::TcpStream::connect(
        reactor, *io::SocketAddress::parse("127.0.0.1", server.listener.local_port()));
    REQUIRE(tcp);
    // The URL names a host nobody resolves: it only gives the Host header and the path.
    auto ws = co_await wsp::connect(std::make_unique<io::TcpStream>(std::move(*tcp)),
                                    "ws://unresolvable.invalid:9/echo");
    REQUIRE(ws);
    auto sent = co_await (*ws)->send_text("over my own stream");
    REQUIRE(sent);
    wsp::Received echo = co_await (*ws)->receive();
    CHECK(echo.data == "over my own stream");
    co_await (*ws)->close(1000);
    CHECK((*ws)->close_code() == 1000);
  };
  reactor.sync_wait(body());
  CHECK(server.served == 1);
}

TEST_CASE("a received close is reported by receive() after the messages before it") {
  Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto server = [&]() -> Task<void> {
    auto tcp = co_await listener->accept();
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)));
    REQUIRE(ws);
    io::Result<void> sent = co_await (*ws)->send_text("last words");
    CHECK(sent.ok());
    co_await (*ws)->close(4321, "the end");
  };
  reactor.spawn(server());
  auto client = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(listener->local_port()));
    REQUIRE(ws);
    wsp::Received first = co_await (*ws)->receive();
    CHECK_FALSE(first.closed);
    CHECK(first.data == "last words");
    wsp::Received end = co_await (*ws)->receive();
    CHECK(end.closed);
    CHECK(end.close_code == 4321);
    CHECK(end.close_reason == "the end");
  };
  reactor.sync_wait(client());
}

TEST_CASE("a request, a message and the client's end in one write: the server reads the message, then the end (not closed cleanly: -1)") {
  Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  // Written whole before the server accepts: the opening reads the head, and the frame and
  // the end after it are the connection's.
  raw_peer::Socket client = raw_peer::Socket::connect_to("127.0.0.1", listener->local_port());
  REQUIRE(client.valid());
  REQUIRE(client.write_all(std::string(raw_peer::kUpgradeRequest) + raw_peer::frame(0x1, true, "hi")));
  REQUIRE(::shutdown(client.fd(), SHUT_WR) == 0);
  wsp::WebSocket* opened = nullptr;
  auto server = [&]() -> Task<void> {
    auto tcp = co_await listener->accept();
    REQUIRE(tcp);
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)));
    REQUIRE(ws);
    opened = ws->get();
    wsp::Received message = co_await (*ws)->receive();
    CHECK_FALSE(message.closed);
    CHECK(message.data == "hi");
    wsp::Received end = co_await (*ws)->receive();
    CHECK(end.closed);
    CHECK(end.close_code == -1);
  };
  // Bounded: an end the server missed would leave it waiting; after 10 s the server drops the
  // connection (which also ends it, so the flag tells).
  bool gave_up = false;
  auto watchdog = [&]() -> Task<void> {
    co_await io::sleep_for(reactor, 10s);
    gave_up = true;
    if (opened) opened->abort();
  };
  const auto watchdog_id = reactor.spawn(watchdog());
  reactor.sync_wait(server());
  reactor.cancel(watchdog_id);
  CHECK_FALSE(gave_up);
}

TEST_CASE("8,000 concurrent connections through the coroutine API in one process") {
  constexpr int kConnections = 8000;
  if (const auto limit = io::raise_open_files_limit(); limit < 2 * kConnections + 100) {
    WSP_SKIP("the open-files limit (" << limit << ") is below " << 2 * kConnections + 100);
  }
  Reactor reactor;
  EchoServer server(reactor);
  server.start(kConnections);
  int verified = 0, failed = 0, closed = 0;
  io::Event release(reactor);  // every client holds its connection open until all are verified
  auto client = [&](int id) -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    if (!ws) {
      ++failed;
      co_return;
    }
    std::string message = "client " + std::to_string(id);
    auto sent = co_await (*ws)->send_text(message);
    wsp::Received echo = co_await (*ws)->receive();
    if (sent && !echo.closed && echo.data == message) {
      ++verified;
    } else {
      ++failed;
    }
    co_await release.wait();
    co_await (*ws)->close(1000);
    ++closed;
  };
  // Open them in waves so the listen backlog is never the bottleneck.
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (int started = 0; started < kConnections;) {
    for (int i = 0; i < 500 && started < kConnections; ++i) reactor.spawn(client(started++));
    while (verified + failed < started - 200 && std::chrono::steady_clock::now() < deadline) {
      reactor.run_once(10ms);
    }
  }
  while (verified + failed < kConnections && std::chrono::steady_clock::now() < deadline) {
    reactor.run_once(10ms);
  }
  CHECK(verified == kConnections);
  CHECK(failed == 0);
  CHECK(server.served == kConnections);
  release.set();
  while (closed < verified && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  CHECK(closed == kConnections);
}

TEST_CASE("messages given away are written without a copy, interleaved in order with copied ones") {
  Reactor reactor;
  EchoServer server(reactor);
  server.options.limits.inbound_buffer_size = 4 << 20;
  server.options.limits.outbound_buffer_size = 8 << 20;
  server.start();
  auto body = [&]() -> Task<void> {
    wsp::ConnectionLimits limits;  // client side: given-away payloads are masked in place
    limits.inbound_buffer_size = 4 << 20;
    limits.outbound_buffer_size = 8 << 20;
    RecordingStream* recorder = nullptr;
    auto ws = co_await connect_recording(reactor, server.url(), limits, &recorder);
    // Where each message's bytes were when given away.
    struct GivenAway {
      const char* data;
      std::size_t size;
    };
    std::vector<GivenAway> large, copied;
    std::vector<std::string> sent;
    for (std::size_t size : {std::size_t{100}, std::size_t{16 * 1024}, std::size_t{5}, std::size_t{1 << 20},
                             std::size_t{16 * 1024 - 1}, std::size_t{70000}, std::size_t{0}}) {
      std::string data(size, '\0');
      for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + size) % 26);
      sent.push_back(data);
      if (size >= 16 * 1024) large.push_back({data.data(), size});
      else if (size == 16 * 1024 - 1) copied.push_back({data.data(), size});
      auto queued = co_await ws->send(std::move(data), true);  // no co_await between sends
      REQUIRE(queued);
    }
    for (const std::string& expected : sent) {
      wsp::Received echo = co_await ws->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.text);
      CHECK(echo.data.size() == expected.size());
      CHECK(echo.data == expected);
    }
    // A message of 16 KiB or more went to the socket from the very buffer it was given away
    // in; one just under that was copied into the output with the frame headers.
    REQUIRE(large.size() == 3);
    for (const GivenAway& m : large) {
      INFO(m.size << " bytes");
      CHECK(recorder->wrote_piece(m.data, m.size));
    }
    REQUIRE(copied.size() == 1);
    CHECK_FALSE(recorder->wrote_piece(copied[0].data, copied[0].size));
  };
  reactor.sync_wait(body());
}
