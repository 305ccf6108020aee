// TlsStream: a TLS connection over an owned io::TcpStream, on the reactor. It is an
// io::ByteStream, so the WebSocket connection runs over it exactly as over TCP.
//
// All socket I/O goes through the reactor (TcpStream::recv/send_all); BoringSSL only ever sees
// the engine's memory buffers (TlsEngine), so nothing blocks.
//
// Use: one reader and one writer at a time (they may run concurrently: a read that has to send
// something, e.g. a TLS 1.3 KeyUpdate answer, leaves it to a running write or sends it itself).
//
// End of stream: read_some returns 0 only after the peer's close_notify (a clean close). A
// transport EOF without close_notify is the error TlsErrc::truncated ("tls" category), and a
// reset is the errno code (ECONNRESET); see tls_error.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/byte_stream.h"
#include "io/event.h"
#include "io/reactor.h"
#include "io/result.h"
#include "io/task.h"
#include "io/tcp_stream.h"
#include "tls/tls_engine.h"
#include "tls/tls_error.h"
#include "tls/tls_options.h"

namespace tls {

class TlsStream final : public io::ByteStream {
 public:
  // Connects (client side) over `tcp` and completes the handshake within `handshake_timeout`
  // (zero: no limit). On failure `*error` (if given) gets the readable reason.
  static io::Task<io::Result<std::unique_ptr<TlsStream>>> connect(
      io::TcpStream tcp, std::string host, std::shared_ptr<TLSOptions> options,
      io::Duration handshake_timeout, std::string* error = nullptr);
  static io::Task<io::Result<std::unique_ptr<TlsStream>>> accept(
      io::TcpStream tcp, std::shared_ptr<TLSOptions> options, io::Duration handshake_timeout,
      std::string* error = nullptr);

  // Two steps, for callers that keep the stream while it handshakes: make the stream (state()
  // handshaking, or failed for unusable options), then co_await handshake().
  static std::unique_ptr<TlsStream> client(io::TcpStream tcp, std::string host,
                                           std::shared_ptr<TLSOptions> options);
  static std::unique_ptr<TlsStream> server(io::TcpStream tcp, std::shared_ptr<TLSOptions> options);
  io::Task<io::Result<void>> handshake(io::Duration timeout);

  // io::ByteStream
  io::Task<io::Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  // Small pieces are gathered into full 16 KiB records; large ones are sealed in place.
  io::Task<io::Result<void>> write_all(std::span<const iovec> buffers) override;
  // Sends close_notify, then half-closes TCP. Reads go on until the peer's close_notify.
  io::Task<io::Result<void>> shutdown() override;
  void close() override;
  io::Reactor& reactor() override { return tcp_.reactor(); }
  io::TcpStream* tcp() override { return &tcp_; }

  TlsState state() const;
  // The last failure, readable: "certificate verify failed: certificate has expired",
  // "hostname mismatch: the certificate is not valid for 'example.com'", ...
  std::string error() const { return engine_->error(); }
  std::error_code error_code() const { return engine_->error_code(); }
  const TlsEngine& engine() const { return *engine_; }

  ~TlsStream() override;

 private:
  TlsStream(io::TcpStream tcp, std::unique_ptr<TlsEngine> engine);
  // Runs the handshake of a fresh stream; on failure closes it and reports why.
  static io::Task<io::Result<std::unique_ptr<TlsStream>>> finish_handshake(
      std::unique_ptr<TlsStream> stream, io::Duration handshake_timeout, std::string* error);
  io::Task<io::Result<void>> flush();
  io::Result<void> failure(std::error_code fallback) const;

  io::TcpStream tcp_;
  std::unique_ptr<TlsEngine> engine_;
  bool closed_ = false;
  bool flushing_ = false;
  io::Event flushed_;
  std::vector<std::uint8_t> wire_;     // records being sent (swapped with the engine's output)
  std::vector<std::uint8_t> staging_;  // small pieces gathered into one record
};

}  // namespace tls
