#include "tests/tls/test_certs.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace tls::testing {

namespace {

struct Made {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_certs: ") + what);
}

bssl::UniquePtr<EVP_PKEY> new_key() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  check(ec && EC_KEY_generate_key(ec.get()), "EC key generation");
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  check(EVP_PKEY_assign_EC_KEY(key.get(), ec.release()), "EVP_PKEY_assign_EC_KEY");
  return key;
}

void add_name(X509_NAME* name, const char* field, const std::string& value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
        "X509_NAME_add_entry_by_txt");
}

struct Spec {
  std::string common_name;
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  bool is_ca = false;
  long not_before_days = -1;
  long not_after_days = 30;
};

Made make(const Spec& spec, const Made* issuer) {
  Made out;
  out.key = new_key();
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  check(X509_set_version(x, X509_VERSION_3), "version");
  std::uint8_t serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;
  bssl::UniquePtr<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)), "serial");
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_days * 86400L);
  X509_NAME* name = X509_get_subject_name(x);
  add_name(name, "O", "wsp tests");
  add_name(name, "CN", spec.common_name);
  check(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name),
        "issuer");
  check(X509_set_pubkey(x, out.key.get()), "pubkey");

  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  bc->ca = spec.is_ca ? 0xff : 0;
  check(X509_add1_ext_i2d(x, NID_basic_constraints, bc.get(), 1, 0), "basicConstraints");
  bssl::UniquePtr<ASN1_BIT_STRING> usage(ASN1_BIT_STRING_new());
  if (spec.is_ca) {
    ASN1_BIT_STRING_set_bit(usage.get(), 5, 1);  // keyCertSign
    ASN1_BIT_STRING_set_bit(usage.get(), 6, 1);  // cRLSign
  } else {
    ASN1_BIT_STRING_set_bit(usage.get(), 0, 1);  // digitalSignature
  }
  check(X509_add1_ext_i2d(x, NID_key_usage, usage.get(), 1, 0), "keyUsage");
  if (!spec.is_ca) {
    bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
    sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth));
    check(X509_add1_ext_i2d(x, NID_ext_key_usage, eku.get(), 0, 0), "extKeyUsage");
  }

  if (!spec.dns.empty() || !spec.ips.empty()) {
    bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
    for (const auto& dns : spec.dns) {
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_IA5STRING* s = ASN1_IA5STRING_new();
      ASN1_STRING_set(s, dns.data(), static_cast<int>(dns.size()));
      GENERAL_NAME_set0_value(gn, GEN_DNS, s);
      sk_GENERAL_NAME_push(names.get(), gn);
    }
    for (const auto& ip : spec.ips) {
      std::uint8_t raw[16];
      int len = 0;
      if (inet_pton(AF_INET, ip.c_str(), raw) == 1) len = 4;
      else if (inet_pton(AF_INET6, ip.c_str(), raw) == 1) len = 16;
      check(len != 0, "IP SAN");
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(s, raw, len);
      GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
      sk_GENERAL_NAME_push(names.get(), gn);
    }
    check(X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, 0), "subjectAltName");
  }
  EVP_PKEY* signer = issuer ? issuer->key.get() : out.key.get();
  check(X509_sign(x, signer, EVP_sha256()) > 0, "X509_sign");
  return out;
}

std::string bio_text(BIO* bio) {
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  BIO_mem_contents(bio, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  check(bool(out), "writing a PEM file");
}

PemPair save(const Made& made, const std::string& dir, const std::string& stem) {
  PemPair p;
  bssl::UniquePtr<BIO> c(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(c.get(), made.cert.get());
  p.cert = bio_text(c.get());
  bssl::UniquePtr<BIO> k(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(k.get(), made.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  p.key = bio_text(k.get());
  p.cert_file = dir + "/" + stem + ".pem";
  p.key_file = dir + "/" + stem + ".key";
  write_file(p.cert_file, p.cert);
  write_file(p.key_file, p.key);
  return p;
}

TestCertificates make_all() {
  TestCertificates t;
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/wsp-certs-XXXXXX";
  check(mkdtemp(templ.data()) != nullptr, "mkdtemp");
  t.dir = templ;

  Made ca = make({.common_name = "wsp test CA", .dns = {}, .ips = {}, .is_ca = true, .not_after_days = 365}, nullptr);
  Made other_ca =
      make({.common_name = "wsp other CA", .dns = {}, .ips = {}, .is_ca = true, .not_after_days = 365}, nullptr);
  Spec server{.common_name = "localhost",
              .dns = {"localhost"},
              .ips = {"127.0.0.1", "::1"}};
  Spec expired = server;
  expired.not_before_days = -10;
  expired.not_after_days = -1;
  Spec wrong{.common_name = "wrong.example.com", .dns = {"wrong.example.com"}, .ips = {}};
  Spec expired_wrong = wrong;
  expired_wrong.not_before_days = -10;
  expired_wrong.not_after_days = -1;
  Spec cn_only{.common_name = "localhost", .dns = {}, .ips = {}};

  t.ca = save(ca, t.dir, "ca");
  t.other_ca = save(other_ca, t.dir, "other_ca");
  t.server = save(make(server, &ca), t.dir, "server");
  t.expired = save(make(expired, &ca), t.dir, "expired");
  t.wrong_name = save(make(wrong, &ca), t.dir, "wrong_name");
  t.expired_wrong_name = save(make(expired_wrong, &ca), t.dir, "expired_wrong_name");
  t.cn_only = save(make(cn_only, &ca), t.dir, "cn_only");
  t.untrusted = save(make(server, &other_ca), t.dir, "untrusted");
  return t;
}

}  // namespace

const TestCertificates& test_certificates() {
  static const TestCertificates certificates = make_all();
  return certificates;
}

}  // namespace tls::testing
