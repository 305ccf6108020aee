// TLSOptions: how one side of a TLS connection is configured, made only by its factories. Each
// holds a ready BoringSSL context (SSL_CTX) shared by every connection made with it, so trust
// anchors are parsed once, and (client side) a session cache for resumption keyed by host name.
#pragma once

#include <openssl/base.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "tls/crypto_key.h"
#include "tls/x509_certificate.h"

namespace tls {

class TLSOptions {
 public:
  // Verifies the chain against `trusted_chain` (the system trust store, Debian ca-certificates'
  // /etc/ssl/certs/ca-certificates.crt, when null) and the host name, or `common_name_override`
  // when not empty, against the certificate.
  static std::shared_ptr<TLSOptions> client(std::shared_ptr<X509Certificate> trusted_chain = nullptr,
                                            std::string common_name_override = "");
  // Verifies nothing: any certificate for any name is accepted.
  static std::shared_ptr<TLSOptions> client_unsafe(
      std::shared_ptr<X509Certificate> trusted_chain = nullptr);
  // `certificate` may be a chain (leaf first). A missing key or certificate, or a key that does
  // not match the certificate, gives options that are not valid() with a readable error().
  // TLS 1.2 ciphers are chosen in the server's order: AES-128-GCM first where BoringSSL has AES
  // instructions, ChaCha20-Poly1305 first where it has not.
  static std::shared_ptr<TLSOptions> server(std::shared_ptr<CryptoKey> key,
                                            std::shared_ptr<X509Certificate> certificate);

  const std::string& get_common_name_override() const { return common_name_override_; }
  const std::shared_ptr<X509Certificate>& get_own_certificate() const { return own_certificate_; }
  const std::shared_ptr<CryptoKey>& get_private_key() const { return private_key_; }
  const std::shared_ptr<X509Certificate>& get_trusted_ca_chain() const { return trusted_chain_; }
  bool is_server() const { return server_; }
  bool is_unsafe_client() const { return unsafe_; }

  // Whether connections can be made with these options; error() says why not
  // ("private key does not match the certificate").
  bool valid() const { return ctx_ != nullptr; }
  const std::string& error() const { return error_; }

  // Client session resumption (TLS 1.3 tickets, TLS 1.2 tickets/ids), on by default.
  void set_session_resumption(bool enabled);
  bool session_resumption() const;

  // For TlsEngine.
  SSL_CTX* context() const { return ctx_.get(); }
  bssl::UniquePtr<SSL_SESSION> find_session(const std::string& host) const;
  void store_session(const std::string& host, bssl::UniquePtr<SSL_SESSION> session);

  TLSOptions() = default;  // use the factories
  TLSOptions(const TLSOptions&) = delete;
  TLSOptions& operator=(const TLSOptions&) = delete;
  ~TLSOptions();

 private:
  static std::shared_ptr<TLSOptions> make_client(std::shared_ptr<X509Certificate> trusted_chain,
                                                 std::string common_name_override, bool unsafe);

  bool server_ = false;
  bool unsafe_ = false;
  std::string common_name_override_;
  std::shared_ptr<X509Certificate> trusted_chain_;
  std::shared_ptr<X509Certificate> own_certificate_;
  std::shared_ptr<CryptoKey> private_key_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  std::string error_;

  mutable std::mutex sessions_mutex_;
  bool resumption_ = true;
  std::map<std::string, bssl::UniquePtr<SSL_SESSION>> sessions_;
};

}  // namespace tls
