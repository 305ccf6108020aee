#include "wsp/engine/connection.h"

#include <algorithm>
#include <cstring>

#include "io/log.h"
#include "io/operation.h"
#include "wsp/engine/buffer_pool.h"
#include "wsp/engine/random_mask_keys.h"
#include "wsp/protocol/close_code.h"
#include "wsp/protocol/utf8.h"

namespace wsp {
namespace {

// Messages at least this large, when given away, are written from their own buffer; smaller
// ones are cheaper to copy into the output than to write as a separate piece.
constexpr std::size_t kZeroCopyMin = 16 * 1024;
constexpr std::size_t kMaxOwnedPayloads = 256;

}  // namespace

Connection::Connection(std::unique_ptr<io::ByteStream> stream, Role role, ConnectionLimits limits,
                       std::string leftover)
    : reactor_(stream->reactor()),
      stream_(std::move(stream)),
      protocol_(ProtocolConfig{.role = role,
                               .max_message_size = limits.inbound_buffer_size,
                               .buffers = &buffer_pool::for_this_thread(),
                               .mask_keys = &RandomMaskKeys::for_this_thread()}),
      limits_(limits),
      readable_(reactor_),
      writable_(reactor_) {
  // Bytes that came with the handshake are frames: parse them first.
  if (!leftover.empty()) {
    std::size_t used = parse(reinterpret_cast<const std::uint8_t*>(leftover.data()), leftover.size());
    if (used < leftover.size()) overflow_ = std::make_unique<std::string>(leftover, used);
  }
  receiving_paused_ = holding_;
  stream_->start_receiving(*this);
  if (limits_.heartbeat_interval > 0) heartbeat_ = reactor_.spawn(heartbeat_loop());
}

Connection::~Connection() { finish(0); }

// --- receiving ---------------------------------------------------------------------------

bool Connection::inbound_full(std::size_t next_size) const {
  if (inbound_.empty()) return false;  // one message always fits (its size was checked)
  if (inbound_.size() >= limits_.max_queued_packets) return true;
  return limits_.inbound_buffer_size > 0 &&
         inbound_bytes_ + next_size > limits_.inbound_buffer_size;
}

void Connection::deliver_held() {
  switch (held_.type) {
    case EventType::message:
      if (inbound_full(held_.payload.size())) {
        holding_ = true;
        return;
      }
      holding_ = false;
      inbound_bytes_ += held_.payload.size();
      inbound_.push_back(Message{std::move(held_.payload), held_.text});
      readable_.set();
      break;
    case EventType::pong:
      awaiting_pong_ = false;
      break;
    case EventType::close:
      // Our echo is queued by the protocol; the connection finishes once it is written.
      if (state_ == State::open) state_ = State::closing;
      break;
    case EventType::ping:
    case EventType::none:
      break;
  }
  held_.type = EventType::none;
}

std::size_t Connection::parse(const std::uint8_t* data, std::size_t size) {
  std::size_t at = 0;
  while (at < size && !holding_ && state_ != State::closed) {
    std::size_t used = protocol_.receive(data + at, size - at, held_);
    at += used;
    if (held_.type != EventType::none) deliver_held();
    if (protocol_.pending_output_size() > 0 || protocol_.state() == Protocol::State::closed) {
      output_added();  // pongs, close echoes, or a close after a protocol error
    }
    if (protocol_.failed_code() != 0 && state_ == State::open) state_ = State::closing;
    if (used == 0 && held_.type == EventType::none) break;
  }
  return at;
}

bool Connection::on_received(std::span<const std::uint8_t> data) {
  if (state_ == State::closed) return false;
  if (holding_ || overflow_) {
    // Receiving was paused but the kernel had more on its way: keep it for later.
    if (!overflow_) overflow_ = std::make_unique<std::string>();
    overflow_->append(reinterpret_cast<const char*>(data.data()), data.size());
    if (!holding_) drain_overflow();
    return !holding_;
  }
  std::size_t used = parse(data.data(), data.size());
  if (used < data.size() && holding_) {
    overflow_ = std::make_unique<std::string>(reinterpret_cast<const char*>(data.data()) + used,
                                              data.size() - used);
  }
  receiving_paused_ = holding_;
  return !holding_;
}

void Connection::drain_overflow() {
  if (overflow_) {
    std::size_t used = parse(reinterpret_cast<const std::uint8_t*>(overflow_->data()), overflow_->size());
    overflow_->erase(0, used);
    if (holding_ || state_ == State::closed) return;
    overflow_.reset();
  }
  if (receiving_paused_) {
    receiving_paused_ = false;
    stream_->resume_receiving();
  }
}

void Connection::recycle(std::string&& buffer) {
  // Buffers up to 1 MiB serve every connection of the thread; a larger one stays with this
  // connection, parked in held_.payload: the protocol swaps its finished message with
  // held_.payload, so the buffer there assembles a later message.
  if (buffer.capacity() <= buffer_pool::kMaxPooledCapacity) {
    buffer_pool::give_back(std::move(buffer));
    return;
  }
  if (holding_ || buffer.capacity() <= held_.payload.capacity()) return;
  buffer.clear();
  held_.payload = std::move(buffer);
}

bool Connection::pop_message(std::string& data) {
  Message& next = inbound_.front();
  const bool text = next.text;
  data = std::move(next.data);
  inbound_.drop_front();
  inbound_bytes_ -= data.size();
  if (holding_) {
    deliver_held();
    if (!holding_) drain_overflow();
  }
  return text;
}

void Connection::on_receive_end(std::error_code error) {
  if (state_ == State::closed) return;
  // After both close frames this is the expected end; otherwise the close is unclean (-1).
  if (protocol_.state() != Protocol::State::closed) {
    aborted_ = protocol_.failed_code() == 0 && !protocol_.close_received();
  }
  if (error) WSP_LOG_DEBUG("connection ended: %s", error.message().c_str());
  finish(0);
}

// --- sending -----------------------------------------------------------------------------

void Connection::output_added() { reactor_.schedule(&flush_node_); }

void Connection::message_queued(std::size_t payload_size) {
  ++outbound_count_;
  outbound_bytes_ += payload_size;
  output_added();
}

SendResult Connection::can_send(std::size_t size) const {
  if (state_ != State::open || protocol_.close_sent()) return SendResult::not_open;
  if (outbound_count_ >= limits_.max_queued_packets) return SendResult::too_many_queued;
  if (limits_.outbound_buffer_size > 0 &&
      outbound_bytes_ + size > limits_.outbound_buffer_size) {
    return SendResult::buffer_full;
  }
  return SendResult::ok;
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
  message_queued(data.size());
  return SendResult::ok;
}

void Connection::flush() {
  if (writing_ || state_ == State::closed) return;
  if (protocol_.pending_output_size() == 0) {
    // Both close frames have passed (or ours answered a protocol error): end our direction
    // in order (TLS close_notify, TCP FIN), then close.
    if (protocol_.state() == Protocol::State::closed && !ending_) {
      ending_ = reactor_.spawn(graceful_end());
    }
    return;
  }
  protocol_.take_output(write_buffer_);
  writing_count_ = outbound_count_;
  writing_bytes_ = outbound_bytes_;
  writing_ = true;
  if (!zero_copy_ || zero_copy_->queued.empty()) {
    iovec part{write_buffer_.data(), write_buffer_.size()};
    stream_->start_write({&part, 1}, *this);
    return;
  }
  // Interleave the serialized bytes with the payloads that follow their headers.
  ZeroCopy& z = *zero_copy_;
  z.writing.swap(z.queued);
  z.parts.clear();
  std::size_t from = 0;
  for (OwnedPayload& p : z.writing) {
    if (p.at > from) z.parts.push_back({write_buffer_.data() + from, p.at - from});
    z.parts.push_back({p.data.data(), p.data.size()});
    from = p.at;
  }
  if (write_buffer_.size() > from) z.parts.push_back({write_buffer_.data() + from, write_buffer_.size() - from});
  stream_->start_write(z.parts, *this);
}

SendResult Connection::send(bool text, std::string&& data) {
  if (data.size() < kZeroCopyMin || (zero_copy_ && zero_copy_->queued.size() >= kMaxOwnedPayloads)) {
    SendResult copied = send(text, std::string_view(data));
    if (copied == SendResult::ok) recycle(std::move(data));
    return copied;
  }
  SendResult verdict = can_send(data.size());
  if (verdict != SendResult::ok) return verdict;
  if (text && !is_valid_utf8(data)) return SendResult::invalid_utf8;
  if (!protocol_.send_message_header(text, reinterpret_cast<std::uint8_t*>(data.data()), data.size())) {
    return send(text, std::string_view(data));  // fragmented per config: the copying path
  }
  message_queued(data.size());
  if (!zero_copy_) zero_copy_ = std::make_unique<ZeroCopy>();
  zero_copy_->queued.push_back({protocol_.pending_output_size(), std::move(data)});
  return SendResult::ok;
}

io::Task<void> Connection::graceful_end() {
  auto ended = co_await stream_->shutdown();
  if (!ended) WSP_LOG_DEBUG("orderly shutdown failed: %s", ended.error().message().c_str());
  finish(ending_);
}

void Connection::on_written(std::error_code error) {
  writing_ = false;
  if (error) {
    if (protocol_.state() != Protocol::State::closed) aborted_ = true;
    finish(0);
    return;
  }
  outbound_count_ -= writing_count_;
  outbound_bytes_ -= writing_bytes_;
  writing_count_ = writing_bytes_ = 0;
  if (zero_copy_) {
    for (OwnedPayload& p : zero_copy_->writing) recycle(std::move(p.data));
    zero_copy_->writing.clear();
  }
  // The written buffer goes back to the thread's pool (up to 1 MiB); a larger one is kept for
  // the next write while writes fill a good part of it. A quiet connection holds none.
  const std::size_t capacity = write_buffer_.capacity();
  if (capacity <= buffer_pool::kMaxPooledCapacity) {
    buffer_pool::give_back(std::move(write_buffer_));
  } else if (write_buffer_.size() < capacity / 4) {
    std::string().swap(write_buffer_);
  }
  writable_.set();
  flush();
}

// --- closing -----------------------------------------------------------------------------

bool Connection::close(int code, std::string_view reason) {
  if (state_ == State::closed || protocol_.close_sent()) return false;
  if (!protocol_.send_close(code, reason)) return false;
  state_ = State::closing;
  output_added();
  if (limits_.close_timeout.count() > 0 && !close_timer_) close_timer_ = reactor_.spawn(close_timer());
  return true;
}

io::Task<void> Connection::close_timer() {
  co_await io::sleep_for(reactor_, limits_.close_timeout);
  WSP_LOG_DEBUG("close handshake timed out; dropping the connection");
  aborted_ = true;
  finish(close_timer_);
}

io::Task<void> Connection::heartbeat_loop() {
  auto interval = std::chrono::duration_cast<io::Duration>(
      std::chrono::duration<double>(limits_.heartbeat_interval));
  for (;;) {
    co_await io::sleep_for(reactor_, interval);
    if (state_ != State::open) continue;
    if (awaiting_pong_) {
      WSP_LOG_DEBUG("no pong within the heartbeat interval; dropping the connection");
      aborted_ = true;
      finish(heartbeat_);
      co_return;
    }
    if (protocol_.send_ping({})) {
      awaiting_pong_ = true;
      output_added();
    }
  }
}

void Connection::abort() {
  if (state_ == State::closed) return;
  aborted_ = true;
  finish(0);
}

void Connection::finish(io::Reactor::TaskId self) {
  for (io::Reactor::TaskId* id : {&heartbeat_, &close_timer_, &ending_}) {
    if (*id && *id != self) reactor_.cancel(*id);
    *id = 0;
  }
  if (state_ == State::closed) return;
  state_ = State::closed;
  if (stream_) {
    stream_->stop_io();
    stream_->close();
  }
  readable_.set();
  writable_.set();
}

int Connection::close_code() const {
  if (aborted_) return -1;
  if (protocol_.failed_code() != 0) return protocol_.failed_code();
  if (protocol_.close_received()) return protocol_.received_close_code();
  return -1;
}

std::string Connection::close_reason() const {
  if (aborted_) return {};
  if (protocol_.failed_code() != 0) {
    switch (protocol_.failed_code()) {
      case close_code::protocol_error: return "Protocol error";
      case close_code::invalid_payload: return "Invalid frame payload data";
      case close_code::message_too_big: return "Message too big";
      default: return {};
    }
  }
  return protocol_.received_close_reason();
}

}  // namespace wsp
