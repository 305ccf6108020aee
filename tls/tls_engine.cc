#include "tls/tls_engine.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "tls/openssl_errors.h"
#include "tls/tls_error.h"

namespace tls {

// The host name a client SSL was made for (for the client session cache, see tls_options.cc).
int ssl_host_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

namespace {

bool is_ip_literal(const std::string& host) {
  std::uint8_t buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

constexpr std::uint8_t kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

}  // namespace

// --- the BIO: ciphertext buffers owned by the engine -------------------------------------

const BIO_METHOD* TlsEngine::bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsp tls buffers");
    BIO_meth_set_read(m, &TlsEngine::bio_read);
    BIO_meth_set_write(m, &TlsEngine::bio_write);
    BIO_meth_set_ctrl(m, &TlsEngine::bio_ctrl);
    return m;
  }();
  return method;
}

int TlsEngine::bio_read(BIO* bio, char* out, int len) {
  auto* e = static_cast<TlsEngine*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  std::size_t want = static_cast<std::size_t>(len);
  std::size_t available = e->in_end_ - e->in_begin_;
  if (available > 0) {  // the older bytes first
    std::size_t n = std::min(available, want);
    std::memcpy(out, e->in_.data() + e->in_begin_, n);
    e->in_begin_ += n;
    if (e->in_begin_ == e->in_end_) e->in_begin_ = e->in_end_ = 0;
    return static_cast<int>(n);
  }
  if (!e->lent_.empty()) {
    std::size_t n = std::min(e->lent_.size(), want);
    std::memcpy(out, e->lent_.data(), n);
    e->lent_ = e->lent_.subspan(n);
    return static_cast<int>(n);
  }
  if (e->eof_) return 0;
  BIO_set_retry_read(bio);
  return -1;
}

int TlsEngine::bio_write(BIO* bio, const char* in, int len) {
  auto* e = static_cast<TlsEngine*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  // As bytes of the vector's own type: a memmove, not a loop converting char by char.
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(in);
  e->out_.insert(e->out_.end(), bytes, bytes + len);
  return len;
}

long TlsEngine::bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

// --- construction --------------------------------------------------------------------------

std::unique_ptr<TlsEngine> TlsEngine::client(std::shared_ptr<TLSOptions> options,
                                             std::string_view host) {
  std::unique_ptr<TlsEngine> e(new TlsEngine());
  if (!options) {
    e->fail(TlsErrc::invalid_options, "no TLS options");
    return e;
  }
  if (options->is_server()) {
    e->fail(TlsErrc::invalid_options, "server TLS options cannot be used to connect");
    return e;
  }
  std::string target = strip_brackets(host);
  e->name_ = options->get_common_name_override().empty() ? target
                                                          : options->get_common_name_override();
  e->init(std::move(options), false);
  if (!e->ssl_) return e;
  SSL* ssl = e->ssl_.get();
  SSL_set_connect_state(ssl);
  SSL_set_ex_data(ssl, ssl_host_index(), &e->name_);
  bool ip = is_ip_literal(e->name_);
  if (!ip && !e->name_.empty()) SSL_set_tlsext_host_name(ssl, e->name_.c_str());
  SSL_set_alpn_protos(ssl, kAlpnHttp11, sizeof kAlpnHttp11);
  if (!e->options_->is_unsafe_client()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, e->name_.c_str())
                : X509_VERIFY_PARAM_set1_host(param, e->name_.data(), e->name_.size());
    if (!ok || e->name_.empty()) {
      e->fail(TlsErrc::invalid_options, "invalid host name for verification: '" + e->name_ + "'");
      return e;
    }
  }
  if (auto session = e->options_->find_session(e->name_)) SSL_set_session(ssl, session.get());
  return e;
}

std::unique_ptr<TlsEngine> TlsEngine::server(std::shared_ptr<TLSOptions> options) {
  std::unique_ptr<TlsEngine> e(new TlsEngine());
  if (!options) {
    e->fail(TlsErrc::invalid_options, "no TLS options");
    return e;
  }
  if (!options->is_server()) {
    e->fail(TlsErrc::invalid_options, "client TLS options cannot be used to accept");
    return e;
  }
  e->init(std::move(options), true);
  if (e->ssl_) SSL_set_accept_state(e->ssl_.get());
  return e;
}

