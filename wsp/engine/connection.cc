#include "wsp/engine/connection.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "io/destruction_watch.h"
#include "io/log.h"
#include "io/operation.h"
#include "wsp/engine/per_thread.h"
#include "wsp/protocol/utf8.h"

namespace wsp {
namespace {

// Control frames we owe (pongs) that may wait unwritten beyond the application's own output
// before receiving stops: a peer that pings without reading gets TCP back-pressure, not our
// memory.
constexpr std::size_t kMaxControlBacklog = 64 * 1024;

// The outbound queue counts in 32 bits: "unlimited" (0) and larger limits mean its most.
ConnectionLimits within_queue_counts(ConnectionLimits limits) {
  constexpr std::size_t most = OutboundQueue::kMostQueued;
  std::size_t& bytes = limits.outbound_buffer_size;
  if (bytes == 0 || bytes > most) bytes = most;
  limits.max_queued_packets = std::min(limits.max_queued_packets, most);
  return limits;
}

// The connection's facts as its Protocol's config carries them: the shared copy, kept by the
// config (interned, so alike connections attach the same address).
std::shared_ptr<const void> attachment(const ConnectionFacts& facts) {
  auto held = std::make_shared<const Interned<ConnectionFacts>>(facts);
  return std::shared_ptr<const void>(held, &**held);
}

}  // namespace

Connection::Connection(std::unique_ptr<io::ByteStream> stream, Role role, ConnectionLimits limits,
                       std::string leftover, const DeflateConfig* deflate,
                       RequestFacts request)
    : reactor_(stream->reactor()),
      stream_(std::move(stream)),
      protocol_(ProtocolConfig{.role = role,
                               .answer_close_at_once = false,
                               .max_message_size = limits.inbound_buffer_size,
                               .deflate = deflate ? DeflateSlot(*deflate) : DeflateSlot(),
                               .deflate_streams = deflate ? &thread_deflate_streams() : nullptr,
                               .buffers = &thread_buffer_pool(),
                               .mask_keys = &thread_mask_keys(),
                               .attached = attachment(ConnectionFacts{within_queue_counts(limits),
                                                                      std::move(request)})}) {
  // Bytes that came with the handshake are frames: parse them first.
  if (!leftover.empty()) {
    std::size_t used = parse(reinterpret_cast<const std::uint8_t*>(leftover.data()), leftover.size());
    if (used < leftover.size()) {
      backlog().overflow.emplace().bytes.assign(leftover, used);
    }
  }
  receiving_paused_ = stalled();
  stream_->start_receiving(*this);
  if (this->limits().heartbeat_interval > 0) occasional().heartbeat = reactor_.spawn(heartbeat_loop());
}

Connection::~Connection() {
  io::DestructionWatch::destroying(this);
  finish(0);
  set_listener(nullptr);
}

void Connection::set_listener(ConnectionListener* listener) {
  if (listener_ && listener_ != listener) listener_->connection_ = nullptr;
  if (held_by_listener()) drop_held_by_listener();
  listener_ = listener;
  listener_wants_writable_ = listener_due_ = false;
  if (!listener_) return;
  listener_->connection_ = this;
  if (has_message() || ended_) call_listener_soon();
}

// --- receiving ---------------------------------------------------------------------------

void Connection::deliver(ProtocolEvent& event) {
  switch (event.type) {
    case ProtocolEventType::message:
      if (inbound_full(event.payload.size())) {
        backlog().held.emplace(std::move(event));
        break;
      }
      occasional().inbound.push(std::move(event.payload), event.text);
      signal_readable();
      break;
    case ProtocolEventType::pong:
      awaiting_pong_ = false;
      break;
    case ProtocolEventType::close:  // answered by closing_progress()
    case ProtocolEventType::ping:
    case ProtocolEventType::none:
      break;
  }
  event.type = ProtocolEventType::none;
}

void Connection::deliver_held() {
  ProtocolEvent& message = *held();
  if (inbound_full(message.payload.size())) return;
  occasional().inbound.push(std::move(message.payload), message.text);
  drop_held();
  signal_readable();
}

std::size_t Connection::parse(const std::uint8_t* data, std::size_t size,
                              io::DestructionWatch* direct) {
  ProtocolEvent event;
  // The payload buffer of the last pass, if no other took it: no class of the pool is searched
  // for the first message's.
  BufferPool& buffers = *protocol_.buffers();
  buffers.take_spare(BufferPool::Use::payload, event.payload);
  std::size_t at = 0;
  while (at < size && !stalled() && !ended_) {
    std::size_t used = protocol_.receive(data + at, size - at, event);
    at += used;
    if (event.type == ProtocolEventType::message && direct && listener_takes_now() &&
        listener_->take_parsed_message(event.payload, event.text)) {
      if (direct->destroyed()) return at;
      // The listener's buffer, if it left one, takes the next message of this batch.
      event.type = ProtocolEventType::none;
    } else if (event.type != ProtocolEventType::none) {
      deliver(event);
    }
    if (protocol_.pending_output_size() > 0 ||
        protocol_.close_handshake() == Protocol::CloseHandshake::done) {
      output_added();  // pongs, or the peer answered our close: end in order
      backlogged_ = output_backlogged();
    }
    if (used == 0) break;
  }
  if (protocol_.close_answer_pending()) closing_progress();
  if (heap_capacity(event.payload) != 0) {
    buffers.give_back_spare(BufferPool::Use::payload, std::move(event.payload));
  }
  return at;
}

bool Connection::output_backlogged() const {
  return protocol_.pending_output_size() > outbound_.bytes() + kMaxControlBacklog;
}

void Connection::closing_progress() {
  if (limits().close_timeout.count() > 0 && !ended_ &&
      !(occasional_ && occasional_->close_timeout.pending())) {
    CloseTimeout& timeout = occasional().close_timeout;
    timeout.connection = this;
    reactor_.timeouts(limits().close_timeout, &Connection::close_timed_out).start(timeout);
  }
  // The answer waits until the application took the messages before it; then it goes after
  // the replies the application makes in this turn (the flush runs after them).
  if (protocol_.close_answer_pending() && !has_message() && !held() && !held_by_listener() &&
      !answer_due_) {
    answer_due_ = true;
    output_added();
  }
}

bool Connection::on_received(std::span<const std::uint8_t> data) {
  if (ended_) return false;
  if (stalled() || overflow()) {
    // Receiving was paused but the kernel had more on its way: keep it for later.
    if (!overflow()) backlog().overflow.emplace();
    overflow()->bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (!stalled()) drain_overflow();
    return !stalled();
  }
  io::DestructionWatch watch(this);  // the listener may destroy this connection
  std::size_t used = parse(data.data(), data.size(), &watch);
  if (watch.destroyed()) return false;
  if (used < data.size() && stalled()) {
    backlog().overflow.emplace().bytes.assign(reinterpret_cast<const char*>(data.data()) + used, data.size() - used);
  }
  receiving_paused_ = stalled();
  return !stalled();
}

void Connection::drain_overflow() {
  if (Overflow* waiting = overflow()) {
    std::string& bytes = waiting->bytes;
    std::size_t used = parse(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    bytes.erase(0, used);
    if (stalled() || ended_) return;
    const bool stream_ended = waiting->stream_ended;
    const std::error_code error = waiting->error;
    drop_overflow();
    if (stream_ended) {
      end_of_stream(error);
      return;
    }
  }
  if (receiving_paused_) {
    receiving_paused_ = false;
    stream_->resume_receiving();
  }
}

void Connection::recycle(std::string&& buffer) {
  // Not kept by the connection even when large: one buffer of up to inbound_buffer_size kept
  // per connection for its life grew a 2,000-connection soak's server to 400 MB.
  protocol_.buffers()->give_back(std::move(buffer));
}

void Connection::hold_for_listener(std::string&& data, bool text) {
  backlog().held_by_listener.emplace(Message{std::move(data), text});
}

void Connection::drop_held_by_listener() {
  occasional_->backlog->held_by_listener.reset();
  drop_backlog_if_empty();
  if (!ended_ && !has_message() && protocol_.close_answer_pending()) closing_progress();
}

bool Connection::pop_message(std::string& data) {
  const bool text = occasional_->inbound.pop(data);
  if (held()) {
    deliver_held();
    if (!held()) drain_overflow();
  }
  if (!has_message() && protocol_.close_answer_pending()) closing_progress();
  return text;
}

void Connection::on_receive_end(std::error_code error) {
  if (ended_) return;
  // Bytes before the end wait to be parsed: the end comes after them.
  if (Overflow* waiting = overflow()) {
    waiting->stream_ended = true;
    waiting->error = error;
    return;
  }
  end_of_stream(error);
}

void Connection::end_of_stream(std::error_code error) {
  if (error) WSP_LOG_DEBUG("connection ended: %s", error.message().c_str());
  // The peer's close (or its protocol error) is still owed an answer: the connection ends
  // once that is written, after the messages before it (bounded by close_timeout).
  if (protocol_.close_answer_pending() && !error) return;
  // After both close frames this is the expected end; otherwise the close is unclean (-1).
  if (protocol_.close_handshake() != Protocol::CloseHandshake::done &&
      !protocol_.close_answer_pending()) {
    aborted_ = true;
  }
  finish(0);
}

// --- sending -----------------------------------------------------------------------------

void Connection::output_added() { reactor_.schedule(this); }

void Connection::run_ready() {
  if (listener_due_) {
    listener_due_ = false;
    io::DestructionWatch watch(this);
    listener_->on_connection_ready();
    if (watch.destroyed()) return;
  }
  flush();
}

SendResult Connection::send(bool text, std::string_view data) {
  SendResult verdict = can_send(data.size());
  if (verdict != SendResult::ok) return verdict;
  // Refuse what the peer would have to reject with 1007 (RFC 6455 §8.1).
  if (text && !is_valid_utf8(data)) return SendResult::invalid_utf8;
  if (!protocol_.send_message(text, reinterpret_cast<const std::uint8_t*>(data.data()),
                              data.size())) {
    return SendResult::not_open;
  }
  outbound_.queued(data.size());
  output_added();
  return SendResult::ok;
}

void Connection::flush() {
  if (outbound_.writing() || ended_) return;
  if (answer_due_) {
    answer_due_ = false;
    protocol_.write_close_answer();
  }
  if (protocol_.pending_output_size() == 0 && !outbound_.has_pieces()) {
    // Both close frames have passed (or ours answered a protocol error): end our direction
    // in order (TLS close_notify, TCP FIN), then close.
    if (protocol_.close_handshake() == Protocol::CloseHandshake::done &&
        !(occasional_ && occasional_->ending)) {
      if (std::optional<io::Result<void>> ended = stream_->shutdown_at_once()) {
        shut_down(*ended, 0);
      } else {
        occasional().ending = reactor_.spawn(graceful_end());
      }
    }
    return;
  }
  stream_->start_write(outbound_.start_write(protocol_), *this);
}

SendResult Connection::send_own_buffer(bool text, std::string&& data) {
  SendResult verdict = can_send(data.size());
  if (verdict != SendResult::ok) return verdict;
  if (text && !is_valid_utf8(data)) return SendResult::invalid_utf8;
  if (!protocol_.send_message_header(text, reinterpret_cast<std::uint8_t*>(data.data()), data.size())) {
    // Compressed or fragmented per config: the copying path.
    return send(text, std::string_view(data));
  }
  outbound_.queued_owned(data.size(), protocol_.pending_output_size(), std::move(data));
  output_added();
  return SendResult::ok;
}

SendResult Connection::send_shared(const SharedFrameRef& frame) {
  const std::string_view payload = frame->payload();
  SendResult verdict = can_send(payload.size());
  if (verdict != SendResult::ok) return verdict;
  if (!protocol_.sends_plain_frame(payload.size())) {
    if (!protocol_.send_message(frame->text(), reinterpret_cast<const std::uint8_t*>(payload.data()),
                                payload.size())) {
      return SendResult::not_open;
    }
    outbound_.queued(payload.size());
  } else if (outbound_.takes_shared_frame()) {
    outbound_.queued_shared(protocol_.pending_output_size(), frame);
  } else {
    protocol_.send_encoded(frame->bytes());  // a long backlog: one more piece would not help
    outbound_.queued(payload.size());
  }
  output_added();
  return SendResult::ok;
}

io::Task<void> Connection::graceful_end() {
  shut_down(co_await stream_->shutdown(), occasional_->ending);
}

void Connection::shut_down(const io::Result<void>& ended, io::Reactor::TaskId self) {
  if (!ended) WSP_LOG_DEBUG("orderly shutdown failed: %s", ended.error().message().c_str());
  finish(self);
}

void Connection::on_written_some(std::size_t bytes) {
  outbound_.written_some(bytes, [this](std::string&& payload) { recycle(std::move(payload)); });
}

void Connection::on_written(std::error_code error) {
  outbound_.written(!error, *protocol_.buffers(),
                    [this](std::string&& payload) { recycle(std::move(payload)); });
  if (error) {
    if (protocol_.close_handshake() != Protocol::CloseHandshake::done &&
        !protocol_.close_answer_pending()) {
      aborted_ = true;
    }
    finish(0);
    return;
  }
  signal_writable();
  flush();  // takes what waited: the backlog of owed frames is in this write now
  if (backlogged_ && !output_backlogged()) {
    backlogged_ = false;
    drain_overflow();
  }
}

// --- closing -----------------------------------------------------------------------------

bool Connection::close(int code, std::string_view reason) {
  if (ended_ || protocol_.close_sent()) return false;
  if (protocol_.failed_code() != 0) {
    protocol_.write_close_answer();  // the protocol error's close frame answers for us
  } else if (!protocol_.send_close(code, reason)) {
    return false;
  }
  output_added();
  closing_progress();
  return true;
}

void Connection::close_timed_out(io::TimeoutEntry& entry) {
  Connection& c = *static_cast<CloseTimeout&>(entry).connection;
  WSP_LOG_DEBUG("close handshake timed out; dropping the connection");
  c.aborted_ = true;
  c.finish(0);
}

io::Task<void> Connection::heartbeat_loop() {
  auto interval = std::chrono::duration_cast<io::Duration>(
      std::chrono::duration<double>(limits().heartbeat_interval));
  for (;;) {
    co_await io::sleep_for(reactor_, interval);
    if (state() != State::open || protocol_.close_answer_pending()) continue;
    if (awaiting_pong_) {
      WSP_LOG_DEBUG("no pong within the heartbeat interval; dropping the connection");
      aborted_ = true;
      finish(occasional_->heartbeat);
      co_return;
    }
    if (protocol_.send_ping({})) {
      awaiting_pong_ = true;
      output_added();
    }
  }
}

void Connection::abort() {
  if (ended_) return;
  aborted_ = true;
  finish(0);
}

void Connection::finish(io::Reactor::TaskId self) {
  if (occasional_) {
    Occasional& o = *occasional_;
    for (io::Reactor::TaskId* id : {&o.heartbeat, &o.ending}) {
      if (*id && *id != self) reactor_.cancel(*id);
      *id = 0;
    }
    o.close_timeout.stop();
  }
  if (ended_) return;
  ended_ = true;
  if (stream_) {
    stream_->stop_io();
    stream_->close();
  }
  if (occasional_) {
    if (ConnectionObserver* observer = std::exchange(occasional_->observer, nullptr)) {
      observer->connection_ended(*this);
    }
  }
  signal_readable();
  signal_writable();
}

int Connection::close_code() const {
  if (aborted_) return -1;
  if (protocol_.failed_code() != 0) return protocol_.failed_code();
  if (protocol_.close_received()) return protocol_.received_close_code();
  return -1;
}

std::string Connection::close_reason() const {
  if (aborted_) return {};
  if (protocol_.failed_code() != 0) return protocol_.failure_reason();
  return protocol_.received_close_reason();
}

}  // namespace wsp
