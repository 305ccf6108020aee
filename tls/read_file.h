// Internal: a whole PEM file (certificate or key) read into memory.
#pragma once

#include <string>

namespace tls::detail {

// Reads a whole file; false (with `error` set) if it cannot be read.
bool read_file(const std::string& path, std::string& out, std::string& error);

}  // namespace tls::detail
