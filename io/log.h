// Minimal leveled logging to stderr. WSP_LOG=debug|info|warn|error|off selects the threshold
// (default warn), read once per process.
#pragma once

#include <cstdio>
#include <utility>

namespace io::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

Level threshold();

template <typename... Args>
void write(Level level, const char* fmt, Args&&... args) {
  if (level < threshold()) return;
  static const char* const kNames[] = {"debug", "info", "warn", "error"};
  std::fprintf(stderr, "wsp %s: ", kNames[static_cast<int>(level)]);
  if constexpr (sizeof...(Args) == 0) {
    std::fputs(fmt, stderr);
  } else {
    std::fprintf(stderr, fmt, std::forward<Args>(args)...);
  }
  std::fputc('\n', stderr);
}

}  // namespace io::log

#define WSP_LOG_DEBUG(...) ::io::log::write(::io::log::Level::debug, __VA_ARGS__)
#define WSP_LOG_INFO(...) ::io::log::write(::io::log::Level::info, __VA_ARGS__)
#define WSP_LOG_WARN(...) ::io::log::write(::io::log::Level::warn, __VA_ARGS__)
#define WSP_LOG_ERROR(...) ::io::log::write(::io::log::Level::error, __VA_ARGS__)
