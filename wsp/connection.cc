#include "wsp/connection.h"

#include <algorithm>
#include <cstring>

#include "io/log.h"
#include "wsp/close_code.h"
#include "wsp/utf8.h"

namespace wsp {
namespace {

// Reads start small so an idle connection holds little; a read that fills the buffer doubles
// it for the next one, up to kMaxReadBuffer. After a burst of large messages, a small read
// brings a buffer above kShrinkAbove back to kSmallReadBuffer (enough for a pipelined batch of
// small messages, so chatty connections do not oscillate).
constexpr std::size_t kMinReadBuffer = 512;
constexpr std::size_t kSmallReadBuffer = 4096;
constexpr std::size_t kShrinkAbove = 16 * 1024;
constexpr std::size_t kMaxReadBuffer = 256 * 1024;
// Output buffers larger than this are released once written instead of kept for reuse.
constexpr std::size_t kKeepWriteBuffer = 64 * 1024;

}  // namespace

Connection::Connection(std::unique_ptr<io::ByteStream> stream, Role role, ConnectionLimits limits,
                       std::string leftover)
    : reactor_(stream->reactor()),
      stream_(std::move(stream)),
      protocol_(ProtocolConfig{.role = role, .max_message_size = limits.inbound_buffer_size}),
      limits_(limits),
      readable_(reactor_),
      room_(reactor_),
      output_ready_(reactor_),
      writable_(reactor_) {
  read_buffer_ = std::move(leftover);
  read_end_ = read_buffer_.size();
  reader_ = reactor_.spawn(read_loop());
  writer_ = reactor_.spawn(write_loop());
  if (limits_.heartbeat_interval > 0) heartbeat_ = reactor_.spawn(heartbeat_loop());
}

Connection::~Connection() { finish(0); }

// --- receiving ---------------------------------------------------------------------------

Message Connection::pop_message() {
  Message m = inbound_.pop_front();
  inbound_bytes_ -= m.data.size();
  room_.set();
  return m;
}

bool Connection::inbound_full(std::size_t next_size) const {
  if (inbound_.empty()) return false;  // one message always fits (its size was checked)
  if (inbound_.size() >= limits_.max_queued_packets) return true;
  return limits_.inbound_buffer_size > 0 &&
         inbound_bytes_ + next_size > limits_.inbound_buffer_size;
}

bool Connection::handle_event(Event& event) {
  switch (event.type) {
    case EventType::message:
      if (inbound_full(event.payload.size())) {
        holding_ = true;
        return false;
      }
      inbound_bytes_ += event.payload.size();
      inbound_.push_back(Message{std::move(event.payload), event.text});
      event.payload = std::string();
      readable_.set();
      return true;
    case EventType::pong:
      awaiting_pong_ = false;
      return true;
    case EventType::close:
      // Our echo is queued by the protocol; the writer finishes once it is written.
      if (state_ == State::open) state_ = State::closing;
      readable_.set();
      return true;
    case EventType::ping:
    case EventType::none:
      return true;
  }
  return true;
}

io::Task<void> Connection::read_loop() {
  for (;;) {
    // Parse everything buffered, one event at a time, holding back when the queue is full.
    while (holding_ || read_begin_ < read_end_) {
      if (holding_) {
        if (inbound_full(held_.payload.size())) {
          room_.reset();
          co_await room_.wait();
          continue;
        }
        holding_ = false;
        handle_event(held_);
        continue;
      }
      std::size_t used = protocol_.receive(
          reinterpret_cast<const std::uint8_t*>(read_buffer_.data()) + read_begin_,
          read_end_ - read_begin_, held_);
      read_begin_ += used;
      if (held_.type != EventType::none) handle_event(held_);
      if (protocol_.pending_output_size() > 0 || protocol_.state() == Protocol::State::closed) {
        output_added();
      }
      if (protocol_.failed_code() != 0) {
        if (state_ == State::open) state_ = State::closing;
        readable_.set();
      }
      if (used == 0 && held_.type == EventType::none) break;
    }
    if (read_begin_ == read_end_) {
      // Fully parsed: give a burst's large buffer back, keep a small one.
      if (read_buffer_.size() > kShrinkAbove && read_end_ < read_buffer_.size() / 8) {
        std::string(kSmallReadBuffer, '\0').swap(read_buffer_);
      }
      read_begin_ = read_end_ = 0;
    } else if (read_begin_ > 0) {
      std::memmove(read_buffer_.data(), read_buffer_.data() + read_begin_, read_end_ - read_begin_);
      read_end_ -= read_begin_;
      read_begin_ = 0;
    }
    if (read_buffer_.size() < kMinReadBuffer) read_buffer_.resize(kMinReadBuffer);
    if (read_end_ == read_buffer_.size()) {
      read_buffer_.resize(std::min(read_buffer_.size() * 2, std::max(kMaxReadBuffer, read_end_ * 2)));
    }
    std::size_t room = read_buffer_.size() - read_end_;
    auto n = co_await stream_->read_some(
        {reinterpret_cast<std::uint8_t*>(read_buffer_.data()) + read_end_, room});
    if (!n || *n == 0) {
      // The peer went away. After both close frames this is the expected end; otherwise the
      // close is unclean (-1).
      reader_done_ = true;
      if (protocol_.state() != Protocol::State::closed || protocol_.pending_output_size() > 0) {
        aborted_ = protocol_.failed_code() == 0 && !protocol_.close_received();
      }
      finish(reader_);
      co_return;
    }
    read_end_ += *n;
    if (*n == room && read_buffer_.size() < kMaxReadBuffer) {
      read_buffer_.resize(std::min(read_buffer_.size() * 2, kMaxReadBuffer));
    }
  }
}

// --- sending -----------------------------------------------------------------------------

void Connection::output_added() { output_ready_.set(); }

SendResult Connection::can_send(std::size_t size) const {
  if (state_ != State::open || protocol_.close_sent()) return SendResult::not_open;
  if (outbound_.size() >= limits_.max_queued_packets) return SendResult::too_many_queued;
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
  outbound_.push_back(data.size());
  outbound_bytes_ += data.size();
  output_added();
  return SendResult::ok;
}

io::Task<void> Connection::write_loop() {
  for (;;) {
    while (protocol_.pending_output_size() == 0) {
      if (protocol_.state() == Protocol::State::closed) {
        // Both close frames have passed (or ours answered a protocol error): done.
        finish(writer_);
        co_return;
      }
      output_ready_.reset();
      co_await output_ready_.wait();
    }
    protocol_.take_output(write_buffer_);
    writing_count_ = outbound_.size();
    iovec part{write_buffer_.data(), write_buffer_.size()};
    auto written = co_await stream_->write_all({&part, 1});
    if (!written) {
      aborted_ = true;
      finish(writer_);
      co_return;
    }
    for (; writing_count_ > 0; --writing_count_) outbound_bytes_ -= outbound_.pop_front();
    if (write_buffer_.capacity() > kKeepWriteBuffer) std::string().swap(write_buffer_);
    writable_.set();
  }
}

// --- closing -----------------------------------------------------------------------------

bool Connection::close(int code, std::string_view reason) {
  if (state_ == State::closed || protocol_.close_sent()) return false;
  if (!protocol_.send_close(code, reason)) return false;
  state_ = State::closing;
  output_added();
  if (limits_.close_timeout.count() > 0 && !close_timer_) close_timer_ = reactor_.spawn(close_timer());
  readable_.set();
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
  for (io::Reactor::TaskId* id : {&reader_, &writer_, &heartbeat_, &close_timer_}) {
    if (*id && *id != self) reactor_.cancel(*id);
    *id = 0;
  }
  if (state_ == State::closed) return;
  state_ = State::closed;
  if (stream_) stream_->close();
  readable_.set();
  writable_.set();
  room_.set();
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
