// Backoff: the waits between reconnection attempts of one Redis link. Capped exponential
// (a ceiling of `first`, doubled per failed attempt up to `max`) with equal jitter: each wait
// is half the ceiling plus a uniform random part of the other half, so in [ceiling/2, ceiling].
//
// Why jitter: when Redis restarts, every server's links lost it at the same moment; without
// jitter they all come back in lockstep, each attempt a burst on the new Redis. Why equal
// rather than full jitter (a wait anywhere in [0, ceiling]): a link never retries sooner than
// half its ceiling, so a Redis that stays down is not hit in a tight loop by attempts that
// drew near zero, and the wait never exceeds `max`, which Bridge's resubscribe_wait (twice
// retry_max: every other server retried by then) relies on.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace redis {

class Backoff {
 public:
  using Duration = std::chrono::nanoseconds;
  // `seed` makes the waits reproducible (tests); Bridge seeds from std::random_device.
  Backoff(Duration first, Duration max, std::uint64_t seed)
      : first_(first), max_(max < first ? first : max), ceiling_(first), random_(seed) {}

  // The wait before the next attempt; the ceiling then doubles, up to max.
  Duration next() {
    const Duration::rep half = ceiling_.count() / 2;
    std::uniform_int_distribution<Duration::rep> share(0, ceiling_.count() - half);
    const Duration wait{half + share(random_)};
    ceiling_ = ceiling_ > max_ / 2 ? max_ : ceiling_ * 2;
    return wait;
  }
  // Connected again: the next outage starts from `first`.
  void reset() { ceiling_ = first_; }
  Duration ceiling() const { return ceiling_; }

 private:
  Duration first_, max_, ceiling_;
  std::mt19937_64 random_;
};

}  // namespace redis
