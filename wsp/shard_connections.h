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
#include "wsp/message_handler.h"
#include "wsp/websocket.h"

namespace wsp {

class ShardConnections {
  // An entry of a circle through the ShardConnections' own entry: no head to update.
  class Link {
   public:
    Link() = default;
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

   protected:
    ~Link() { unlink(); }

   private:
    friend class ShardConnections;
    void unlink() {
      if (!prev_) return;
      prev_->next_ = next_;
      next_->prev_ = prev_;
      prev_ = next_ = nullptr;
    }
    void link_after(Link& head) {
      prev_ = &head;
      next_ = head.next_;
      head.next_->prev_ = this;
      head.next_ = this;
    }
    Link* prev_ = nullptr;
    Link* next_ = nullptr;
  };
  struct Circle : Link {
    Circle() { prev_ = next_ = this; }
    ~Circle() {
      while (Link* link = first()) link->unlink();
    }
    Link* first() { return next_ == this ? nullptr : next_; }
  };

 public:
  ShardConnections() = default;
  ShardConnections(const ShardConnections&) = delete;
  ShardConnections& operator=(const ShardConnections&) = delete;

  // An open connection served by a task: owns its WebSocket, and is linked while open. It
  // lives in the task's coroutine frame: tracking allocates nothing, and destroying the node
  // (with its WebSocket) is how a connection ends here.
  class Node : Link {
   public:
    std::unique_ptr<WebSocket> ws;

   private:
    friend class ShardConnections;
  };

  // An open connection served by callbacks: a MessageHandler that owns the WebSocket it is
  // attached to, and is linked while open. It reaches the WebSocket through the handler's own
  // pointer (thousands of idle connections: no second one). Deleting it ends the connection.
  class Handler : public MessageHandler, Link {
   public:
    ~Handler() override { delete attached(); }

   private:
    friend class ShardConnections;
  };

  // A connection was accepted: its handshake starts.
  void accepted() { ++opening_; }
  // Its handshake failed: it never opens.
  void refused() { --opening_; }
  // It opened: `node` takes the WebSocket and stays linked until destroyed.
  void opened(Node& node, std::unique_ptr<WebSocket> ws) {
    node.ws = std::move(ws);
    track(node, nodes_, *node.ws);
  }
  // The same for a handler, which is attached to the WebSocket and owns it.
  void opened(Handler& handler, std::unique_ptr<WebSocket> ws) {
    WebSocket& socket = *ws.release();
    handler.attach(socket);
    track(handler, handlers_, socket);
  }

  // Deletes every handler still open: for a shard stopping with connections its close did not
  // end in time. (Nodes are in coroutine frames, which the reactor destroys.)
  void delete_open_handlers() {
    while (Link* link = handlers_.first()) {
      link->unlink();
      delete static_cast<Handler*>(link);
    }
  }

  // Closes every open connection with 1001, and each one that opens from now on, then returns
  // once all of them ended (each within its close_timeout), or after `limit`.
  io::Task<void> close_all(io::Reactor& reactor, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    stopping_ = true;
    for (Link* n = nodes_.next_; n != &nodes_; n = n->next_) shut(*static_cast<Node*>(n)->ws);
    for (Link* h = handlers_.next_; h != &handlers_; h = h->next_) {
      if (WebSocket* ws = static_cast<Handler*>(h)->attached()) shut(*ws);
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while ((opening_ > 0 || nodes_.first() || handlers_.first()) &&
           std::chrono::steady_clock::now() < deadline) {
      co_await io::sleep_for(reactor, std::chrono::milliseconds(20));
    }
  }

 private:
  static constexpr const char* kShuttingDown = "server shutting down";
  static void shut(WebSocket& ws) { ws.connection().close(1001, kShuttingDown); }
  // It opened: linked while open, and closed at once if the shard is stopping.
  void track(Link& link, Circle& open, WebSocket& ws) {
    --opening_;
    link.link_after(open);
    if (stopping_) shut(ws);
  }

  Circle nodes_;
  Circle handlers_;
  long opening_ = 0;  // accepted, not yet opened or refused
  bool stopping_ = false;
};

}  // namespace wsp
