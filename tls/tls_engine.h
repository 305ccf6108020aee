// TlsEngine: TLS without I/O. Ciphertext goes in and out through memory buffers owned by the
// engine (BoringSSL reads and writes them through a small custom BIO); plaintext is read and
// written with plain calls that never block. The owner moves bytes between these buffers and
// the network (TlsStream does it on the reactor; a test can pump two engines into each other).
//
//   receive_space() / commit_received(n) / receive_eof()   ciphertext from the peer
//   lend_input(bytes) ... end_lent_input()                  ... or read in place
//   has_output() / take_output(buffer) / output()          ciphertext for the peer
//   handshake(), read(), write(), close_notify()           the TLS side
//
// Copies: received ciphertext is written by the kernel straight into receive_space(), or lent
// where it already is; BoringSSL copies it into its record buffer, decrypts in place and
// copies plaintext out; outgoing records are sealed by BoringSSL and appended once to the
// output buffer, which is sent as is.
#pragma once

#include <openssl/base.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tls/tls_options.h"

namespace tls {

// How far a TLS session is: handshaking, then connected or failed; closed once the stream
// was shut (see TlsStream::state).
enum class TlsState : std::uint8_t { handshaking, connected, failed, closed };

class TlsEngine {
 public:
  // A client for `host` (a DNS name or an IP literal, "[::1]" accepted). The name checked
  // against the certificate is the options' common_name_override when set, else `host`; SNI is
  // sent for DNS names only (RFC 6066 §3: no IP literals). Invalid or server options give an
  // engine already failed with the reason in error().
  static std::unique_ptr<TlsEngine> client(std::shared_ptr<TLSOptions> options,
                                           std::string_view host);
  static std::unique_ptr<TlsEngine> server(std::shared_ptr<TLSOptions> options);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // --- ciphertext from the peer
  // Free space at the end of the receive buffer, at least `at_least` bytes.
  std::span<std::uint8_t> receive_space(std::size_t at_least = 16 * 1024 + 256);
  void commit_received(std::size_t n);
  void receive(std::span<const std::uint8_t> bytes);  // copies: for tests and byte feeds
  // Ciphertext read where it is, after what the engine holds, until end_lent_input(), which
  // copies in what was not read (a paused reader). `bytes` stay valid until then.
  void lend_input(std::span<const std::uint8_t> bytes);
  void end_lent_input();
  void receive_eof() { eof_ = true; }
  std::size_t buffered_input() const { return in_end_ - in_begin_ + lent_.size(); }
  // Frees the receive buffer when it holds nothing (after a handshake read into a large one).
  void trim_input();

  // --- ciphertext for the peer
  bool has_output() const { return !out_.empty(); }
  std::size_t output_size() const { return out_.size(); }
  const std::vector<std::uint8_t>& output() const { return out_; }
  // Swaps the pending output into `buffer` (cleared first) without copying.
  void take_output(std::vector<std::uint8_t>& buffer);

  // --- TLS
  enum class Progress { done, want_read, failed };
  // Advances the handshake as far as the received bytes allow. On failure state() is failed
  // and error()/error_code() say why (TlsErrc::hostname_mismatch for a certificate valid for
  // another name).
  Progress handshake();

  enum class ReadState { data, want_read, closed, failed };
  struct ReadResult {
    ReadState state;
    std::size_t bytes = 0;
  };
  // Decrypts into `buffer`. `closed` after the peer's close_notify (and for ever after: later
  // records are ignored); `failed` for a truncated stream (TlsErrc::truncated) or a bad record.
  // Reading may produce output (a KeyUpdate answer), sent by the owner like any other.
  ReadResult read(std::span<std::uint8_t> buffer);
  // Encrypts all of `data` into the output (full 16 KiB records for large writes). False after
  // a failure or our close_notify.
  bool write(std::span<const std::uint8_t> data);
  // Queues our close_notify (once).
  void close_notify();
  // TLS 1.3: puts in the output a KeyUpdate that also asks the peer to update its keys (RFC
  // 8446 §4.6.3). False unless connected with TLS 1.3.
  bool request_key_update();

  TlsState state() const { return state_; }
  const std::string& error() const { return error_; }
  std::error_code error_code() const { return error_code_; }
  bool is_server() const { return server_; }
  bool close_notify_sent() const { return close_notify_sent_; }
  bool close_notify_received() const { return close_notify_received_; }
  bool session_reused() const;
  std::string alpn_protocol() const;  // "http/1.1" or ""
  std::string protocol_version() const;  // "TLSv1.3"
  std::string cipher_name() const;       // "TLS_AES_128_GCM_SHA256"
  const std::string& verified_name() const { return name_; }

  // Records a failure from outside (transport error, timeout) so state()/error() tell it.
  void fail(std::error_code code, std::string reason);

 private:
  TlsEngine() = default;
  void init(std::shared_ptr<TLSOptions> options, bool server);
  void handshake_failure(int ssl_error);
  void flush_post_handshake_messages();
  void note_first_bytes(const std::uint8_t* data, std::size_t n);
  bool peer_speaks_tls() const;
  static int bio_read(BIO* bio, char* out, int len);
  static int bio_write(BIO* bio, const char* in, int len);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);
  static const BIO_METHOD* bio_method();

  std::shared_ptr<TLSOptions> options_;
  bssl::UniquePtr<SSL> ssl_;
  bool server_ = false;
  std::string name_;  // the name or address verified, and the session cache key
  TlsState state_ = TlsState::handshaking;
  std::string error_;
  std::error_code error_code_;
  bool eof_ = false;
  bool close_notify_sent_ = false;
  bool close_notify_received_ = false;

  std::vector<std::uint8_t> in_;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::span<const std::uint8_t> lent_;  // read after in_
  // The peer's first bytes, to tell a peer that does not speak TLS from a failed handshake.
  std::uint8_t first_bytes_[5] = {};
  std::size_t first_bytes_seen_ = 0;
  std::vector<std::uint8_t> out_;
};

}  // namespace tls