void TlsEngine::init(std::shared_ptr<TLSOptions> options, bool server) {
  options_ = std::move(options);
  server_ = server;
  if (!options_->valid()) {
    fail(TlsErrc::invalid_options, "invalid TLS options: " + options_->error());
    return;
  }
  ssl_.reset(SSL_new(options_->context()));
  BIO* bio = BIO_new(bio_method());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one reference for both directions
}

TlsEngine::~TlsEngine() = default;

// --- buffers -------------------------------------------------------------------------------

std::span<std::uint8_t> TlsEngine::receive_space(std::size_t at_least) {
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (in_.size() - in_end_ < at_least) {
    if (in_begin_ > 0) {  // compact: the unread tail moves to the front
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < at_least) in_.resize(in_end_ + at_least);
  }
  return {in_.data() + in_end_, in_.size() - in_end_};
}

void TlsEngine::commit_received(std::size_t n) {
  if (first_bytes_seen_ < sizeof first_bytes_) note_first_bytes(in_.data() + in_end_, n);
  in_end_ += n;
}

void TlsEngine::note_first_bytes(const std::uint8_t* data, std::size_t n) {
  const std::size_t take = std::min(n, sizeof first_bytes_ - first_bytes_seen_);
  std::memcpy(first_bytes_ + first_bytes_seen_, data, take);
  first_bytes_seen_ += take;
}

// A TLS record starts with a content type of 20-24 and a major version of 3 (RFC 8446 §5.1);
// anything else ("HTTP/1.1 400", "GET / HTTP/1.1") is a peer speaking something else.
bool TlsEngine::peer_speaks_tls() const {
  if (first_bytes_seen_ == 0) return true;  // nothing seen: nothing to say
  if (first_bytes_[0] < 20 || first_bytes_[0] > 24) return false;
  return first_bytes_seen_ < 2 || first_bytes_[1] == 3;
}

void TlsEngine::receive(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  auto space = receive_space(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  commit_received(bytes.size());
}

void TlsEngine::lend_input(std::span<const std::uint8_t> bytes) {
  if (first_bytes_seen_ < sizeof first_bytes_) note_first_bytes(bytes.data(), bytes.size());
  lent_ = bytes;
}

void TlsEngine::end_lent_input() {
  std::span<const std::uint8_t> rest = lent_;
  lent_ = {};
  receive(rest);
}

void TlsEngine::trim_input() {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    std::vector<std::uint8_t>().swap(in_);
  }
}

void TlsEngine::take_output(std::vector<std::uint8_t>& buffer) {
  buffer.clear();
  buffer.swap(out_);
}

// --- TLS -----------------------------------------------------------------------------------

void TlsEngine::fail(std::error_code code, std::string reason) {
  if (state_ == TlsState::failed) return;  // first wins
  error_code_ = code;
  error_ = std::move(reason);
  state_ = TlsState::failed;
}

TlsEngine::Progress TlsEngine::handshake() {
  if (state_ == TlsState::connected) return Progress::done;
  if (state_ != TlsState::handshaking) return Progress::failed;
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    state_ = TlsState::connected;
    return Progress::done;
  }
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ && !eof_) return Progress::want_read;
  handshake_failure(err);
  return Progress::failed;
}

void TlsEngine::handshake_failure(int ssl_error) {
  std::string detail = detail::take_openssl_errors();
  // The verify result means something only when verification is what failed.
  long verify = !server_ && detail == "CERTIFICATE_VERIFY_FAILED"
                    ? SSL_get_verify_result(ssl_.get())
                    : X509_V_OK;
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    fail(TlsErrc::hostname_mismatch,
         "hostname mismatch: the certificate is not valid for '" + name_ + "'");
  } else if (verify != X509_V_OK) {
    fail(TlsErrc::certificate_verify_failed,
         std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify));
  } else if (!peer_speaks_tls()) {
    // BoringSSL says WRONG_VERSION_NUMBER or HTTP_REQUEST: say what it means.
    const std::string_view first(reinterpret_cast<const char*>(first_bytes_), first_bytes_seen_);
    const bool http = first == "HTTP/" || detail == "HTTP_REQUEST" || detail == "HTTPS_PROXY_REQUEST";
    if (server_) {
      fail(TlsErrc::not_tls, http ? "TLS handshake failed: the client sent plain HTTP, not TLS"
                                  : "TLS handshake failed: the client does not speak TLS");
    } else {
      fail(TlsErrc::not_tls, http ? "TLS handshake failed: the server answered in plain HTTP, not TLS"
                                  : "TLS handshake failed: the server did not answer in TLS");
    }
  } else if (ssl_error == SSL_ERROR_SYSCALL || (eof_ && detail.empty()) ||
             detail.find("UNEXPECTED_EOF") != std::string::npos) {
    fail(TlsErrc::handshake_failed, "TLS handshake failed: the peer closed the connection");
  } else {
    fail(TlsErrc::handshake_failed,
         "TLS handshake failed: " + (detail.empty() ? std::string("unknown error") : detail));
  }
}

