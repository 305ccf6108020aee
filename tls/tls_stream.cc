#include "tls/tls_stream.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "io/destruction_watch.h"

namespace tls {

namespace {

constexpr std::size_t kRecord = 16 * 1024;  // RFC 8446 §5.1: max plaintext per record
// Sealed records are sent once this much is waiting, so a huge write needs bounded memory.
constexpr std::size_t kFlushThreshold = 256 * 1024;
// Ciphertext read per receive: several full records.
constexpr std::size_t kReceiveChunk = 128 * 1024;

// Per-thread scratch memory, a record each: plaintext on its way to a StreamHandler, and small
// pieces being gathered into one record. Both are used up within one synchronous call (the handler
// consumes what it is given; sealing ends with the gathered record sealed), so the streams of
// a thread share them and an idle stream holds neither.
struct Scratch {
  std::unique_ptr<std::uint8_t[]> plaintext;
  std::unique_ptr<std::uint8_t[]> record;
  bool plaintext_in_use = false;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

TlsStream::TlsStream(io::TcpStream tcp, std::unique_ptr<TlsEngine> engine)
    : tcp_(std::move(tcp)), engine_(std::move(engine)), flushed_(tcp_.reactor()) {}

TlsStream::~TlsStream() {
  io::DestructionWatch::destroying(this);
  tcp_.stop_io();  // the kernel is done with wire_ before it goes
}

std::unique_ptr<TlsStream> TlsStream::client(io::TcpStream tcp, std::string host,
                                             std::shared_ptr<TLSOptions> options) {
  auto engine = TlsEngine::client(std::move(options), host);
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(tcp), std::move(engine)));
}

std::unique_ptr<TlsStream> TlsStream::server(io::TcpStream tcp,
                                             std::shared_ptr<TLSOptions> options) {
  auto engine = TlsEngine::server(std::move(options));
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(tcp), std::move(engine)));
}

io::Task<io::Result<std::unique_ptr<TlsStream>>> TlsStream::finish_handshake(
    std::unique_ptr<TlsStream> stream, io::Duration handshake_timeout, std::string* error) {
  auto done = co_await stream->handshake(handshake_timeout);
  if (!done) {
    if (error) *error = stream->error();
    stream->close();
    co_return done.error();
  }
  co_return std::move(stream);
}

io::Task<io::Result<std::unique_ptr<TlsStream>>> TlsStream::connect(
    io::TcpStream tcp, std::string host, std::shared_ptr<TLSOptions> options,
    io::Duration handshake_timeout, std::string* error) {
  return finish_handshake(client(std::move(tcp), std::move(host), std::move(options)),
                          handshake_timeout, error);
}

io::Task<io::Result<std::unique_ptr<TlsStream>>> TlsStream::accept(
    io::TcpStream tcp, std::shared_ptr<TLSOptions> options, io::Duration handshake_timeout,
    std::string* error) {
  return finish_handshake(server(std::move(tcp), std::move(options)), handshake_timeout, error);
}

TlsState TlsStream::state() const {
  TlsState s = engine_->state();
  if (closed_ && s == TlsState::connected) return TlsState::closed;
  return s;
}

io::Result<void> TlsStream::failure(std::error_code fallback) const {
  return engine_->error_code() ? engine_->error_code() : fallback;
}

io::Task<io::Result<void>> TlsStream::handshake(io::Duration timeout) {
  using Clock = std::chrono::steady_clock;
  const bool bounded = timeout.count() > 0;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto progress = engine_->handshake();
    if (engine_->has_output()) {
      // Also sends the alert of a failed handshake, so the peer learns why.
      auto sent = co_await flush();
      if (!sent && progress != TlsEngine::Progress::failed) {
        engine_->fail(TlsErrc::handshake_failed,
                      "TLS handshake failed: cannot send: " + sent.error().message());
        co_return engine_->error_code();
      }
    }
    if (progress == TlsEngine::Progress::done) co_return io::Result<void>{};
    if (progress == TlsEngine::Progress::failed) co_return engine_->error_code();
    io::Duration left = io::Duration::zero();
    if (bounded) {
      left = std::chrono::duration_cast<io::Duration>(deadline - Clock::now());
      if (left.count() <= 0) left = io::Duration(1);
    }
    int n = co_await tcp_.recv(engine_->receive_space(kReceiveChunk), left);
    if (n == -ETIMEDOUT && bounded) {
      engine_->fail(TlsErrc::handshake_timeout, "TLS handshake timed out");
      co_return engine_->error_code();
    }
    if (n < 0) {
      engine_->fail(TlsErrc::handshake_failed,
                    "TLS handshake failed: " + io::errno_code(-n).message());
      co_return engine_->error_code();
    }
    if (n == 0) {
      engine_->receive_eof();
    } else {
      engine_->commit_received(static_cast<std::size_t>(n));
    }
  }
}

