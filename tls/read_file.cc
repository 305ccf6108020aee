#include "tls/read_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tls::detail {

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

}  // namespace tls::detail
