#include "tls/tls_options.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>

#include "tls/boringssl.h"
#include "tls/openssl_errors.h"

namespace tls {

namespace {

// Debian's ca-certificates bundle, and the hashed directory beside it.
constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr const char* kSystemDirectory = "/etc/ssl/certs";

// The system trust store, parsed once per process and shared by every client context.
X509_STORE* system_store(std::string& error) {
  static std::string load_error;
  static X509_STORE* store = [] {
    ERR_clear_error();
    X509_STORE* s = X509_STORE_new();
    if (!X509_STORE_load_locations(s, kSystemBundle, nullptr) &&
        !X509_STORE_load_locations(s, nullptr, kSystemDirectory)) {
      load_error = std::string("cannot load the system trust store (") + kSystemBundle +
                   "): " + detail::take_openssl_errors();
      X509_STORE_free(s);
      return static_cast<X509_STORE*>(nullptr);
    }
    ERR_clear_error();
    return s;
  }();
  error = load_error;
  return store;
}

bssl::UniquePtr<SSL_CTX> new_context() {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  // TLS 1.2 and 1.3 only.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  // Our BIO never blocks on writes, so SSL_write always completes; moving buffers between
  // retries is harmless.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

int select_http11(SSL*, const std::uint8_t** out, std::uint8_t* out_len, const std::uint8_t* in,
                  unsigned in_len, void*) {
  // ALPN: answer "http/1.1" when offered; a client that offers only other protocols still
  // gets a connection (no ALPN in the answer) and the HTTP handshake will tell.
  unsigned i = 0;
  while (i < in_len) {
    unsigned len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *out_len = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

int options_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

int ssl_host_index();  // tls_engine.cc: the host name a client SSL was made for

namespace {

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* options = static_cast<TLSOptions*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), options_index()));
  auto* host = static_cast<const std::string*>(SSL_get_ex_data(ssl, ssl_host_index()));
  if (!options || !host || !options->session_resumption()) return 0;
  options->store_session(*host, bssl::UniquePtr<SSL_SESSION>(session));
  return 1;  // we took the reference
}

}  // namespace

TLSOptions::~TLSOptions() = default;

std::shared_ptr<TLSOptions> TLSOptions::make_client(std::shared_ptr<X509Certificate> trusted_chain,
                                                    std::string common_name_override,
                                                    bool unsafe) {
  auto options = std::make_shared<TLSOptions>();
  options->unsafe_ = unsafe;
  options->common_name_override_ = std::move(common_name_override);
  options->trusted_chain_ = std::move(trusted_chain);
  if (!load_boringssl(&options->error_)) return options;
  auto ctx = new_context();
  if (unsafe) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (options->trusted_chain_) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
      for (const auto& cert : options->trusted_chain_->chain()) X509_STORE_add_cert(store, cert.get());
    } else {
      std::string error;
      X509_STORE* store = system_store(error);
      if (!store) {
        options->error_ = error;
        return options;
      }
      X509_STORE_up_ref(store);
      SSL_CTX_set_cert_store(ctx.get(), store);
    }
  }
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx.get(), on_new_session);
  SSL_CTX_set_ex_data(ctx.get(), options_index(), options.get());
  options->ctx_ = std::move(ctx);
  return options;
}

std::shared_ptr<TLSOptions> TLSOptions::client(std::shared_ptr<X509Certificate> trusted_chain,
                                               std::string common_name_override) {
  return make_client(std::move(trusted_chain), std::move(common_name_override), false);
}

std::shared_ptr<TLSOptions> TLSOptions::client_unsafe(
    std::shared_ptr<X509Certificate> trusted_chain) {
  return make_client(std::move(trusted_chain), "", true);
}

std::shared_ptr<TLSOptions> TLSOptions::server(std::shared_ptr<CryptoKey> key,
                                               std::shared_ptr<X509Certificate> certificate) {
  auto options = std::make_shared<TLSOptions>();
  options->server_ = true;
  options->private_key_ = std::move(key);
  options->own_certificate_ = std::move(certificate);
  if (!load_boringssl(&options->error_)) return options;
  if (!options->private_key_ || !options->private_key_->get()) {
    options->error_ = "server TLS options need a private key";
    return options;
  }
  if (!options->own_certificate_ || options->own_certificate_->size() == 0) {
    options->error_ = "server TLS options need a certificate";
    return options;
  }
  ERR_clear_error();
  auto ctx = new_context();
  const auto& chain = options->own_certificate_->chain();
  bool ok = SSL_CTX_use_certificate(ctx.get(), chain[0].get());
  for (std::size_t i = 1; ok && i < chain.size(); ++i) {
    ok = SSL_CTX_add1_chain_cert(ctx.get(), chain[i].get());
  }
  if (!ok) {
    options->error_ = "unusable server certificate: " + detail::take_openssl_errors();
    return options;
  }
  if (!X509_check_private_key(chain[0].get(), options->private_key_->get())) {
    ERR_clear_error();
    options->error_ = "private key does not match the certificate";
    return options;
  }
  if (!SSL_CTX_use_PrivateKey(ctx.get(), options->private_key_->get())) {
    options->error_ = "unusable private key: " + detail::take_openssl_errors();
    return options;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // TLS 1.2: our order, not the client's. BoringSSL's default list puts AES-128-GCM first where
  // it has AES instructions (then it costs half of ChaCha20-Poly1305, docs/perf.md) and ChaCha20
  // first where it has not. TLS 1.3 has no such switch: on AES hardware BoringSSL takes the
  // client's first suite (a client listing ChaCha20 first likely lacks AES instructions).
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_http11, nullptr);
  // Resumption: BoringSSL's session tickets (keys rotate in memory) and its internal cache.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
  options->ctx_ = std::move(ctx);
  return options;
}

void TLSOptions::set_session_resumption(bool enabled) {
  std::lock_guard lock(sessions_mutex_);
  resumption_ = enabled;
  if (!enabled) sessions_.clear();
}

bool TLSOptions::session_resumption() const {
  std::lock_guard lock(sessions_mutex_);
  return resumption_;
}

bssl::UniquePtr<SSL_SESSION> TLSOptions::find_session(const std::string& host) const {
  std::lock_guard lock(sessions_mutex_);
  if (!resumption_) return nullptr;
  auto it = sessions_.find(host);
  if (it == sessions_.end()) return nullptr;
  SSL_SESSION_up_ref(it->second.get());
  return bssl::UniquePtr<SSL_SESSION>(it->second.get());
}

void TLSOptions::store_session(const std::string& host, bssl::UniquePtr<SSL_SESSION> session) {
  std::lock_guard lock(sessions_mutex_);
  if (!resumption_) return;
  // A small bound: one session per host, a few hundred hosts.
  if (sessions_.size() >= 256 && !sessions_.count(host)) sessions_.erase(sessions_.begin());
  sessions_[host] = std::move(session);
}

}  // namespace tls
