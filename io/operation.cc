#include "io/operation.h"

namespace io {

SleepOp::SleepOp(Reactor& reactor, Duration d) : Operation(reactor) {
  if (d.count() < 0) d = Duration::zero();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(d);
  spec_.tv_sec = secs.count();
  spec_.tv_nsec = (d - secs).count();
}

void SleepOp::await_suspend(std::coroutine_handle<> h) {
  submit(h, [this](io_uring_sqe* sqe) { io_uring_prep_timeout(sqe, &spec_, 0, 0); },
         Duration::zero());
}

}  // namespace io
