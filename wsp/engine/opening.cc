#include "wsp/engine/opening.h"

#include <chrono>
#include <optional>

#include "io/destruction_watch.h"
#include "io/log.h"
#include "io/operation.h"
#include "io/resolver.h"
#include "io/socket_address.h"
#include "io/tcp_stream.h"
#include "tls/tls_error.h"
#include "tls/tls_options.h"
#include "tls/tls_stream.h"

namespace wsp {
namespace {

// Reads until the handshake parser is done or failed; what follows the head stays in
// `leftover`. Header blocks are bounded by the parsers, so this never buffers without limit.
template <typename Handshake>
io::Task<HandshakeStatus> read_handshake(io::ByteStream& stream, Handshake& handshake,
                                         std::string& leftover, std::string& error) {
  // Small reads: a handshake head is a few hundred bytes, and this buffer lives in the frame of
  // every connection still handshaking.
  std::uint8_t buffer[1024];
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n || *n == 0) {
      // The end of a refusal's body may be cut off: the handshake keeps what arrived of it.
      HandshakeStatus status = handshake.end_of_stream();
      if (!n && handshake.http_status() == 0)
        error = "connection error during the handshake: " + n.error().message();
      co_return status;
    }
    std::size_t consumed = 0;
    HandshakeStatus status = handshake.feed(buffer, *n, consumed);
    if (status == HandshakeStatus::done) {
      leftover.assign(reinterpret_cast<const char*>(buffer) + consumed, *n - consumed);
    }
    if (status != HandshakeStatus::incomplete) co_return status;
  }
}

io::Task<io::Result<void>> write_text(io::ByteStream& stream, const std::string& text) {
  iovec part{const_cast<char*>(text.data()), text.size()};
  co_return co_await stream.write_all({&part, 1});
}

