// Internal: the thread's BoringSSL error queue as readable text.
#pragma once

#include <string>

namespace tls::detail {

// Drains the error queue and returns its last reason ("WRONG_VERSION_NUMBER"); "" when empty.
std::string take_openssl_errors();

// Reads a whole file; false (with `error` set) if it cannot be read.
bool read_file(const std::string& path, std::string& out, std::string& error);

}  // namespace tls::detail
