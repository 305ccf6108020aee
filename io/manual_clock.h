// ManualClock: the time of sleep_for() on a reactor made with Options::manual_clock, moved
// only by the test. A sleep then goes to no kernel: it waits in this clock's list until
// advance() passes its deadline, and is resumed through the ready list like any completion, on
// the next turn the test drives. Timeouts are tested exactly and in no real time.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "io/reactor.h"

namespace io {

class SleepOp;

class ManualClock {
 public:
  ManualClock() = default;
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  // Time advanced so far (0 when the reactor was made).
  Duration now() const { return now_; }
  // Moves time forward by `d` and readies every sleep now due, earliest deadline first (equal
  // deadlines in the order they began); returns how many. None is resumed from here: they run
  // on the reactor's next turn, and a sleep they begin then counts from the new time.
  std::size_t advance(Duration d);
  // Sleeps waiting for the clock.
  std::size_t pending() const { return timers_.size(); }
  // Time until the earliest of them is due; empty when none waits.
  std::optional<Duration> next_due() const;

 private:
  friend class SleepOp;
  void add(SleepOp* op, Duration d);
  void remove(SleepOp* op);  // a sleep destroyed before it was due

  struct Timer {
    Duration due;
    SleepOp* op;
  };
  std::vector<Timer> timers_;  // by deadline; equal deadlines in the order they began
  Duration now_{};
};

}  // namespace io
