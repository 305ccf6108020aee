#include "tls/crypto_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tls/boringssl.h"
#include "tls/openssl_errors.h"
#include "tls/read_file.h"

namespace tls {

std::shared_ptr<CryptoKey> CryptoKey::load_from_string(std::string_view pem, std::string* error) {
  if (!load_boringssl(error)) return nullptr;
  ERR_clear_error();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    unsigned long e = ERR_peek_last_error();
    bool none = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    std::string reason = detail::take_openssl_errors();
    if (error) *error = none ? "no private key found in PEM data" : "invalid private key: " + reason;
    return nullptr;
  }
  return adopt(std::move(key));
}

std::shared_ptr<CryptoKey> CryptoKey::load(const std::string& path, std::string* error) {
  std::string text, why;
  if (!detail::read_file(path, text, why)) {
    if (error) *error = why;
    return nullptr;
  }
  auto key = load_from_string(text, &why);
  if (!key && error) *error = path + ": " + why;
  return key;
}

std::shared_ptr<CryptoKey> CryptoKey::adopt(bssl::UniquePtr<EVP_PKEY> key) {
  auto out = std::make_shared<CryptoKey>();
  out->key_ = std::move(key);
  return out;
}

std::string CryptoKey::save_to_string() const {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace tls