io::Task<io::Result<void>> TlsStream::flush() {
  while (engine_->has_output() || tcp_writing_) {
    if (write_error_) co_return write_error_;
    if (flushing_ || tcp_writing_) {
      // Someone else is sending; it sends what we added too, in order.
      co_await flushed_.wait();
      continue;
    }
    flushing_ = true;
    engine_->take_output(wire_);
    auto sent = co_await tcp_.send_all(wire_);
    wire_.clear();
    flushing_ = false;
    flushed_.set();
    flushed_.reset();
    if (!sent) co_return sent.error();
  }
  if (write_error_) co_return write_error_;
  co_return io::Result<void>{};
}

io::Task<io::Result<std::size_t>> TlsStream::read_some(std::span<std::uint8_t> buffer) {
  if (buffer.empty()) co_return std::size_t{0};
  for (;;) {
    auto r = engine_->read(buffer);
    switch (r.state) {
      case TlsEngine::ReadState::data: {
        // Hand over every record already received, not one 16 KiB record per call: the
        // caller then makes fewer, larger writes (an echo server sends one message per read).
        std::size_t total = r.bytes;
        while (total < buffer.size()) {
          auto more = engine_->read(buffer.subspan(total));
          if (more.state != TlsEngine::ReadState::data) break;  // the next call sees it again
          total += more.bytes;
        }
        co_return total;
      }
      case TlsEngine::ReadState::closed:
        co_return std::size_t{0};
      case TlsEngine::ReadState::failed:
        co_return failure(TlsErrc::protocol_error).error();
      case TlsEngine::ReadState::want_read:
        break;
    }
    // Reading may have produced records (a KeyUpdate answer): send them unless a writer is
    // sending already (it will take them along).
    if (engine_->has_output() && !flushing_) {
      auto sent = co_await flush();
      if (!sent) co_return sent.error();
    }
    if (closed_) co_return io::errno_code(EBADF);
    int n = co_await tcp_.recv(engine_->receive_space(kReceiveChunk));
    if (n < 0) {
      engine_->fail(io::errno_code(-n), "TLS stream: " + io::errno_code(-n).message());
      co_return io::errno_code(-n);
    }
    if (n == 0) {
      engine_->receive_eof();
    } else {
      engine_->commit_received(static_cast<std::size_t>(n));
    }
  }
}

bool TlsStream::seal_some(std::span<const iovec>& rest, std::size_t& offset) {
  Scratch& memory = scratch();
  std::size_t gathered = 0;  // bytes in memory.record
  auto advance = [&](std::size_t n) {
    offset += n;
    if (offset == rest[0].iov_len) {
      rest = rest.subspan(1);
      offset = 0;
    }
  };
  while (!rest.empty()) {
    std::span<const std::uint8_t> data(static_cast<const std::uint8_t*>(rest[0].iov_base) + offset,
                                       rest[0].iov_len - offset);
    const bool last = rest.size() == 1;
    if (gathered == 0 && (last || data.size() >= kRecord)) {
      // Sealed straight from the caller's memory: whole records, or all of the last piece,
      // a batch at most.
      std::size_t n = last ? data.size() : data.size() - data.size() % kRecord;
      n = std::min(n, kFlushThreshold);
      if (!engine_->write(data.first(n))) return false;
      advance(n);
    } else {
      // A small piece (a frame header): gathered with what follows into one full record.
      if (!memory.record) memory.record = std::make_unique<std::uint8_t[]>(kRecord);
      std::size_t n = std::min(kRecord - gathered, data.size());
      std::memcpy(memory.record.get() + gathered, data.data(), n);
      gathered += n;
      advance(n);
      if (gathered == kRecord || rest.empty()) {
        if (!engine_->write({memory.record.get(), gathered})) return false;
        gathered = 0;
      }
    }
    if (gathered == 0 && engine_->output_size() >= kFlushThreshold) return true;
  }
  return true;
}

