#include "tls/boringssl.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

// Every BoringSSL function tls/ calls, with its signature: each line defines the function under its
// own name, forwarding to the loaded library. The compiler checks each signature against
// BoringSSL's declaration (a C function cannot be declared twice with different types), and a
// function tls/ starts to use without a line here is an undefined symbol at link time.
#define WSP_BORINGSSL_FUNCTIONS(X)                                                                 \
  X(void, BIO_clear_retry_flags, (BIO * p0), (p0))                                                 \
  X(int, BIO_free, (BIO * p0), (p0))                                                               \
  X(void*, BIO_get_data, (BIO * p0), (p0))                                                         \
  X(int, BIO_get_new_index, (), ())                                                                \
  X(int, BIO_mem_contents, (const BIO* p0, const uint8_t** p1, size_t* p2), (p0, p1, p2))          \
  X(BIO_METHOD*, BIO_meth_new, (int p0, const char* p1), (p0, p1))                                 \
  X(int, BIO_meth_set_ctrl, (BIO_METHOD * p0, long (*p1)(BIO*, int, long, void*)), (p0, p1))       \
  X(int, BIO_meth_set_read, (BIO_METHOD * p0, int (*p1)(BIO*, char*, int)), (p0, p1))              \
  X(int, BIO_meth_set_write, (BIO_METHOD * p0, int (*p1)(BIO*, const char*, int)), (p0, p1))       \
  X(BIO*, BIO_new, (const BIO_METHOD* p0), (p0))                                                   \
  X(BIO*, BIO_new_mem_buf, (const void* p0, int p1), (p0, p1))                                     \
  X(const BIO_METHOD*, BIO_s_mem, (), ())                                                          \
  X(void, BIO_set_data, (BIO * p0, void* p1), (p0, p1))                                            \
  X(void, BIO_set_init, (BIO * p0, int p1), (p0, p1))                                              \
  X(void, BIO_set_retry_read, (BIO * p0), (p0))                                                    \
  X(void, ERR_clear_error, (), ())                                                                 \
  X(uint32_t, ERR_get_error, (), ())                                                               \
  X(uint32_t, ERR_peek_last_error, (), ())                                                         \
  X(const char*, ERR_reason_error_string, (uint32_t p0), (p0))                                     \
  X(void, EVP_PKEY_free, (EVP_PKEY * p0), (p0))                                                    \
  X(EVP_PKEY*, PEM_read_bio_PrivateKey,                                                            \
    (BIO * p0, EVP_PKEY * *p1, pem_password_cb * p2, void* p3), (p0, p1, p2, p3))                  \
  X(X509*, PEM_read_bio_X509, (BIO * p0, X509 * *p1, pem_password_cb * p2, void* p3),              \
    (p0, p1, p2, p3))                                                                              \
  X(int, PEM_write_bio_PrivateKey,                                                                 \
    (BIO * p0, EVP_PKEY * p1, const EVP_CIPHER* p2, unsigned char* p3, int p4,                     \
     pem_password_cb* p5, void* p6),                                                               \
    (p0, p1, p2, p3, p4, p5, p6))                                                                  \
  X(int, PEM_write_bio_X509, (BIO * p0, X509 * p1), (p0, p1))                                      \
  X(const char*, SSL_CIPHER_standard_name, (const SSL_CIPHER* p0), (p0))                           \
  X(int, SSL_CTX_add1_chain_cert, (SSL_CTX * p0, X509 * p1), (p0, p1))                             \
  X(void, SSL_CTX_free, (SSL_CTX * p0), (p0))                                                      \
  X(X509_STORE*, SSL_CTX_get_cert_store, (const SSL_CTX* p0), (p0))                                \
  X(void*, SSL_CTX_get_ex_data, (const SSL_CTX* p0, int p1), (p0, p1))                             \
  X(int, SSL_CTX_get_ex_new_index,                                                                 \
    (long p0, void* p1, CRYPTO_EX_unused* p2, CRYPTO_EX_dup* p3, CRYPTO_EX_free* p4),              \
    (p0, p1, p2, p3, p4))                                                                          \
  X(SSL_CTX*, SSL_CTX_new, (const SSL_METHOD* p0), (p0))                                           \
  X(void, SSL_CTX_sess_set_new_cb, (SSL_CTX * p0, int (*p1)(SSL*, SSL_SESSION*)), (p0, p1))        \
  X(void, SSL_CTX_set_alpn_select_cb,                                                              \
    (SSL_CTX * p0, int (*p1)(SSL*, const uint8_t**, uint8_t*, const uint8_t*, unsigned, void*),    \
     void* p2),                                                                                    \
    (p0, p1, p2))                                                                                  \
  X(void, SSL_CTX_set_cert_store, (SSL_CTX * p0, X509_STORE * p1), (p0, p1))                       \
  X(int, SSL_CTX_set_ex_data, (SSL_CTX * p0, int p1, void* p2), (p0, p1, p2))                      \
  X(int, SSL_CTX_set_max_proto_version, (SSL_CTX * p0, uint16_t p1), (p0, p1))                     \
  X(int, SSL_CTX_set_min_proto_version, (SSL_CTX * p0, uint16_t p1), (p0, p1))                     \
  X(uint32_t, SSL_CTX_set_mode, (SSL_CTX * p0, uint32_t p1), (p0, p1))                             \
  X(uint32_t, SSL_CTX_set_options, (SSL_CTX * p0, uint32_t p1), (p0, p1))                          \
  X(int, SSL_CTX_set_session_cache_mode, (SSL_CTX * p0, int p1), (p0, p1))                         \
  X(void, SSL_CTX_set_verify, (SSL_CTX * p0, int p1, int (*p2)(int, X509_STORE_CTX*)),             \
    (p0, p1, p2))                                                                                  \
  X(int, SSL_CTX_use_PrivateKey, (SSL_CTX * p0, EVP_PKEY * p1), (p0, p1))                          \
  X(int, SSL_CTX_use_certificate, (SSL_CTX * p0, X509 * p1), (p0, p1))                             \
  X(void, SSL_SESSION_free, (SSL_SESSION * p0), (p0))                                              \
  X(int, SSL_SESSION_up_ref, (SSL_SESSION * p0), (p0))                                             \
  X(int, SSL_do_handshake, (SSL * p0), (p0))                                                       \
  X(void, SSL_free, (SSL * p0), (p0))                                                              \
  X(void, SSL_get0_alpn_selected, (const SSL* p0, const uint8_t** p1, unsigned* p2), (p0, p1, p2)) \
  X(X509_VERIFY_PARAM*, SSL_get0_param, (SSL * p0), (p0))                                          \
  X(SSL_CTX*, SSL_get_SSL_CTX, (const SSL* p0), (p0))                                              \
  X(const SSL_CIPHER*, SSL_get_current_cipher, (const SSL* p0), (p0))                              \
  X(int, SSL_get_error, (const SSL* p0, int p1), (p0, p1))                                         \
  X(void*, SSL_get_ex_data, (const SSL* p0, int p1), (p0, p1))                                     \
  X(int, SSL_get_ex_new_index,                                                                     \
    (long p0, void* p1, CRYPTO_EX_unused* p2, CRYPTO_EX_dup* p3, CRYPTO_EX_free* p4),              \
    (p0, p1, p2, p3, p4))                                                                          \
  X(long, SSL_get_verify_result, (const SSL* p0), (p0))                                            \
  X(const char*, SSL_get_version, (const SSL* p0), (p0))                                           \
  X(int, SSL_key_update, (SSL * p0, int p1), (p0, p1))                                             \
  X(SSL*, SSL_new, (SSL_CTX * p0), (p0))                                                           \
  X(int, SSL_read, (SSL * p0, void* p1, int p2), (p0, p1, p2))                                     \
  X(int, SSL_session_reused, (const SSL* p0), (p0))                                                \
  X(void, SSL_set_accept_state, (SSL * p0), (p0))                                                  \
  X(int, SSL_set_alpn_protos, (SSL * p0, const uint8_t* p1, unsigned p2), (p0, p1, p2))            \
  X(void, SSL_set_bio, (SSL * p0, BIO * p1, BIO * p2), (p0, p1, p2))                               \
  X(void, SSL_set_connect_state, (SSL * p0), (p0))                                                 \
  X(int, SSL_set_ex_data, (SSL * p0, int p1, void* p2), (p0, p1, p2))                              \
  X(int, SSL_set_session, (SSL * p0, SSL_SESSION * p1), (p0, p1))                                  \
  X(int, SSL_set_tlsext_host_name, (SSL * p0, const char* p1), (p0, p1))                           \
  X(int, SSL_shutdown, (SSL * p0), (p0))                                                           \
  X(int, SSL_write, (SSL * p0, const void* p1, int p2), (p0, p1, p2))                              \
  X(const SSL_METHOD*, TLS_method, (), ())                                                         \
  X(int, X509_STORE_add_cert, (X509_STORE * p0, X509 * p1), (p0, p1))                              \
  X(void, X509_STORE_free, (X509_STORE * p0), (p0))                                                \
  X(int, X509_STORE_load_locations, (X509_STORE * p0, const char* p1, const char* p2),             \
    (p0, p1, p2))                                                                                  \
  X(X509_STORE*, X509_STORE_new, (), ())                                                           \
  X(int, X509_STORE_up_ref, (X509_STORE * p0), (p0))                                               \
  X(int, X509_VERIFY_PARAM_set1_host, (X509_VERIFY_PARAM * p0, const char* p1, size_t p2),         \
    (p0, p1, p2))                                                                                  \
  X(int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM * p0, const char* p1), (p0, p1))        \
  X(int, X509_check_private_key, (X509 * p0, const EVP_PKEY* p1), (p0, p1))                        \
  X(void, X509_free, (X509 * p0), (p0))                                                            \
  X(const char*, X509_verify_cert_error_string, (long p0), (p0))