TlsEngine::ReadResult TlsEngine::read(std::span<std::uint8_t> buffer) {
  if (close_notify_received_) return {ReadState::closed};
  if (state_ != TlsState::connected) {
    if (state_ == TlsState::handshaking) {
      auto p = handshake();
      if (p == Progress::want_read) return {ReadState::want_read};
      if (p == Progress::failed) return {ReadState::failed};
    } else {
      return {ReadState::failed};
    }
  }
  ERR_clear_error();
  int len = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
  int rc = SSL_read(ssl_.get(), buffer.data(), len);
  if (rc > 0) return {ReadState::data, static_cast<std::size_t>(rc)};
  int err = SSL_get_error(ssl_.get(), rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      if (!eof_) {
        flush_post_handshake_messages();
        return {ReadState::want_read};
      }
      [[fallthrough]];
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      fail(TlsErrc::truncated, "TLS stream truncated: the peer closed the connection without close_notify");
      return {ReadState::failed};
    case SSL_ERROR_ZERO_RETURN:
      close_notify_received_ = true;
      return {ReadState::closed};
    default: {
      std::string detail = detail::take_openssl_errors();
      fail(TlsErrc::protocol_error, "TLS protocol error: " + (detail.empty() ? "unknown" : detail));
      return {ReadState::failed};
    }
  }
}

void TlsEngine::flush_post_handshake_messages() {
  // BoringSSL holds a KeyUpdate (ours, or the answer to the peer's update_requested, RFC 8446
  // §4.6.3) until the next SSL_write; an empty one puts it in the output now, so a side that
  // only reads answers too. Nothing is written when nothing is pending (about 80 ns).
  if (close_notify_sent_) return;
  ERR_clear_error();
  SSL_write(ssl_.get(), "", 0);
  ERR_clear_error();
}

bool TlsEngine::write(std::span<const std::uint8_t> data) {
  if (state_ != TlsState::connected || close_notify_sent_) return false;
  while (!data.empty()) {
    ERR_clear_error();
    int len = static_cast<int>(std::min<std::size_t>(data.size(), 1u << 30));
    int rc = SSL_write(ssl_.get(), data.data(), len);
    if (rc <= 0) {
      std::string detail = detail::take_openssl_errors();
      fail(TlsErrc::protocol_error, "TLS write failed: " + (detail.empty() ? "unknown" : detail));
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(rc));
  }
  return true;
}

void TlsEngine::close_notify() {
  if (close_notify_sent_ || !ssl_) return;
  close_notify_sent_ = true;
  if (state_ != TlsState::connected) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // 0: ours is queued, the peer's not seen yet; both are fine
  ERR_clear_error();
}

bool TlsEngine::request_key_update() {
  if (state_ != TlsState::connected || close_notify_sent_) return false;
  ERR_clear_error();
  bool ok = SSL_key_update(ssl_.get(), SSL_KEY_UPDATE_REQUESTED) == 1;
  ERR_clear_error();
  if (ok) flush_post_handshake_messages();
  return ok;
}

bool TlsEngine::session_reused() const { return ssl_ && SSL_session_reused(ssl_.get()); }

std::string TlsEngine::alpn_protocol() const {
  if (!ssl_) return {};
  const std::uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string TlsEngine::protocol_version() const {
  return ssl_ ? SSL_get_version(ssl_.get()) : "";
}

}  // namespace tls

namespace tls {

std::string TlsEngine::cipher_name() const {
  const SSL_CIPHER* cipher = ssl_ ? SSL_get_current_cipher(ssl_.get()) : nullptr;
  return cipher ? SSL_CIPHER_standard_name(cipher) : "";
}

}  // namespace tls
