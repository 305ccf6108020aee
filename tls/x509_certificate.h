// X509Certificate: one certificate or a chain (leaf first), loaded from PEM and shared through
// std::shared_ptr.
#pragma once

#include <openssl/base.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tls {

class X509Certificate {
 public:
  // Every CERTIFICATE block of the PEM text, in order. nullptr on failure, with a readable
  // reason in `*error` ("no certificate found in PEM data", "cannot open f.pem: ...").
  static std::shared_ptr<X509Certificate> load_from_string(std::string_view pem,
                                                           std::string* error = nullptr);
  static std::shared_ptr<X509Certificate> load(const std::string& path,
                                                std::string* error = nullptr);

  std::string save_to_string() const;                 // the chain as PEM
  std::size_t size() const { return chain_.size(); }  // certificates in the chain, >= 1
  X509* leaf() const { return chain_.front().get(); }
  const std::vector<bssl::UniquePtr<X509>>& chain() const { return chain_; }

 private:
  std::vector<bssl::UniquePtr<X509>> chain_;
};

}  // namespace tls
