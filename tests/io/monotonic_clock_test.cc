// io::monotonic_now: CLOCK_MONOTONIC read through the vDSO, the same time as steady_clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "io/monotonic_clock.h"

using namespace std::chrono_literals;

TEST_CASE("monotonic_now reads the vDSO's clock directly, and tells steady_clock's time") {
  // The vDSO is there on Linux (valgrind hides it; these tests do not run under valgrind).
  CHECK(io::monotonic_clock_uses_vdso());
  for (int i = 0; i < 1000; ++i) {
    const auto before = std::chrono::steady_clock::now().time_since_epoch();
    const auto now = io::monotonic_now();
    const auto after = std::chrono::steady_clock::now().time_since_epoch();
    REQUIRE(before <= now);
    REQUIRE(now <= after);
  }
  const auto start = io::monotonic_now();
  std::this_thread::sleep_for(5ms);
  CHECK(io::monotonic_now() - start >= 5ms);
}