namespace {

// The loaded functions, written once by the loading and read by the forwarders.
#define WSP_BORINGSSL_POINTER(ret, name, params, args) \
  std::atomic<decltype(&::name)> loaded_##name{nullptr};
WSP_BORINGSSL_FUNCTIONS(WSP_BORINGSSL_POINTER)
#undef WSP_BORINGSSL_POINTER

// A call that comes before any of tls/'s entry points (a program that calls BoringSSL itself also
// reaches these forwarders) loads the library then; one that cannot is a broken install.
template <typename Function>
Function load_for_call(std::atomic<Function>& loaded, const char* name) {
  std::string why;
  if (!tls::load_boringssl(&why)) {
    std::fprintf(stderr, "wsp: %s called, but %s\n", name, why.c_str());
    std::abort();
  }
  return loaded.load(std::memory_order_acquire);
}

}  // namespace

#define WSP_BORINGSSL_FORWARDER(ret, name, params, args)            \
  extern "C" ret name params {                                      \
    auto* function = loaded_##name.load(std::memory_order_acquire); \
    if (!function) function = load_for_call(loaded_##name, #name);  \
    return function args;                                           \
  }
WSP_BORINGSSL_FUNCTIONS(WSP_BORINGSSL_FORWARDER)
#undef WSP_BORINGSSL_FORWARDER

namespace tls {

namespace detail {

bool load_boringssl_from(const std::string& directory, std::string* error) {
  // libssl's run path names the directory of its libcrypto, which it loads with it. Never unloaded:
  // the forwarders point into it for the rest of the process.
  std::string path = directory + "/libssl.so.0";
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    if (error) *error = std::string("cannot load BoringSSL: ") + dlerror();
    return false;
  }
#define WSP_BORINGSSL_RESOLVE(ret, name, params, args)                                           \
  if (void* symbol = dlsym(library, #name)) {                                                    \
    loaded_##name.store(reinterpret_cast<decltype(&::name)>(symbol), std::memory_order_release); \
  } else {                                                                                       \
    if (error) *error = "cannot load BoringSSL: " + path + " has no " #name;                     \
    return false;                                                                                \
  }
  WSP_BORINGSSL_FUNCTIONS(WSP_BORINGSSL_RESOLVE)
#undef WSP_BORINGSSL_RESOLVE
  return true;
}

}  // namespace detail

bool load_boringssl(std::string* error) {
  struct Outcome {
    bool loaded;
    std::string error;
  };
  static const Outcome outcome = [] {
    Outcome o;
    o.loaded = detail::load_boringssl_from(WSP_BORINGSSL_DIR, &o.error);
    return o;
  }();
  if (!outcome.loaded && error) *error = outcome.error;
  return outcome.loaded;
}

}  // namespace tls
