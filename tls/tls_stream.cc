#include "tls/tls_stream.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace tls {

namespace {

constexpr std::size_t kRecord = 16 * 1024;  // RFC 8446 §5.1: max plaintext per record
// Sealed records are sent once this much is waiting, so a huge write needs bounded memory.
constexpr std::size_t kFlushThreshold = 256 * 1024;
// Ciphertext read per receive: several full records.
constexpr std::size_t kReceiveChunk = 128 * 1024;

}  // namespace

TlsStream::TlsStream(io::TcpStream tcp, std::unique_ptr<TlsEngine> engine)
    : tcp_(std::move(tcp)), engine_(std::move(engine)), flushed_(tcp_.reactor()) {}

TlsStream::~TlsStream() = default;

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
  while (engine_->has_output()) {
    if (flushing_) {
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

io::Task<io::Result<void>> TlsStream::write_all(std::span<const iovec> buffers) {
  if (engine_->close_notify_sent()) co_return make_error_code(TlsErrc::closed);
  if (engine_->state() != TlsState::connected) co_return failure(TlsErrc::protocol_error);
  auto seal = [this](std::span<const std::uint8_t> data) { return engine_->write(data); };
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    std::span<const std::uint8_t> data(static_cast<const std::uint8_t*>(buffers[i].iov_base),
                                       buffers[i].iov_len);
    bool last = i + 1 == buffers.size();
    while (!data.empty()) {
      if (staging_.empty() && (last || data.size() >= kRecord)) {
        // Sealed straight from the caller's memory: whole records, or all of the last piece.
        std::size_t n = last ? data.size() : data.size() - data.size() % kRecord;
        if (!seal(data.first(n))) co_return failure(TlsErrc::protocol_error);
        data = data.subspan(n);
      } else {
        // A small piece (a frame header): gathered with what follows into one full record.
        if (staging_.capacity() < kRecord) staging_.reserve(kRecord);
        std::size_t n = std::min(kRecord - staging_.size(), data.size());
        staging_.insert(staging_.end(), data.begin(), data.begin() + n);
        data = data.subspan(n);
        if (staging_.size() == kRecord || (last && data.empty())) {
          bool ok = seal(staging_);
          staging_.clear();
          if (!ok) co_return failure(TlsErrc::protocol_error);
        }
      }
      if (engine_->output_size() >= kFlushThreshold) {
        auto sent = co_await flush();
        if (!sent) {
          staging_.clear();
          co_return sent.error();
        }
      }
    }
  }
  if (!staging_.empty()) {  // the last piece was empty
    bool ok = seal(staging_);
    staging_.clear();
    if (!ok) co_return failure(TlsErrc::protocol_error);
  }
  co_return co_await flush();
}

io::Task<io::Result<void>> TlsStream::shutdown() {
  if (engine_->close_notify_sent()) co_return io::Result<void>{};
  engine_->close_notify();
  auto sent = co_await flush();
  if (!sent) co_return sent;
  co_return co_await tcp_.shutdown();
}

void TlsStream::close() {
  closed_ = true;
  tcp_.close();
}

}  // namespace tls
