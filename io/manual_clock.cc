#include "io/manual_clock.h"

#include <algorithm>
#include <cerrno>

#include "io/operation.h"

namespace io {

void ManualClock::add(SleepOp* op, Duration d) {
  const Duration due = now_ + d;
  // After every timer with the same deadline: equal deadlines fire in the order they began.
  auto at = std::upper_bound(timers_.begin(), timers_.end(), due,
                             [](Duration t, const Timer& timer) { return t < timer.due; });
  timers_.insert(at, Timer{due, op});
}

void ManualClock::remove(SleepOp* op) {
  auto at = std::find_if(timers_.begin(), timers_.end(), [op](const Timer& t) { return t.op == op; });
  if (at != timers_.end()) timers_.erase(at);
}

std::size_t ManualClock::advance(Duration d) {
  if (d.count() > 0) now_ += d;
  auto end = std::find_if(timers_.begin(), timers_.end(), [this](const Timer& t) { return t.due > now_; });
  const auto count = static_cast<std::size_t>(end - timers_.begin());
  // Taken out of the list first: the sleeps are only linked into the ready list here, so none
  // can go away meanwhile, but the list is left consistent all the same.
  std::vector<Timer> due(timers_.begin(), end);
  timers_.erase(timers_.begin(), end);
  for (const Timer& t : due) t.op->on_complete(-ETIME, 0);  // as the kernel reports a timeout
  return count;
}

std::optional<Duration> ManualClock::next_due() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.front().due - now_;
}

}  // namespace io
