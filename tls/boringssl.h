// BoringSSL is loaded on first use, not when the program starts: a program that never makes a TLS
// context, key or certificate (a ws:// server) does not map libssl and libcrypto, about 0.9 MiB
// resident that the loader would otherwise relocate and page in.
//
// tls/ calls BoringSSL's functions by their usual names; boringssl.cc defines each of them as a
// forwarder to the loaded library. The entry points that create BoringSSL objects (TLSOptions'
// factories, CryptoKey and X509Certificate loading) call load_boringssl() first and fail with its
// reason when it cannot load. A program that calls BoringSSL itself reaches the same forwarders for
// these functions; the first such call loads the library.
#pragma once

#include <string>

namespace tls {

// Loads libssl and libcrypto from Debian's BoringSSL (android-libboringssl) once per process;
// thread-safe. False, with the dynamic loader's reason in `*error`, when they cannot be loaded.
bool load_boringssl(std::string* error = nullptr);

namespace detail {
// The loading itself, from `directory` (tests give a directory without the library).
bool load_boringssl_from(const std::string& directory, std::string* error);
}  // namespace detail

}  // namespace tls
