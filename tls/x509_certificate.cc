#include "tls/x509_certificate.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls/boringssl.h"
#include "tls/openssl_errors.h"
#include "tls/read_file.h"

namespace tls {

std::shared_ptr<X509Certificate> X509Certificate::load_from_string(std::string_view pem,
                                                                   std::string* error) {
  if (!load_boringssl(error)) return nullptr;
  ERR_clear_error();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  auto cert = std::make_shared<X509Certificate>();
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    cert->chain_.emplace_back(x);
  }
  // The loop ends with PEM_R_NO_START_LINE at the end of the text; anything else is damage.
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (cert->chain_.empty() || (last != 0 && !clean_end)) {
    std::string reason = detail::take_openssl_errors();
    if (error) {
      *error = cert->chain_.empty() && clean_end ? "no certificate found in PEM data"
                                                 : "invalid certificate PEM data: " + reason;
    }
    return nullptr;
  }
  ERR_clear_error();
  return cert;
}

std::shared_ptr<X509Certificate> X509Certificate::load(const std::string& path,
                                                       std::string* error) {
  std::string text, why;
  if (!detail::read_file(path, text, why)) {
    if (error) *error = why;
    return nullptr;
  }
  auto cert = load_from_string(text, &why);
  if (!cert && error) *error = path + ": " + why;
  return cert;
}

std::string X509Certificate::save_to_string() const {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  for (const auto& x : chain_) PEM_write_bio_X509(bio.get(), x.get());
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace tls
