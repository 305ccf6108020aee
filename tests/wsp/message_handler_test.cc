// The callback face: wsp::MessageHandler on the server side of a real 127.0.0.1 connection,
// driven by a coroutine client (send_now's errors are in websocket_test, beside send's).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "wsp/message_handler.h"
#include "wsp/websocket.h"

using io::Reactor;
using io::Task;

namespace {

// What a test's handler saw, kept outside it (the handler may be gone).
struct Seen {
  std::vector<std::string> calls;  // each call's data, "<closed CODE REASON>" for the end
  int no_room = 0;
  bool destroyed = false;
};

// The server side: owns its WebSocket, echoes unless `decide` says otherwise (return a value
// to return it from on_message without echoing), and deletes itself at the close.
struct Handler final : wsp::MessageHandler {
  Handler(std::unique_ptr<wsp::WebSocket> w, Seen& s) : ws(std::move(w)), seen(s) { attach(*ws); }
  ~Handler() override { seen.destroyed = true; }
  bool on_message(wsp::WebSocket& socket, wsp::Received& m) override {
    if (m.closed) {
      seen.calls.push_back("<closed " + std::to_string(m.close_code) + " " + m.close_reason + ">");
      delete this;
      return true;
    }
    seen.calls.push_back(m.data);
    if (decide) {
      if (auto verdict = decide(*this, m)) return *verdict;
    }
    std::error_code sent = socket.send_now(std::move(m.data), m.text);
    if (sent == wsp::Errc::no_room) ++seen.no_room;
    return sent != wsp::Errc::no_room;
  }
  std::unique_ptr<wsp::WebSocket> ws;
  Seen& seen;
  std::function<std::optional<bool>(Handler&, wsp::Received&)> decide;
};

struct Server {
  Reactor& reactor;
  io::TcpListener listener;
  wsp::AcceptOptions options;
  Seen seen;
  Handler* handler = nullptr;  // the last one made (it deletes itself at the close)
  std::function<std::optional<bool>(Handler&, wsp::Received&)> decide;

  explicit Server(Reactor& r) : reactor(r), listener(std::move(*io::TcpListener::bind(r, "127.0.0.1", 0))) {}
  ~Server() {
    if (handler && !seen.destroyed) delete handler;  // its connection has not ended yet
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(listener.local_port()) + "/"; }
  static Task<void> accept_one(Server& self) {
    auto tcp = co_await self.listener.accept();
    if (!tcp) co_return;
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)), self.options);
    if (!ws) co_return;
    self.handler = new Handler(std::move(*ws), self.seen);
    self.handler->decide = self.decide;
  }
  void start() { reactor.spawn(accept_one(*this)); }
  // After the client's side closed: the server's side ends and its handler deletes itself.
  void run_until_handler_gone() {
    for (int i = 0; i < 100 && !seen.destroyed; ++i) reactor.run_once(std::chrono::milliseconds(50));
  }
};

// The first time "a" comes, the handler sends a marker and holds "a" back; it echoes the rest.
std::function<std::optional<bool>(Handler&, wsp::Received&)> hold_a_once() {
  return [held_once = false](Handler& h, wsp::Received& m) mutable -> std::optional<bool> {
    if (m.data != "a" || held_once) return std::nullopt;
    held_once = true;
    CHECK_FALSE(h.ws->send_now(std::string_view("marker"), true));
    return false;
  };
}

// A client that sends `messages` in one turn (one write: the server parses them in one
// receive) and then sees its connection dropped (close code -1).
Task<void> send_then_see_drop(Reactor& reactor, Server& server, std::vector<std::string> messages) {
  auto ws = co_await wsp::connect(reactor, server.url());
  REQUIRE(ws);
  for (std::string& text : messages) CHECK_FALSE((*ws)->send_now(std::move(text), true));
  wsp::Received end = co_await (*ws)->receive();
  CHECK(end.closed);
  CHECK(end.close_code == -1);
}

}  // namespace

TEST_CASE("a MessageHandler gets each message in order, then the close once, and may delete itself there") {
  Reactor reactor;
  Server server(reactor);
  server.start();
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    for (const char* text : {"one", "two", "three"}) {
      auto sent = co_await (*ws)->send_text(text);
      REQUIRE(sent);
    }
    for (const char* text : {"one", "two", "three"}) {
      wsp::Received echo = co_await (*ws)->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.text);
      CHECK(echo.data == text);
    }
    co_await (*ws)->close(1000, "done");
    CHECK((*ws)->close_code() == 1000);
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  CHECK(server.seen.calls == std::vector<std::string>{"one", "two", "three", "<closed 1000 done>"});
  CHECK(server.seen.destroyed);
}

