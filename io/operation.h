// Awaitable io_uring operations: any single SQE (uring_op), sleep_for, yield.
#pragma once

#include <liburing.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <utility>

#include "io/completion.h"
#include "io/reactor.h"
#include "io/ready_list.h"

namespace io {

// Base of the one-SQE awaitables: records the CQE result and resumes the waiter via the loop.
class Operation : public Completion {
 public:
  explicit Operation(Reactor& reactor) : reactor_(&reactor) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  ~Operation() {
    if (in_flight()) reactor_->cancel_and_wait(this);
  }
  void on_complete(int result, std::uint32_t flags) override {
    result_ = result;
    flags_ = flags;
    reactor_->make_ready(&node_, node_.waiter());
  }

 protected:
  // Submits `sqe` for this operation, linked to a timeout when `timeout` is positive.
  template <typename Prepare>
  void submit(std::coroutine_handle<> waiter, Prepare&& prepare, Duration timeout) {
    node_.set_waiter(waiter);
    has_timeout_ = timeout.count() > 0;
    if (has_timeout_) reactor_->reserve_sqes(2);
    io_uring_sqe* sqe = reactor_->get_sqe();
    prepare(sqe);
    reactor_->submit_tracked(sqe, this);
    if (has_timeout_) {
      sqe->flags |= IOSQE_IO_LINK;
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
      timeout_spec_.tv_sec = secs.count();
      timeout_spec_.tv_nsec = (timeout - secs).count();
      io_uring_sqe* tsqe = reactor_->get_sqe();
      io_uring_prep_link_timeout(tsqe, &timeout_spec_, 0);
      io_uring_sqe_set_data(tsqe, nullptr);
    }
  }
  // The CQE result; an operation cut short by its linked timeout reports -ETIMEDOUT.
  int result() const { return has_timeout_ && result_ == -ECANCELED ? -ETIMEDOUT : result_; }
  std::uint32_t flags() const { return flags_; }
  Reactor& reactor() const { return *reactor_; }
  // For an operation completed by something other than the kernel (on_complete from user
  // space): the coroutine that on_complete readies.
  void set_waiter(std::coroutine_handle<> waiter) { node_.set_waiter(waiter); }

 private:
  Reactor* reactor_;
  ReadyNode node_;
  int result_ = 0;
  std::uint32_t flags_ = 0;
  bool has_timeout_ = false;
  __kernel_timespec timeout_spec_{};
};

// Awaitable for any single SQE: `prepare(sqe)` fills it; co_await yields the raw CQE result
// (negative errno on failure). Optional per-operation deadline via a linked timeout.
template <typename Prepare>
class UringOp : public Operation {
 public:
  UringOp(Reactor& reactor, Prepare prepare, Duration timeout)
      : Operation(reactor), prepare_(std::move(prepare)), timeout_(timeout) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { submit(h, prepare_, timeout_); }
  int await_resume() const noexcept { return result(); }

 private:
  Prepare prepare_;
  Duration timeout_;
};

template <typename Prepare>
UringOp<Prepare> uring_op(Reactor& reactor, Prepare prepare, Duration timeout = Duration::zero()) {
  return UringOp<Prepare>(reactor, std::move(prepare), timeout);
}

// co_await sleep_for(reactor, 10ms): an IORING_OP_TIMEOUT, or on a reactor with a manual clock
// an entry in that clock's list (destroying the sleep removes it).
class SleepOp : public Operation {
 public:
  SleepOp(Reactor& reactor, Duration d);
  ~SleepOp();
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const noexcept {}

 private:
  __kernel_timespec spec_{};
};
inline SleepOp sleep_for(Reactor& reactor, Duration d) { return SleepOp(reactor, d); }

// co_await yield(reactor): lets every other ready coroutine run first.
class YieldOp {
 public:
  explicit YieldOp(Reactor& reactor) : reactor_(&reactor) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { reactor_->make_ready(&node_, h); }
  void await_resume() const noexcept {}

 private:
  Reactor* reactor_;
  ReadyNode node_;
};
inline YieldOp yield(Reactor& reactor) { return YieldOp(reactor); }

}  // namespace io
