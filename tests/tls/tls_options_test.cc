// X509Certificate, CryptoKey and TLSOptions: loading PEM material and the factories' getters.
#include <catch2/catch.hpp>

#include "tests/tls/test_certs.h"
#include "tls/crypto_key.h"
#include "tls/tls_options.h"
#include "tls/x509_certificate.h"

using tls::CryptoKey;
using tls::TLSOptions;
using tls::X509Certificate;
using tls::testing::test_certificates;

TEST_CASE("a PEM certificate loads from a string and saves back to the same text") {
  const auto& certs = test_certificates();
  std::string error;
  auto cert = X509Certificate::load_from_string(certs.server.cert, &error);
  REQUIRE(cert);
  CHECK(error.empty());
  CHECK(cert->size() == 1);
  CHECK(cert->save_to_string() == certs.server.cert);
}

TEST_CASE("a PEM chain loads every certificate in order") {
  const auto& certs = test_certificates();
  auto chain = X509Certificate::load_from_string(certs.server.cert + certs.ca.cert);
  REQUIRE(chain);
  CHECK(chain->size() == 2);
  CHECK(chain->save_to_string() == certs.server.cert + certs.ca.cert);
}

TEST_CASE("a certificate loads from a PEM file") {
  auto cert = X509Certificate::load(test_certificates().ca.cert_file);
  REQUIRE(cert);
  CHECK(cert->size() == 1);
}

TEST_CASE("text without a certificate is refused with a readable reason") {
  std::string error;
  CHECK_FALSE(X509Certificate::load_from_string("hello", &error));
  CHECK(error == "no certificate found in PEM data");
}

TEST_CASE("a damaged certificate is refused with a readable reason") {
  std::string pem = test_certificates().server.cert;
  pem[pem.size() / 2] = pem[pem.size() / 2] == 'A' ? 'B' : 'A';
  pem.erase(80, 40);  // cuts the base64 body so the DER cannot parse
  std::string error;
  CHECK_FALSE(X509Certificate::load_from_string(pem, &error));
  CHECK(error.rfind("invalid certificate PEM data: ", 0) == 0);
}

TEST_CASE("a missing certificate file is refused naming the file") {
  std::string error;
  CHECK_FALSE(X509Certificate::load("/nonexistent/cert.pem", &error));
  CHECK(error == "cannot open /nonexistent/cert.pem: No such file or directory");
}

TEST_CASE("a PKCS#8 private key loads from a string and from a file") {
  const auto& certs = test_certificates();
  auto key = CryptoKey::load_from_string(certs.server.key);
  REQUIRE(key);
  CHECK(key->save_to_string() == certs.server.key);
  CHECK(CryptoKey::load(certs.server.key_file));
}

TEST_CASE("text without a private key is refused with a readable reason") {
  std::string error;
  CHECK_FALSE(CryptoKey::load_from_string(test_certificates().server.cert, &error));
  CHECK(error == "no private key found in PEM data");
}

TEST_CASE("server options with a key that does not match the certificate are not valid") {
  const auto& certs = test_certificates();
  auto options = TLSOptions::server(CryptoKey::load_from_string(certs.wrong_name.key),
                                    X509Certificate::load_from_string(certs.server.cert));
  REQUIRE(options);
  CHECK_FALSE(options->valid());
  CHECK(options->error() == "private key does not match the certificate");
}

TEST_CASE("server options without a key or certificate are not valid") {
  auto cert = X509Certificate::load_from_string(test_certificates().server.cert);
  auto no_key = TLSOptions::server(nullptr, cert);
  CHECK_FALSE(no_key->valid());
  CHECK(no_key->error() == "server TLS options need a private key");
  auto no_cert = TLSOptions::server(CryptoKey::load_from_string(test_certificates().server.key),
                                    nullptr);
  CHECK_FALSE(no_cert->valid());
  CHECK(no_cert->error() == "server TLS options need a certificate");
}

TEST_CASE("server options keep their key and certificate") {
  const auto& certs = test_certificates();
  auto key = CryptoKey::load_from_string(certs.server.key);
  auto cert = X509Certificate::load_from_string(certs.server.cert + certs.ca.cert);
  auto options = TLSOptions::server(key, cert);
  CHECK(options->valid());
  CHECK(options->is_server());
  CHECK_FALSE(options->is_unsafe_client());
  CHECK(options->get_private_key() == key);
  CHECK(options->get_own_certificate() == cert);
  CHECK(options->get_trusted_ca_chain() == nullptr);
  CHECK(options->get_common_name_override().empty());
}

TEST_CASE("client options keep their trusted chain and common name override") {
  auto ca = X509Certificate::load_from_string(test_certificates().ca.cert);
  auto options = TLSOptions::client(ca, "example.org");
  CHECK(options->valid());
  CHECK_FALSE(options->is_server());
  CHECK_FALSE(options->is_unsafe_client());
  CHECK(options->get_trusted_ca_chain() == ca);
  CHECK(options->get_common_name_override() == "example.org");
  CHECK(options->get_own_certificate() == nullptr);
  CHECK(options->get_private_key() == nullptr);
}

TEST_CASE("default client options use the system trust store") {
  auto options = TLSOptions::client();
  CHECK(options->valid());
  CHECK(options->error().empty());
  CHECK(options->get_trusted_ca_chain() == nullptr);
}

TEST_CASE("unsafe client options say so") {
  auto options = TLSOptions::client_unsafe();
  CHECK(options->valid());
  CHECK(options->is_unsafe_client());
  CHECK_FALSE(options->is_server());
}