TEST_CASE("after the closing handshake over TCP the server sends its FIN at once, with no task of its own") {
  Reactor reactor;
  Server server(reactor);
  // Without the closing handshake's bound: its timeouts are swept by one task per reactor.
  server.options.limits.close_timeout = std::chrono::milliseconds(0);
  wsp::ConnectOptions client_options;
  client_options.limits.close_timeout = std::chrono::milliseconds(0);
  server.start();
  std::uint64_t spawned_before_close = 0;
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url(), client_options);
    REQUIRE(ws);
    auto sent = co_await (*ws)->send_text("hello");
    REQUIRE(sent);
    wsp::Received echo = co_await (*ws)->receive();
    CHECK(echo.data == "hello");
    spawned_before_close = reactor.stats().tasks_spawned;
    co_await (*ws)->close(1000, "bye");
    CHECK((*ws)->close_code() == 1000);  // clean: the server's FIN came after its close frame
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  CHECK(server.seen.calls == std::vector<std::string>{"hello", "<closed 1000 bye>"});
  // Neither side spawned anything to end its stream (TLS streams do: close_notify is a write).
  CHECK(reactor.stats().tasks_spawned == spawned_before_close);
}

TEST_CASE("a message a MessageHandler returns false for comes back after the next write, before any later one") {
  Reactor reactor;
  Server server(reactor);
  server.decide = hold_a_once();  // the marker's write brings "a" again, and only then "b"
  server.start();
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    CHECK_FALSE((*ws)->send_now(std::string("a"), true));
    CHECK_FALSE((*ws)->send_now(std::string("b"), true));
    for (const char* text : {"marker", "a", "b"}) {
      wsp::Received echo = co_await (*ws)->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.data == text);
    }
    co_await (*ws)->close(1000, "");
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  CHECK(server.seen.calls == std::vector<std::string>{"a", "a", "b", "<closed 1000 >"});
}

TEST_CASE("the peer's close waits for a message a MessageHandler held back: its reply goes out before the close answer") {
  Reactor reactor;
  Server server(reactor);
  server.decide = hold_a_once();
  server.start();
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    // "a" and the close in one write: the server parses the close while it holds "a".
    CHECK_FALSE((*ws)->send_now(std::string("a"), true));
    co_await (*ws)->close(1000, "bye");
    CHECK((*ws)->close_code() == 1000);
    for (const char* text : {"marker", "a"}) {
      wsp::Received echo = co_await (*ws)->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.data == text);
    }
    CHECK((co_await (*ws)->receive()).closed);
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  CHECK(server.seen.calls == std::vector<std::string>{"a", "a", "<closed 1000 bye>"});
}

TEST_CASE("a MessageHandler echoing into a one-message outbound queue holds messages back and loses none") {
  Reactor reactor;
  Server server(reactor);
  server.options.limits.max_queued_packets = 1;
  server.start();
  constexpr int kMessages = 200;
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    // In one turn: one write, so the server parses many messages in one receive.
    for (int i = 0; i < kMessages; ++i) REQUIRE_FALSE((*ws)->send_now(std::to_string(i), true));
    for (int i = 0; i < kMessages; ++i) {
      wsp::Received echo = co_await (*ws)->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.data == std::to_string(i));
    }
    co_await (*ws)->close(1000, "");
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  CHECK(server.seen.no_room > 0);
  // Every held-back message was offered again: the calls are the messages, some repeated, in
  // order, then the close.
  REQUIRE(server.seen.calls.size() == std::size_t(kMessages) + server.seen.no_room + 1);
  CHECK(server.seen.calls.back() == "<closed 1000 >");
}

TEST_CASE("a MessageHandler deleted while handling a message gets no further call") {
  Reactor reactor;
  Server server(reactor);
  server.decide = [](Handler& h, wsp::Received&) -> std::optional<bool> {
    delete &h;  // and its WebSocket: the connection drops
    return true;
  };
  server.start();
  reactor.sync_wait(send_then_see_drop(reactor, server, {"first", "second"}));
  CHECK(server.seen.destroyed);
  CHECK(server.seen.calls == std::vector<std::string>{"first"});
}

