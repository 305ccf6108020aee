// Helpers shared by tests that drive byte streams on the reactor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "io/byte_stream.h"
#include "io/reactor.h"
#include "io/task.h"

namespace testing_support {

// Bases for handlers of one direction of push-style I/O: the other direction's calls never
// come, as the test starts none; one that did is a bug, and stops the test loudly.
struct ReceiveOnly : io::StreamHandler {
  void on_written(std::error_code) override {
    std::fprintf(stderr, "ReceiveOnly handler: on_written called, but it started no write\n");
    std::abort();
  }
};
struct WriteOnly : io::StreamHandler {
  bool on_received(std::span<const std::uint8_t>) override { unexpected("on_received"); }
  void on_receive_end(std::error_code) override { unexpected("on_receive_end"); }

 private:
  [[noreturn]] static void unexpected(const char* call) {
    std::fprintf(stderr, "WriteOnly handler: %s called, but it started no receive\n", call);
    std::abort();
  }
};

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
