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
  if (Connection* c = connection()) c->set_listener(nullptr);  // drops a held message
}

namespace {

// The handler whose on_message() runs on this thread: a message parsed meanwhile (a nested
// reactor run) is queued, never handed over inside that call.
thread_local const MessageHandler* g_calling = nullptr;
// The message handed over as it is parsed, one per thread (never two at once, see above):
// no strings made and freed per message.
thread_local Received g_parsed;
// The largest buffer g_parsed keeps between messages (see take_parsed_message()).
constexpr std::size_t kKeptCapacity = 4096;

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
  // A held message makes the connection queue the next ones (its listener wants writes).
  if (g_calling) return false;
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
    if (Connection* conn = connection()) {
      conn->hold_for_listener(std::move(message.data), message.text);
      conn->set_listener_wants_writable(true);
    }
    message.data.clear();
    return true;
  }
  // A buffer the handler left (an echo copied its message out) takes a later message. A small
  // one stays with the thread's message: the next message moved in swaps it out to `payload`
  // (a move between two strings on the heap swaps their buffers), so two buffers take turns
  // with no move back. A large one goes back to `payload`, in exchange for the small one (if
  // any) this message held before.
  message.data.clear();
  if (message.data.capacity() > kKeptCapacity) payload.swap(message.data);
  return true;
}

void MessageHandler::on_connection_ready() {
  io::DestructionWatch watch(this);  // on_message() may destroy the handler
  Calling calling(this);
  while (connection()) {
    Connection& conn = *connection();
    Received next;
    Message* const held = conn.held_by_listener();  // offered again, before any later one
    if (held) {
      next.text = held->text;
      next.data = std::move(held->data);
    } else if (conn.has_message()) {
      next.text = conn.pop_message(next.data);
    } else if (conn.state() == Connection::State::closed) {
      next.closed = true;
      next.close_code = conn.close_code();
      next.close_reason = conn.close_reason();
    } else {
      break;
    }
    const bool last = next.closed;
    const bool taken = on_message(WebSocket::of(conn), next);
    if (watch.destroyed()) return;
    if (last) {
      detach();
      break;
    }
    // Null once the handler destroyed its WebSocket: `conn` is gone then.
    Connection* const still = connection();
    if (!still) break;
    still->set_listener_wants_writable(!taken);
    // Looked up again: a handler that attached itself anew inside on_message() dropped it.
    Message* const still_held = held ? still->held_by_listener() : nullptr;
    if (!taken) {
      // Offered again after the next write, the next message or the end.
      if (still_held) {
        still_held->data = std::move(next.data);
      } else {
        still->hold_for_listener(std::move(next.data), next.text);
      }
      break;
    }
    if (still_held) still->drop_held_by_listener();
    // A buffer the handler left goes back to the thread's pool for the next message.
    if (heap_capacity(next.data) != 0) still->recycle(std::move(next.data));
  }
}

}  // namespace wsp
