// Internal: the thread's BoringSSL error queue as readable text.
#pragma once

#include <string>

namespace tls::detail {

// Drains the error queue and returns its last reason ("WRONG_VERSION_NUMBER"); "" when empty.
std::string take_openssl_errors();

}  // namespace tls::detail