io::Task<io::Result<void>> TlsStream::write_all(std::span<const iovec> buffers) {
  if (engine_->close_notify_sent()) co_return make_error_code(TlsErrc::closed);
  if (engine_->state() != TlsState::connected) co_return failure(TlsErrc::protocol_error);
  std::size_t offset = 0;
  while (!buffers.empty()) {
    if (!seal_some(buffers, offset)) co_return failure(TlsErrc::protocol_error);
    auto sent = co_await flush();
    if (!sent) co_return sent.error();
  }
  co_return co_await flush();  // an empty write still sends what reading produced
}

io::Task<io::Result<void>> TlsStream::shutdown() {
  if (engine_->close_notify_sent()) co_return io::Result<void>{};
  engine_->close_notify();
  auto sent = co_await flush();
  if (!sent) co_return sent;
  co_return co_await tcp_.shutdown();
}

void TlsStream::close() {
  stop_io();
  closed_ = true;
  tcp_.close();
}

// --- push I/O ----------------------------------------------------------------------------

void TlsStream::start_receiving(io::StreamHandler& handler) {
  receiver_ = &handler;
  receive_paused_ = false;
  receive_ended_ = false;
  // What the handshake or earlier reads left in the engine goes first, from the ready list.
  due_delivery_ = true;
  reactor().schedule(&work_node_);
  tcp_.start_receiving(*this);
}

void TlsStream::resume_receiving() {
  if (!receiver_ || !receive_paused_) return;
  receive_paused_ = false;
  due_delivery_ = true;
  reactor().schedule(&work_node_);
}

bool TlsStream::on_received(std::span<const std::uint8_t> data) {
  if (!receiver_ || receive_paused_ || receive_ended_) {
    engine_->receive(data);  // kept until resume_receiving
    return false;
  }
  return deliver(data);
}

void TlsStream::on_receive_end(std::error_code error) {
  tcp_ended_ = true;
  tcp_end_error_ = error;
  if (!error) engine_->receive_eof();  // without close_notify before it: truncated
  if (!receiver_ || receive_paused_ || receive_ended_) return;
  deliver({});
}

bool TlsStream::deliver(std::span<const std::uint8_t> ciphertext) {
  // Read where TCP put it (the reactor's ring): no copy into the engine's buffer.
  engine_->lend_input(ciphertext);
  Scratch& memory = scratch();
  // A handler that reached another stream's delivery (it never should) gets its own memory.
  std::unique_ptr<std::uint8_t[]> own;
  std::uint8_t* plaintext;
  if (memory.plaintext_in_use) {
    own = std::make_unique<std::uint8_t[]>(kRecord);
    plaintext = own.get();
  } else {
    if (!memory.plaintext) memory.plaintext = std::make_unique<std::uint8_t[]>(kRecord);
    plaintext = memory.plaintext.get();
  }
  while (receiver_ && !receive_paused_ && !receive_ended_) {
    auto r = engine_->read({plaintext, kRecord});  // a record's plaintext at most
    // Reading may have produced records (a KeyUpdate answer, RFC 8446 §4.6.3).
    if (engine_->has_output()) send_output();
    if (r.state == TlsEngine::ReadState::data) {
      io::DestructionWatch watch(this);
      if (!own) memory.plaintext_in_use = true;
      bool more = receiver_->on_received({plaintext, r.bytes});
      if (!own) memory.plaintext_in_use = false;
      if (watch.destroyed()) return false;
      if (!more) receive_paused_ = true;
      continue;
    }
    if (r.state == TlsEngine::ReadState::want_read && !tcp_ended_) {
      engine_->trim_input();  // nothing waits in it: an idle stream keeps no receive buffer
      return true;  // everything lent was read
    }
    engine_->end_lent_input();
    std::error_code error;
    if (r.state == TlsEngine::ReadState::want_read) {
      // TCP failed (after an EOF the engine reports truncation instead).
      engine_->fail(tcp_end_error_, "TLS stream: " + tcp_end_error_.message());
      error = tcp_end_error_;
    } else if (r.state == TlsEngine::ReadState::failed) {
      error = failure(TlsErrc::protocol_error).error();
    }  // else closed: the peer's close_notify, an orderly end
    end_receiving(error);
    return false;
  }
  engine_->end_lent_input();  // what a paused receiver has not taken yet waits in the engine
  return false;
}

