// CryptoKey: a private key (RSA, ECDSA or Ed25519) loaded from PEM, shared by reference.
#pragma once

#include <openssl/base.h>

#include <memory>
#include <string>
#include <string_view>

namespace tls {

class CryptoKey {
 public:
  // PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), unencrypted.
  // nullptr on failure with a readable reason in `*error`.
  static std::shared_ptr<CryptoKey> load_from_string(std::string_view pem,
                                                     std::string* error = nullptr);
  static std::shared_ptr<CryptoKey> load(const std::string& path, std::string* error = nullptr);
  // Takes ownership of `key`.
  static std::shared_ptr<CryptoKey> adopt(bssl::UniquePtr<EVP_PKEY> key);

  std::string save_to_string() const;  // PKCS#8 PEM
  EVP_PKEY* get() const { return key_.get(); }

 private:
  bssl::UniquePtr<EVP_PKEY> key_;
};

}  // namespace tls
