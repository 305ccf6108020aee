// The WebSocket connections of one io::ServerShard (one reactor thread of an io::TcpServerPool),
// for its shut_down(): the 1001 close for each, and the wait until they are gone.
// A connection counts from its accept, not from its open: one whose handshake is under way
// when the server stops opens, is closed with 1001 and ends before the reactor stops, instead
// of being dropped without a close frame.
#pragma once

#include <chrono>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/task.h"
#include "wsp/websocket.h"

namespace wsp {

class ShardConnections {
 public:
  // Links an open connection through a node in its own coroutine frame: tracking allocates
  // nothing.
  struct Node {
    WebSocket* ws = nullptr;
    Node* prev = nullptr;
    Node* next = nullptr;
  };

  // A connection was accepted: its handshake starts.
  void accepted() { ++live_; }
  // Its handshake failed: it never opens.
  void refused() { --live_; }
  // It opened; `node` stays linked until ended().
  void opened(Node& node, WebSocket& ws) {
    node.ws = &ws;
    node.next = open_;
    if (open_) open_->prev = &node;
    open_ = &node;
    if (stopping_) ws.connection().close(1001, kShuttingDown);
  }
  // It ended (after opened()).
  void ended(Node& node) {
    (node.prev ? node.prev->next : open_) = node.next;
    if (node.next) node.next->prev = node.prev;
    --live_;
  }

  // Unlinks every connection still open, handing its node to `f` (which may destroy it): for
  // a shard stopping with connections its close did not end in time, whose nodes are not in
  // coroutine frames the reactor destroys.
  template <typename F>
  void release_open(F f) {
    while (Node* node = open_) {
      ended(*node);
      f(*node);
    }
  }

  // Closes every open connection with 1001, and each one that opens from now on, then returns
  // once all of them ended (each within its close_timeout), or after `limit`.
  io::Task<void> close_all(io::Reactor& reactor, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    stopping_ = true;
    for (Node* n = open_; n; n = n->next) n->ws->connection().close(1001, kShuttingDown);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (live_ > 0 && std::chrono::steady_clock::now() < deadline) {
      co_await io::sleep_for(reactor, std::chrono::milliseconds(20));
    }
  }

 private:
  static constexpr const char* kShuttingDown = "server shutting down";
  Node* open_ = nullptr;
  long live_ = 0;  // accepted and not yet ended
  bool stopping_ = false;
};

}  // namespace wsp
