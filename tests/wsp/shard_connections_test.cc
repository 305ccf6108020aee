// wsp::ShardConnections: a server shard's open connections, served by tasks (Node) or by
// callbacks (Handler, which owns its WebSocket), and their 1001 close at shutdown. Each
// server-side WebSocket talks to a client WebSocket over an in-memory stream.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "io/reactor.h"
#include "io/task.h"
#include "io/testing/memory_stream.h"
#include "wsp/shard_connections.h"
#include "wsp/websocket.h"

using io::Reactor;
using io::Task;
using namespace std::chrono_literals;

namespace {

// Echoes, and deletes itself at the close (with its WebSocket).
struct Echo final : wsp::ShardConnections::Handler {
  explicit Echo(int& deleted) : deleted_(deleted) {}
  ~Echo() override { ++deleted_; }
  bool on_message(wsp::WebSocket& ws, wsp::Received& m) override {
    if (m.closed) {
      delete this;
      return true;
    }
    return ws.send_now(std::move(m.data), m.text) != wsp::Errc::no_room;
  }
  int& deleted_;
};

// A server-side WebSocket and its client, connected in memory.
struct Pair {
  std::unique_ptr<wsp::WebSocket> server, client;
};
Pair connected(Reactor& reactor) {
  auto [ours, theirs] = io::test::MemoryStream::pair(reactor);
  Pair p;
  p.server = std::make_unique<wsp::WebSocket>(wsp::WebSocketParts{.stream = std::move(ours)});
  p.client = std::make_unique<wsp::WebSocket>(
      wsp::WebSocketParts{.stream = std::move(theirs), .role = wsp::Role::client});
  return p;
}

Task<wsp::Received> next(wsp::WebSocket& client) { co_return co_await client.receive(); }

// The client's view of its connection's end.
Task<wsp::Received> end_seen(wsp::WebSocket& client) {
  for (;;) {
    wsp::Received r = co_await client.receive();
    if (r.closed) co_return r;
  }
}

Task<void> close_all(Reactor& reactor, wsp::ShardConnections& shard, bool& done) {
  co_await shard.close_all(reactor, 3s);
  done = true;
}

// A connection served by a task, which ends at the close.
Task<void> serve_until_closed(wsp::ShardConnections& shard, std::unique_ptr<wsp::WebSocket> ws,
                              bool& ended) {
  wsp::ShardConnections::Node self;
  shard.opened(self, std::move(ws));
  for (;;) {
    wsp::Received r = co_await self.ws->receive();
    if (r.closed) break;
  }
  ended = true;
}

}  // namespace

TEST_CASE("a ShardConnections::Handler owns its WebSocket; close_all closes it with 1001 and returns once it is gone") {
  Reactor reactor;
  wsp::ShardConnections shard;
  int deleted = 0;
  Pair p = connected(reactor);
  shard.accepted();
  auto* echo = new Echo(deleted);
  wsp::WebSocket* server_ws = p.server.get();
  shard.opened(*echo, std::move(p.server));
  CHECK(echo->attached() == server_ws);

  CHECK_FALSE(p.client->send_now(std::string_view("hi"), true));
  wsp::Received reply = reactor.sync_wait(next(*p.client));
  CHECK(reply.data == "hi");

  reactor.sync_wait(shard.close_all(reactor, 2s));
  CHECK(deleted == 1);
  wsp::Received end = reactor.sync_wait(end_seen(*p.client));
  CHECK(end.close_code == 1001);
  CHECK(end.close_reason == "server shutting down");
}

TEST_CASE("delete_open_handlers deletes each handler still open, and its WebSocket with it") {
  Reactor reactor;
  wsp::ShardConnections shard;
  int deleted = 0;
  Pair a = connected(reactor), b = connected(reactor);
  for (Pair* p : {&a, &b}) {
    shard.accepted();
    shard.opened(*new Echo(deleted), std::move(p->server));
  }
  shard.delete_open_handlers();
  CHECK(deleted == 2);
  // Each server-side WebSocket went without a close frame: its client sees the stream end.
  for (Pair* p : {&a, &b}) CHECK(reactor.sync_wait(end_seen(*p->client)).close_code == -1);
  // Nothing is left open: close_all returns at once.
  const auto before = std::chrono::steady_clock::now();
  reactor.sync_wait(shard.close_all(reactor, 5s));
  CHECK(std::chrono::steady_clock::now() - before < 1s);
}

TEST_CASE("a connection that opens while close_all waits is closed with 1001 at once, a task's as a handler's") {
  Reactor reactor;
  wsp::ShardConnections shard;
  int deleted = 0;
  Pair by_handler = connected(reactor), by_task = connected(reactor);
  shard.accepted();
  shard.accepted();
  bool closing_done = false;
  reactor.spawn(close_all(reactor, shard, closing_done));
  reactor.run_once(0ms);
  CHECK_FALSE(closing_done);  // two connections are still opening

  shard.opened(*new Echo(deleted), std::move(by_handler.server));
  bool task_ended = false;
  reactor.spawn(serve_until_closed(shard, std::move(by_task.server), task_ended));

  for (Pair* p : {&by_handler, &by_task}) {
    wsp::Received end = reactor.sync_wait(end_seen(*p->client));
    CHECK(end.close_code == 1001);
  }
  for (int i = 0; i < 100 && !closing_done; ++i) reactor.run_once(20ms);
  CHECK(closing_done);
  CHECK(deleted == 1);
  CHECK(task_ended);
}
