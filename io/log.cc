#include "io/log.h"

#include <cstdlib>
#include <cstring>

namespace io::log {

Level threshold() {
  static const Level level = [] {
    const char* env = std::getenv("WSP_LOG");
    if (!env) return Level::warn;
    if (!std::strcmp(env, "debug")) return Level::debug;
    if (!std::strcmp(env, "info")) return Level::info;
    if (!std::strcmp(env, "error")) return Level::error;
    if (!std::strcmp(env, "off")) return Level::off;
    return Level::warn;
  }();
  return level;
}

}  // namespace io::log
