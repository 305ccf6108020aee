// Test certificates made at test time with BoringSSL (ECDSA P-256, SHA-256), once per process,
// never committed: a test CA, server certificates it signs, and one from another CA. Each has
// PEM strings and files in a temporary directory (for peers such as Python's ssl module).
#pragma once

#include <string>

namespace tls::testing {

struct PemPair {
  std::string cert;       // PEM
  std::string key;        // PEM (PKCS#8)
  std::string cert_file;  // paths of the same, in dir
  std::string key_file;
};

struct TestCertificates {
  std::string dir;
  PemPair ca;            // "wsp test CA", CA:TRUE
  PemPair server;        // CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, signed by ca
  PemPair expired;       // like server, valid from 10 days ago until yesterday
  PemPair wrong_name;    // CN/SAN wrong.example.com, signed by ca
  PemPair expired_wrong_name;  // like wrong_name, valid from 10 days ago until yesterday
  PemPair cn_only;       // CN=localhost and no SAN at all, signed by ca
  PemPair other_ca;      // a second CA, not trusted by the tests
  PemPair untrusted;     // like server, but signed by other_ca
};

// Made on first use (thread-safe); files under $TEST_TMPDIR (or /tmp).
const TestCertificates& test_certificates();

}  // namespace tls::testing
