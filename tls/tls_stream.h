// TlsStream: a TLS connection over an owned io::TcpStream, on the reactor. It is an
// io::ByteStream, so a consumer written against that interface runs over it as over TCP.
//
// All socket I/O goes through the reactor; BoringSSL only ever sees the engine's memory buffers
// (TlsEngine), so nothing blocks. Two ways to use it, one at a time:
//
// - Pull (read_some, write_all): coroutines; the handshake uses it, and so may a caller before
//   push I/O starts. One reader and one writer at a time (they may run concurrently: a read
//   that has to send something, e.g. a TLS 1.3 KeyUpdate answer, leaves it to a running write
//   or sends it itself).
// - Push (start_receiving, start_write), on top of the TcpStream's own push I/O and with no
//   task of its own: a ciphertext chunk pushed in by TCP is decrypted where it lies (in the
//   reactor's receive ring) and handed on in the same ready-list call, a record's plaintext per
//   on_received call. A handler that returns false pauses it and the TCP receive; what
//   arrived meanwhile waits in the engine until resume_receiving. A write is sealed into full
//   16 KiB records (small pieces gathered into one record), once each, and sent with one TCP
//   write per batch of up to 256 KiB; the handler hears of it (on_written) from the ready list once
//   the last record is on the wire. What the engine must send while reading (a KeyUpdate
//   answer) follows the write in flight, in order. shutdown() works after push I/O.
//
// End of stream: read_some returns 0, and on_receive_end gets an empty error, only after the
// peer's close_notify (a clean close). A transport EOF without close_notify is the error
// TlsErrc::truncated ("tls" category), and a reset is the errno code (ECONNRESET); see
// tls_error.h.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "io/byte_stream.h"
#include "io/event.h"
#include "io/reactor.h"
#include "io/ready_list.h"
#include "io/result.h"
#include "io/task.h"
#include "io/tcp_stream.h"
#include "tls/tls_engine.h"
#include "tls/tls_error.h"
#include "tls/tls_options.h"

namespace tls {

class TlsStream final : public io::ByteStream, private io::StreamHandler {  // for tcp_'s push I/O
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
  void start_receiving(io::StreamHandler& handler) override;
  void resume_receiving() override;
  void start_write(std::span<const iovec> buffers, io::StreamHandler& handler) override;
  void stop_io() override;

  // TLS 1.3: updates our keys and asks the peer to update its own (RFC 8446 §4.6.3); the
  // KeyUpdate goes out with the next write. False unless connected with TLS 1.3.
  bool request_key_update() { return engine_->request_key_update(); }

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
  // Sends everything the engine has to send (after a push write in flight, if any).
  io::Task<io::Result<void>> flush();
  io::Result<void> failure(std::error_code fallback) const;
  // Seals from `rest` (its first `offset` bytes already sealed) until the engine holds a batch
  // to send or `rest` is used up; false when the engine failed.
  bool seal_some(std::span<const iovec>& rest, std::size_t& offset);

  // --- push I/O
  // tcp_'s handlers: ciphertext in, and the end of a TCP write.
  bool on_received(std::span<const std::uint8_t> data) override;
  void on_receive_end(std::error_code error) override;
  void on_written(std::error_code error) override;
  // Decrypts what the engine holds, then `ciphertext`, and hands the plaintext to receiver_ a
  // record at a time until it pauses, more ciphertext is needed or the stream ends; whether
  // TCP should go on receiving. May destroy this object.
  bool deliver(std::span<const std::uint8_t> ciphertext);
  void end_receiving(std::error_code error);
  // Starts a TCP write of the engine's output unless one is in flight.
  void send_output();
  // Tells writer_ its write ended; false when the handler destroyed this object.
  bool finish_write(std::error_code error);
  void run_due_work();

  io::TcpStream tcp_;
  std::unique_ptr<TlsEngine> engine_;
  bool closed_ = false;
  bool flushing_ = false;  // a pull flush is sending
  io::Event flushed_;      // a send ended (pull or push)
  std::vector<std::uint8_t> wire_;  // records being sent (swapped with the engine's output)

  io::StreamHandler* receiver_ = nullptr;
  io::StreamHandler* writer_ = nullptr;
  std::span<const iovec> write_rest_;  // plaintext of writer_'s write not sealed yet
  std::size_t write_offset_ = 0;       // bytes of write_rest_[0] already sealed
  std::vector<iovec> write_iovecs_;    // the rest of a write too large for one batch
  std::error_code write_error_;        // a failed TCP write: the stream cannot write again
  std::error_code due_write_error_;
  std::error_code tcp_end_error_;      // how TCP ended (if it did): empty for EOF
  bool receive_paused_ = false;
  bool receive_ended_ = false;
  bool tcp_ended_ = false;
  bool tcp_writing_ = false;          // wire_ is being written by tcp_'s push I/O
  bool wire_ends_write_ = false;      // ... and holds the end of writer_'s write
  bool due_delivery_ = false;
  bool due_write_end_ = false;
  io::CallbackNode<TlsStream, &TlsStream::run_due_work> work_node_{this};
};

}  // namespace tls