void TlsStream::end_receiving(std::error_code error) {
  receive_ended_ = true;
  receiver_->on_receive_end(error);  // may destroy this stream: nothing of it is touched after
}

void TlsStream::start_write(std::span<const iovec> buffers, io::StreamHandler& handler) {
  writer_ = &handler;
  std::error_code refused;
  if (write_error_) {
    refused = write_error_;
  } else if (engine_->close_notify_sent()) {
    refused = make_error_code(TlsErrc::closed);
  } else if (engine_->state() != TlsState::connected) {
    refused = failure(TlsErrc::protocol_error).error();
  }
  if (!refused) {
    write_rest_ = buffers;
    write_offset_ = 0;
    if (!seal_some(write_rest_, write_offset_)) refused = failure(TlsErrc::protocol_error).error();
  }
  if (refused) {
    // Told from the ready list, like every other end of a write.
    write_rest_ = {};
    due_write_error_ = refused;
    due_write_end_ = true;
    reactor().schedule(&work_node_);
    return;
  }
  if (!write_rest_.empty()) {
    // More than a batch: the caller's buffers stay valid, its list of them need not.
    write_iovecs_.assign(write_rest_.begin(), write_rest_.end());
    write_rest_ = write_iovecs_;
  }
  send_output();
}

void TlsStream::send_output() {
  if (tcp_writing_ || flushing_ || write_error_) return;
  if (!engine_->has_output()) {
    // A write with nothing to seal ends too, from the ready list like the others.
    if (writer_ && write_rest_.empty() && !due_write_end_) {
      due_write_end_ = true;
      reactor().schedule(&work_node_);
    }
    return;
  }
  engine_->take_output(wire_);
  tcp_writing_ = true;
  wire_ends_write_ = writer_ && write_rest_.empty();
  iovec whole{wire_.data(), wire_.size()};
  tcp_.start_write({&whole, 1}, *this);
}

void TlsStream::on_written(std::error_code error) {
  tcp_writing_ = false;
  const bool ends_write = std::exchange(wire_ends_write_, false);
  flushed_.set();  // a pull flush waiting for this write goes on
  flushed_.reset();
  if (error) {
    // Part of a record may be out: nothing can be written after it.
    write_error_ = error;
    if (writer_) finish_write(error);
    return;
  }
  if (ends_write) {
    finish_write({});  // the handler may start the next write, or destroy this object
    return;
  }
  if (writer_ && !write_rest_.empty() && engine_->output_size() < kFlushThreshold &&
      !seal_some(write_rest_, write_offset_)) {
    write_rest_ = {};
    finish_write(failure(TlsErrc::protocol_error).error());
    return;
  }
  send_output();
}

bool TlsStream::finish_write(std::error_code error) {
  io::StreamHandler* handler = std::exchange(writer_, nullptr);
  io::DestructionWatch watch(this);
  handler->on_written(error);
  if (watch.destroyed()) return false;
  // Records the engine made meanwhile (a KeyUpdate answer) unless the handler's next write
  // took them along.
  if (!error) send_output();
  return true;
}

void TlsStream::run_due_work() {
  if (due_write_end_) {
    due_write_end_ = false;
    if (!finish_write(std::exchange(due_write_error_, {}))) return;
  }
  if (due_delivery_) {
    due_delivery_ = false;
    if (receiver_ && deliver({})) tcp_.resume_receiving();
  }
}

void TlsStream::stop_io() {
  receiver_ = nullptr;
  writer_ = nullptr;
  write_rest_ = {};
  due_delivery_ = due_write_end_ = false;
  work_node_.unlink();
  if (tcp_writing_) {
    // Cancelled mid-record maybe: the TLS stream cannot be written any more.
    tcp_writing_ = false;
    write_error_ = io::errno_code(ECANCELED);
    flushed_.set();
    flushed_.reset();
  }
  tcp_.stop_io();
}

}  // namespace tls
