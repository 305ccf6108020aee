#include "wsp/message_handler.h"

#include "io/destruction_watch.h"

namespace wsp {

MessageHandler::~MessageHandler() {
  io::DestructionWatch::destroying(this);
  detach();
}

void MessageHandler::attach(WebSocket& ws) {
  detach();
  ws.connection().set_listener(this);
}

void MessageHandler::detach() {
  if (Connection* c = connection()) c->set_listener(nullptr);
  held_.reset();
}

void MessageHandler::on_connection_ready() {
  io::DestructionWatch watch(this);  // on_message() may destroy the handler
  while (connection()) {
    Connection& conn = *connection();
    Received* message = held_.get();
    Received next;
    if (!message) {
      if (conn.has_message()) {
        next.text = conn.pop_message(next.data);
      } else if (conn.state() == Connection::State::closed) {
        next.closed = true;
        next.close_code = conn.close_code();
        next.close_reason = conn.close_reason();
      } else {
        break;
      }
      message = &next;
    }
    const bool last = message->closed;
    const bool taken = on_message(WebSocket::of(conn), *message);
    if (watch.destroyed()) return;
    if (last) {
      detach();
      break;
    }
    conn.set_listener_wants_writable(!taken);
    if (!taken) {
      if (!held_) held_ = std::make_unique<Received>(std::move(next));
      break;  // called again by the next write or the end
    }
    held_.reset();
  }
}

}  // namespace wsp
