// redis::Backoff: capped exponential backoff with equal jitter, from a seeded random source.
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <vector>

#include "redis/backoff.h"

using namespace std::chrono_literals;
using Duration = redis::Backoff::Duration;

namespace {

std::vector<Duration> waits(std::uint64_t seed, int count) {
  redis::Backoff backoff(100ms, 2s, seed);
  std::vector<Duration> out;
  for (int i = 0; i < count; ++i) out.push_back(backoff.next());
  return out;
}

}  // namespace

TEST_CASE("each wait is in [ceiling/2, ceiling], the ceiling 100 ms doubled per attempt up to 2 s") {
  const std::vector<Duration> ceilings{100ms, 200ms, 400ms, 800ms, 1600ms, 2s, 2s, 2s, 2s, 2s};
  for (std::uint64_t seed : {1u, 2u, 42u, 12345u}) {
    CAPTURE(seed);
    const std::vector<Duration> got = waits(seed, static_cast<int>(ceilings.size()));
    for (std::size_t i = 0; i < ceilings.size(); ++i) {
      CAPTURE(i, got[i].count());
      CHECK(got[i] >= ceilings[i] / 2);
      CHECK(got[i] <= ceilings[i]);
    }
  }
}

TEST_CASE("the waits at the 2 s cap are not all equal: jitter spreads servers that retry together") {
  redis::Backoff backoff(100ms, 2s, 7);
  for (int i = 0; i < 5; ++i) backoff.next();  // up to the cap
  REQUIRE(backoff.ceiling() == 2s);
  std::set<Duration> distinct;
  for (int i = 0; i < 20; ++i) distinct.insert(backoff.next());
  CHECK(distinct.size() > 1);
  CHECK(*distinct.begin() >= 1s);
  CHECK(*distinct.rbegin() <= 2s);
}

TEST_CASE("two servers (two seeds) do not retry in step; one seed gives the same waits again") {
  CHECK(waits(1, 10) != waits(2, 10));
  CHECK(waits(1, 10) == waits(1, 10));
}

TEST_CASE("after reset() the ceiling is back at the first wait's") {
  redis::Backoff backoff(100ms, 2s, 3);
  for (int i = 0; i < 8; ++i) backoff.next();
  CHECK(backoff.ceiling() == 2s);
  backoff.reset();
  CHECK(backoff.ceiling() == 100ms);
  const Duration first = backoff.next();
  CHECK(first >= 50ms);
  CHECK(first <= 100ms);
  CHECK(backoff.ceiling() == 200ms);
}

TEST_CASE("with first equal to max every wait is in [max/2, max]") {
  redis::Backoff backoff(1s, 1s, 9);
  for (int i = 0; i < 10; ++i) {
    const Duration wait = backoff.next();
    CHECK(wait >= 500ms);
    CHECK(wait <= 1s);
    CHECK(backoff.ceiling() == 1s);
  }
}
