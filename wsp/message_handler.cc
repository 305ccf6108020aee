#include "wsp/message_handler.h"

#include <utility>

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

namespace {

// The handler whose on_message() runs on this thread: a message parsed meanwhile (a nested
// reactor run) is queued, never handed over inside that call.
thread_local const MessageHandler* g_calling = nullptr;
// The message handed over as it is parsed, one per thread (never two at once, see above):
// no strings made and freed per message.
thread_local Received g_parsed;

class Calling {
 public:
  explicit Calling(const MessageHandler* handler) : outer_(std::exchange(g_calling, handler)) {}
  ~Calling() { g_calling = outer_; }
  Calling(const Calling&) = delete;
  Calling& operator=(const Calling&) = delete;

 private:
  const MessageHandler* outer_;
};

}  // namespace

bool MessageHandler::take_parsed_message(std::string& payload, bool text) {
  if (held_ || g_calling) return false;
  Received& message = g_parsed;
  message.closed = false;
  message.text = text;
  message.data = std::move(payload);
  message.close_code = -1;
  message.close_reason.clear();
  io::DestructionWatch watch(this);  // on_message() may destroy the handler
  bool taken;
  {
    Calling calling(this);
    taken = on_message(WebSocket::of(*connection()), message);
  }
  if (!taken && !watch.destroyed()) {
    held_ = std::make_unique<Received>(std::move(message));
    if (Connection* conn = connection()) conn->set_listener_wants_writable(true);
    return true;
  }
  // A buffer the handler left (an echo copied its message out) takes the next message: the
  // thread's message keeps none.
  message.data.clear();
  if (heap_capacity(message.data) != 0) payload = std::move(message.data);
  return true;
}

void MessageHandler::on_connection_ready() {
  io::DestructionWatch watch(this);  // on_message() may destroy the handler
  Calling calling(this);
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
    // Null once the handler destroyed its WebSocket: `conn` is gone then.
    Connection* const still = connection();
    if (!still) break;
    still->set_listener_wants_writable(!taken);
    if (!taken) {
      if (!held_) held_ = std::make_unique<Received>(std::move(next));
      break;  // offered again after the next write, the next message or the end
    }
    held_.reset();
    // A buffer the handler left goes back to the thread's pool for the next message.
    if (heap_capacity(next.data) != 0) still->recycle(std::move(next.data));
  }
}

}  // namespace wsp
