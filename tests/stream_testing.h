// Helpers shared by tests that drive byte streams on the reactor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "io/byte_stream.h"
#include "io/reactor.h"
#include "io/task.h"

namespace testing_support {

// Reads until `size` bytes arrived or the stream ended (or failed); what arrived.
inline io::Task<std::string> read_exactly(io::ByteStream& stream, std::size_t size) {
  std::string out(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    auto n = co_await stream.read_some({reinterpret_cast<std::uint8_t*>(out.data()) + got, size - got});
    if (!n || *n == 0) break;
    got += *n;
  }
  out.resize(got);
  co_return out;
}

// Runs `reactor` until `done()` holds or `timeout` passes; whether `done()` holds. Wait for the
// condition a check needs, never for a fixed time or number of turns: the deadline only bounds
// a hang, so it is generous (a loaded machine under ASan is slow).
inline bool run_until(io::Reactor& reactor, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    reactor.run_once(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace testing_support
