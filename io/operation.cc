#include "io/operation.h"

#include "io/manual_clock.h"

namespace io {

SleepOp::SleepOp(Reactor& reactor, Duration d) : Operation(reactor) {
  if (d.count() < 0) d = Duration::zero();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(d);
  spec_.tv_sec = secs.count();
  spec_.tv_nsec = (d - secs).count();
}

SleepOp::~SleepOp() {
  if (ManualClock* clock = reactor().manual_clock()) clock->remove(this);
}

void SleepOp::await_suspend(std::coroutine_handle<> h) {
  if (ManualClock* clock = reactor().manual_clock()) {
    set_waiter(h);
    const Duration d = std::chrono::seconds(spec_.tv_sec) + Duration(spec_.tv_nsec);
    if (d.count() == 0) {
      on_complete(-ETIME, 0);  // already due, as the kernel completes it at once
    } else {
      clock->add(this, d);
    }
    return;
  }
  submit(h, [this](io_uring_sqe* sqe) { io_uring_prep_timeout(sqe, &spec_, 0, 0); },
         Duration::zero());
}

}  // namespace io
