// The callback face over wsp::WebSocket: instead of a task per connection awaiting receive(),
// the reactor calls on_message() with each message, in order, and finally once with the close.
// A connection waiting for its next message then holds no coroutine frame, only this object
// (which a server usually makes its per-connection state):
//
//   struct Echo final : wsp::MessageHandler {
//     std::unique_ptr<wsp::WebSocket> ws;
//     bool on_message(wsp::WebSocket& ws, wsp::Received& m) override {
//       if (m.closed) { delete this; return true; }
//       return ws.send_now(std::move(m.data), m.text) != wsp::Errc::no_room;
//     }
//   };
//   auto* echo = new Echo{...}; echo->attach(*echo->ws);
//
// A message that nothing waits before is handed over as soon as it is parsed from what the
// stream received (no queue); others, the end, and messages held back come from the reactor's
// ready list. Either way on_message() may send, close, or destroy the handler (with its
// WebSocket) at any call, and is never called again from inside itself. A buffer left in
// message.data (send_now() copies small messages and leaves it) takes the next message. Such
// a message may be handled before work other connections woke earlier in the same reactor
// turn (an accept that completed then): order across connections is not promised.
#pragma once

#include <memory>

#include "io/ready_list.h"
#include "io/slab.h"
#include "wsp/websocket.h"

namespace wsp {

// The connection calls its handler from its own ready-list entry: the handler holds none.
class MessageHandler : private ConnectionListener, public io::slab::Allocated {
 public:
  MessageHandler() = default;
  MessageHandler(const MessageHandler&) = delete;
  MessageHandler& operator=(const MessageHandler&) = delete;
  virtual ~MessageHandler();

  // Starts the calls for `ws` (messages already queued included). Destroying the WebSocket
  // (a member of the handler, or on its own) ends them.
  void attach(WebSocket& ws);
  // Stops the calls; a message held back (see on_message) is dropped.
  void detach();
  // The WebSocket attached (null: none, or it was destroyed).
  WebSocket* attached() const {
    Connection* c = connection();
    return c ? &WebSocket::of(*c) : nullptr;
  }

 protected:
  // A message (message.closed false), or the end of the connection (closed true, with its
  // close_code and close_reason): the last call, after which the handler is detached.
  // Returning false holds the message back, with every later one: on_message() is called with
  // it again after the connection's next write (when a send found no room), when another
  // message arrives, or at its end. The peer's close is answered only once it was taken, so
  // its reply goes out first. The connection keeps it (its back-pressure state), not this.
  virtual bool on_message(WebSocket& ws, Received& message) = 0;

 private:
  void on_connection_ready() override;  // delivers what waits
  // A message straight from the stream when nothing waits before it: no queue, and the
  // buffer the handler leaves takes the next one.
  bool take_parsed_message(std::string& payload, bool text) override;
};

}  // namespace wsp
