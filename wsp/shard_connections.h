// The WebSocket connections of one io::ServerShard (one reactor thread of an io::TcpServerPool),
// for its shut_down(): the 1001 close for each, and the wait until they are gone.
// A connection counts from its accept, not from its open: one whose handshake is under way
// when the server stops opens, is closed with 1001 and ends before the reactor stops, instead
// of being dropped without a close frame.
#pragma once

#include <chrono>
#include <memory>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/task.h"
#include "wsp/websocket.h"

namespace wsp {

class ShardConnections {
 public:
  ShardConnections() { open_.prev_ = open_.next_ = &open_; }
  ShardConnections(const ShardConnections&) = delete;
  ShardConnections& operator=(const ShardConnections&) = delete;
  ~ShardConnections() {
    while (Node* node = first_open()) node->unlink();
  }

  // An open connection: owns its WebSocket, and is linked while open. It lives in what serves
  // the connection (a handler, a coroutine frame): tracking allocates nothing, and destroying
  // the node (with its WebSocket) is how a connection ends here.
  class Node {
   public:
    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node() { unlink(); }

    std::unique_ptr<WebSocket> ws;

   private:
    friend class ShardConnections;
    void unlink() {
      if (!prev_) return;
      prev_->next_ = next_;
      next_->prev_ = prev_;
      prev_ = next_ = nullptr;
    }
    Node* prev_ = nullptr;  // a circle through ShardConnections' own node: no head to update
    Node* next_ = nullptr;
  };

  // A connection was accepted: its handshake starts.
  void accepted() { ++opening_; }
  // Its handshake failed: it never opens.
  void refused() { --opening_; }
  // It opened: `node` takes the WebSocket and stays linked until destroyed.
  void opened(Node& node, std::unique_ptr<WebSocket> ws) {
    --opening_;
    node.ws = std::move(ws);
    node.prev_ = &open_;
    node.next_ = open_.next_;
    open_.next_->prev_ = &node;
    open_.next_ = &node;
    if (stopping_) node.ws->connection().close(1001, kShuttingDown);
  }

  // Unlinks every connection still open, handing its node to `f` (which may destroy it): for
  // a shard stopping with connections its close did not end in time, whose nodes are not in
  // coroutine frames the reactor destroys.
  template <typename F>
  void release_open(F f) {
    while (Node* node = first_open()) {
      node->unlink();
      f(*node);
    }
  }

  // Closes every open connection with 1001, and each one that opens from now on, then returns
  // once all of them ended (each within its close_timeout), or after `limit`.
  io::Task<void> close_all(io::Reactor& reactor, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    stopping_ = true;
    for (Node* n = open_.next_; n != &open_; n = n->next_) {
      n->ws->connection().close(1001, kShuttingDown);
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while ((opening_ > 0 || first_open()) && std::chrono::steady_clock::now() < deadline) {
      co_await io::sleep_for(reactor, std::chrono::milliseconds(20));
    }
  }

 private:
  static constexpr const char* kShuttingDown = "server shutting down";
  Node* first_open() { return open_.next_ == &open_ ? nullptr : open_.next_; }

  Node open_;  // the circle's own node: holds no connection
  long opening_ = 0;  // accepted, not yet opened or refused
  bool stopping_ = false;
};

}  // namespace wsp
