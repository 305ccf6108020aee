// The closed-loop fanout sender's pace under --fanout-pace all: it keeps --pipeline publishes
// in flight until every subscriber has each one (or is known to have lost it), and sends anyway
// when the slowest subscriber has not moved for a second, so one that never gets a message
// cannot stop the run.
#pragma once

#include <cstdint>
#include <limits>

namespace wsp_load {

// The slowest subscriber's next seq when no subscriber is waiting for anything (a thread whose
// members all ended, or none synced yet).
constexpr std::uint64_t kNoSubscriberWaiting = std::numeric_limits<std::uint64_t>::max();
constexpr std::int64_t kFanoutPaceTimeoutNs = 1'000'000'000;

// Whether publish number `sent` (also its seq) may go out while the slowest subscriber expects
// seq `slowest_next` next.
constexpr bool may_send_fanout(std::uint64_t sent, std::uint64_t slowest_next, int pipeline) {
  return slowest_next >= sent || sent - slowest_next < static_cast<std::uint64_t>(pipeline);
}

// Whether the sender sends anyway (a pace timeout): publishes are in flight and the slowest
// subscriber has not moved since `moved_at_ns`.
constexpr bool fanout_pace_timed_out(std::uint64_t sent, std::uint64_t slowest_next,
                                     std::int64_t now_ns, std::int64_t moved_at_ns) {
  return slowest_next < sent && now_ns - moved_at_ns >= kFanoutPaceTimeoutNs;
}

}  // namespace wsp_load