TEST_CASE("a MessageHandler that aborts its connection while handling a message gets no message received after it, then the end") {
  Reactor reactor;
  Server server(reactor);
  server.decide = [](Handler& h, wsp::Received&) -> std::optional<bool> {
    h.ws->abort();  // more frames of the same receive wait behind this one
    return true;
  };
  server.start();
  reactor.sync_wait(send_then_see_drop(reactor, server, {"first", "second", "third"}));
  server.run_until_handler_gone();
  CHECK(server.seen.calls == std::vector<std::string>{"first", "<closed -1 >"});
}

TEST_CASE("a MessageHandler that destroys its WebSocket while handling a held-back message gets no further call") {
  Reactor reactor;
  Server server(reactor);
  int calls_for_a = 0;
  // "a" is held back once (a marker is sent); when it comes back from the ready list, after
  // the marker's write, the handler drops its WebSocket and stays.
  server.decide = [&](Handler& h, wsp::Received& m) -> std::optional<bool> {
    if (m.data != "a") return std::nullopt;
    if (++calls_for_a == 1) {
      CHECK_FALSE(h.ws->send_now(std::string_view("marker"), true));
      return false;
    }
    h.ws.reset();
    return true;
  };
  server.start();
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    CHECK_FALSE((*ws)->send_now(std::string("a"), true));
    wsp::Received first = co_await (*ws)->receive();
    CHECK(first.data == "marker");
    wsp::Received end = co_await (*ws)->receive();
    CHECK(end.closed);
    CHECK(end.close_code == -1);
  };
  reactor.sync_wait(body());
  CHECK(server.seen.calls == std::vector<std::string>{"a", "a"});
  CHECK_FALSE(server.seen.destroyed);  // the Server deletes it
}

TEST_CASE("a MessageHandler that destroys its WebSocket while handling the first message of a receive gets no further call") {
  Reactor reactor;
  Server server(reactor);
  server.decide = [](Handler& h, wsp::Received&) -> std::optional<bool> {
    h.ws.reset();  // the handler stays; "second" was received with "first"
    return true;
  };
  server.start();
  reactor.sync_wait(send_then_see_drop(reactor, server, {"first", "second"}));
  CHECK(server.seen.calls == std::vector<std::string>{"first"});
  CHECK_FALSE(server.seen.destroyed);  // the Server deletes it
}

TEST_CASE("the buffers a MessageHandler leaves in messages it echoed take the next messages") {
  Reactor reactor;
  Server server(reactor);
  std::vector<std::uintptr_t> buffers;  // addresses (not strings: the buffers are gone by the end)
  server.decide = [&](Handler&, wsp::Received& m) -> std::optional<bool> {
    buffers.push_back(reinterpret_cast<std::uintptr_t>(m.data.data()));
    return std::nullopt;  // echoed: send_now() copies a small message and leaves its buffer
  };
  server.start();
  constexpr int kMessages = 50;
  const std::string payload(100, 'p');  // past std::string's inline storage
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    for (int i = 0; i < kMessages; ++i) REQUIRE_FALSE((*ws)->send_now(payload, false));
    for (int i = 0; i < kMessages; ++i) {
      wsp::Received echo = co_await (*ws)->receive();
      REQUIRE_FALSE(echo.closed);
      CHECK(echo.data == payload);
    }
    co_await (*ws)->close(1000, "");
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  REQUIRE(buffers.size() == std::size_t(kMessages));
  // Two buffers take turns (the parser's and the thread's message's): none is made per message.
  const std::set<std::uintptr_t> distinct(buffers.begin(), buffers.end());
  CHECK(distinct.size() <= 2);
}

TEST_CASE("detach stops the calls; attach delivers the messages queued meanwhile") {
  Reactor reactor;
  Server server(reactor);
  server.start();
  auto body = [&]() -> Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url());
    REQUIRE(ws);
    for (int i = 0; i < 1000 && !server.handler; ++i) co_await io::yield(reactor);
    REQUIRE(server.handler);
    Handler* handler = server.handler;
    handler->detach();
    CHECK_FALSE((*ws)->send_now(std::string("queued while detached"), true));
    // The message reaches the server's queue, and no call comes.
    for (int i = 0; i < 200 && !handler->ws->connection().has_message(); ++i) {
      co_await io::sleep_for(reactor, std::chrono::milliseconds(5));
    }
    REQUIRE(handler->ws->connection().has_message());
    CHECK(server.seen.calls.empty());
    handler->attach(*handler->ws);
    wsp::Received echo = co_await (*ws)->receive();
    CHECK(echo.data == "queued while detached");
    co_await (*ws)->close(1000, "");
  };
  reactor.sync_wait(body());
  server.run_until_handler_gone();
  CHECK(server.seen.calls == std::vector<std::string>{"queued while detached", "<closed 1000 >"});
}