// After a refusal, on its own: half-closes, then reads and drops what the client still sends
// until it closes (at most 64 KiB, for at most a second). Closing with unread bytes would reset
// the connection, which can destroy the answer before the client read it (RFC 7230 §6.6).
io::Task<void> linger(std::unique_ptr<io::ByteStream> stream) {
  auto shut = co_await stream->shutdown();
  io::TcpStream* tcp = stream->tcp();
  if (!shut || !tcp) co_return;
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  std::uint8_t buffer[512];
  for (std::size_t total = 0; total < 64 * 1024;) {
    const auto left = std::chrono::duration_cast<io::Duration>(deadline - Clock::now());
    if (left.count() <= 0) co_return;
    const int n = co_await tcp->recv(buffer, left);
    if (n <= 0) co_return;
    total += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::unique_ptr<Opening> Opening::client(io::Reactor& reactor, WebSocketUrl url,
                                         ClientOpeningOptions options) {
  std::unique_ptr<Opening> opening(new Opening(reactor));
  auto timeout = options.timeout;
  opening->start(opening->run_client(std::move(url), std::move(options)), timeout);
  return opening;
}

std::unique_ptr<Opening> Opening::client_over(std::unique_ptr<io::ByteStream> stream,
                                              WebSocketUrl url, ClientOpeningOptions options) {
  std::unique_ptr<Opening> opening(new Opening(stream->reactor()));
  auto timeout = options.timeout;
  opening->start(opening->run_upgrade(std::move(stream), std::move(url), std::move(options)),
                 timeout);
  return opening;
}

// Reads the request as the stream delivers it (from the reactor's receive ring: nothing is
// buffered for a connection whose request has not arrived) and writes the answer. Once the
// head is read, receiving pauses: what came after it is the connection's (leftover), and the
// stream goes on, with the rest, to the connection's own handler.
class Opening::ServerRequest final : private io::StreamHandler {
 public:
  ServerRequest(Opening& opening, std::unique_ptr<io::ByteStream> stream,
                const ServerOpeningOptions& options)
      : opening_(opening),
        stream_(std::move(stream)),
        handshake_(ServerHandshake::sharing(options.handshake)),
        keep_request_headers_(options.keep_request_headers) {}

  void start() { stream_->start_receiving(*this); }

 private:
  bool on_received(std::span<const std::uint8_t> data) override {
    if (head_read_) {
      // Arrived before the pause took effect: frames for the connection.
      leftover_.append(reinterpret_cast<const char*>(data.data()), data.size());
      return false;
    }
    std::size_t consumed = 0;
    switch (handshake_.feed(data.data(), data.size(), consumed)) {
      case HandshakeStatus::incomplete:
        return true;
      case HandshakeStatus::done:
        head_read_ = true;
        leftover_.assign(reinterpret_cast<const char*>(data.data()) + consumed,
                         data.size() - consumed);
        answer();
        return false;
      case HandshakeStatus::failed:
        head_read_ = true;
        if (handshake_.http_status() < 400) {
          opening_.fail(handshake_.error());  // destroys this
          return false;
        }
        // wsp answers a bad request with its HTTP error and the reason before closing (the
        // reference just drops the socket).
        answer();
        return false;
    }
    return false;
  }

  void on_receive_end(std::error_code error) override {
    // After the head, the end is the connection's: the stream delivers it again to the
    // connection's handler.
    if (head_read_) return;
    handshake_.end_of_stream();
    opening_.fail(error ? "connection error during the handshake: " + error.message()
                        : handshake_.error());  // destroys this
  }

  // The 101, or the refusal.
  void answer() {
    answer_ = handshake_.response();
    iovec part{answer_.data(), answer_.size()};
    stream_->start_write({&part, 1}, *this);
  }

  void on_written(std::error_code error) override {
    OpenedStream& result = opening_.result();
    if (const int code = handshake_.http_status(); code >= 400) {
      // Refused and answered: the stream lingers on its own until the client closes.
      if (io::TcpStream* tcp = stream_->tcp()) {
        if (auto peer = tcp->remote_address()) result.refused_peer = peer->to_string();
      }
      if (!error) {
        stream_->stop_io();
        opening_.reactor_.spawn(linger(std::move(stream_)));
      }
      result.refusal_status = code;
      opening_.fail("handshake refused with " + std::to_string(code) + " " +
                    http_reason_phrase(code) + ": " + handshake_.error());  // destroys this
      return;
    }
    if (error) {
      opening_.fail("cannot send the handshake response: " + error.message());  // destroys this
      return;
    }
    result.ok = true;
    result.leftover = std::move(leftover_);
    result.selected_protocol = handshake_.selected_protocol();
    result.requested_url = handshake_.requested_url();
    // Copied out of the request only when wanted: a field each, for the connection's life.
    if (keep_request_headers_) result.request_headers = handshake_.take_headers();
    result.deflate = handshake_.deflate();
    result.stream = std::move(stream_);
    opening_.complete();  // destroys this
  }

  Opening& opening_;
  std::unique_ptr<io::ByteStream> stream_;
  ServerHandshake handshake_;
  std::string answer_;    // the response while it is written
  std::string leftover_;  // what came after the head: the opening's result is made at its end
  bool head_read_ = false;
  bool keep_request_headers_;
};

std::size_t Opening::server_request_size() { return sizeof(ServerRequest); }

std::unique_ptr<Opening> Opening::server(std::unique_ptr<io::ByteStream> stream,
                                         ServerOpeningOptions options) {
  std::unique_ptr<Opening> opening(new Opening(stream->reactor()));
  opening->start_watchdog(options.timeout);
  opening->server_request_ = std::make_unique<ServerRequest>(*opening, std::move(stream), options);
  opening->server_request_->start();
  return opening;
}

void Opening::serve(std::unique_ptr<io::ByteStream> stream, const ServerOpeningOptions& options,
                    PendingOpenings& pending, ServerOpeningListener& listener) {
  io::Reactor& reactor = stream->reactor();
  auto* opening = new Opening(reactor);
  opening->listener_ = &listener;
  opening->server_request_ = std::make_unique<ServerRequest>(*opening, std::move(stream), options);
  pending.add(*opening, reactor);
  opening->server_request_->start();
}

void PendingOpenings::add(Opening& opening, io::Reactor& reactor) {
  reactor_ = &reactor;
  opening.pending_ = this;
  opening.deadline_ = reactor.now() + timeout_;
  opening.previous_ = last_;
  (last_ ? last_->next_ : first_) = &opening;
  last_ = &opening;
  ++size_;
  if (timeout_.count() > 0 && !expiry_) expiry_ = reactor.spawn(expire(reactor));
}

void PendingOpenings::remove(Opening& opening) {
  (opening.previous_ ? opening.previous_->next_ : first_) = opening.next_;
  (opening.next_ ? opening.next_->previous_ : last_) = opening.previous_;
  opening.pending_ = nullptr;
  opening.previous_ = opening.next_ = nullptr;
  --size_;
}

io::Task<void> PendingOpenings::expire(io::Reactor& reactor) {
  // One timeout for all: the oldest opening's deadline is the earliest. One that ended
  // meanwhile costs a wake-up at its deadline, not a cancel when it ends.
  while (first_) {
    const io::Duration left = first_->deadline_ - reactor.now();
    if (left.count() > 0) {
      co_await io::sleep_for(reactor, left);
      continue;
    }
    io::DestructionWatch watch(this);
    expiring_ = true;
    first_->time_out();  // its listener may destroy this list
    if (watch.destroyed()) co_return;
    expiring_ = false;
  }
  expiry_ = 0;
}

PendingOpenings::~PendingOpenings() {
  io::DestructionWatch::destroying(this);
  // From within the deadline task (its listener), the task ends by itself.
  if (expiry_ && !expiring_) reactor_->cancel(expiry_);
  while (Opening* opening = first_) {
    remove(*opening);
    delete opening;
  }
}

Opening::Opening(io::Reactor& reactor) : reactor_(reactor), finished_(reactor) {}

Opening::~Opening() {
  if (work_) reactor_.cancel(work_);
  if (watchdog_) reactor_.cancel(watchdog_);
}

void Opening::start(io::Task<void> work, std::chrono::milliseconds timeout) {
  work_ = reactor_.spawn(std::move(work));
  start_watchdog(timeout);
}

void Opening::start_watchdog(std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) watchdog_ = reactor_.spawn(watchdog(timeout));
}

io::Task<void> Opening::watchdog(std::chrono::milliseconds timeout) {
  co_await io::sleep_for(reactor_, timeout);
  watchdog_ = 0;
  if (!done_) time_out();
}

void Opening::time_out() {
  // Cancelling the client's work destroys its frame, which cancels its I/O and closes its
  // stream; fail() drops the server's request state, with its stream, the same way.
  if (work_) reactor_.cancel(std::exchange(work_, 0));
  fail("handshake timed out");
}

void Opening::complete() {
  done_ = true;
  work_ = 0;
  server_request_.reset();
  if (watchdog_) reactor_.cancel(std::exchange(watchdog_, 0));
  finished_.set();
  if (!listener_) return;
  // Served: gone before its listener hears of it, so nothing of it is held after the call.
  ServerOpeningListener& listener = *listener_;
  OpenedStream result = std::move(this->result());
  pending_->remove(*this);
  delete this;
  listener.server_opening_over(result);
}

void Opening::fail(std::string reason) {
  WSP_LOG_DEBUG("WebSocket opening failed: %s", reason.c_str());
  OpenedStream& result = this->result();
  result.ok = false;
  result.error = std::move(reason);
  result.stream.reset();
  complete();
}

io::Task<void> Opening::run_client(WebSocketUrl url, ClientOpeningOptions options) {
  auto addresses = co_await io::resolve(reactor_, url.host, static_cast<std::uint16_t>(url.port));
  if (!addresses) {
    fail("cannot resolve " + url.host);
    co_return;
  }
  std::optional<io::TcpStream> tcp;
  std::string connect_error;
  for (const io::SocketAddress& address : *addresses) {
    auto attempt = co_await io::TcpStream::connect(reactor_, address);
    if (attempt) {
      tcp = std::move(*attempt);
      break;
    }
    connect_error = address.to_string() + ": " + attempt.error().message();
  }
  if (!tcp) {
    fail("cannot connect to " + connect_error);
    co_return;
  }
  std::unique_ptr<io::ByteStream> stream;
  if (url.tls) {
    auto tls_options = options.tls_options ? options.tls_options : tls::TLSOptions::client();
    std::string tls_error;
    // The TLS handshake counts against the opening's own deadline (the watchdog).
    auto secured = co_await tls::TlsStream::connect(std::move(*tcp), url.host, tls_options,
                                                    io::Duration::zero(), &tls_error);
    if (!secured) {
      // The TLS layer's reason is a whole sentence ("TLS handshake failed: ...",
      // "certificate verify failed: ...").
      std::string reason = tls_error.empty() ? secured.error().message() : tls_error;
      if (secured.error() == tls::TlsErrc::not_tls)
        reason += "; perhaps it serves plain ws://, not wss://";
      fail(std::move(reason));
      co_return;
    }
    stream = std::move(*secured);
  } else {
    stream = std::make_unique<io::TcpStream>(std::move(*tcp));
  }
  co_await run_upgrade(std::move(stream), std::move(url), std::move(options));
}

io::Task<void> Opening::run_upgrade(std::unique_ptr<io::ByteStream> stream, WebSocketUrl url,
                                    ClientOpeningOptions options) {
  ClientHandshake handshake(ClientHandshakeOptions{
      .host = url.host,
      .port = url.port,
      .tls = url.tls,
      .path_and_query = url.path_and_query,
      .protocols = options.protocols,
      .extra_headers = options.extra_headers,
      .deflate = options.deflate,
  });
  auto sent = co_await write_text(*stream, handshake.request());
  if (!sent) {
    fail("cannot send the handshake request: " + sent.error().message());
    co_return;
  }
  std::string error;
  HandshakeStatus status = co_await read_handshake(*stream, handshake, result().leftover, error);
  if (status != HandshakeStatus::done) {
    if (handshake.http_status() != 101) result().refusal_status = handshake.http_status();
    fail(error.empty() ? handshake.error() : error);
    co_return;
  }
  OpenedStream& result = this->result();
  result.ok = true;
  result.selected_protocol = handshake.selected_protocol();
  result.deflate = handshake.deflate();
  result.stream = std::move(stream);
  complete();
}

}  // namespace wsp
