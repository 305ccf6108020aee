#include "io/event.h"

namespace io {

Signal::~Signal() {
  for (Waiter* w = waiters(); w; w = w->next_) w->signal_ = nullptr;
}

void Signal::wake_waiters(Reactor& reactor) {
  Waiter* w = waiters();
  set_waiters(nullptr);
  while (w) {
    Waiter* next = w->next_;
    w->waiting_ = false;
    w->next_ = w->prev_ = nullptr;
    reactor.make_ready(&w->node_, w->node_.waiter());
    w = next;
  }
}

void Signal::Waiter::await_suspend(std::coroutine_handle<> h) {
  node_.set_waiter(h);
  waiting_ = true;
  next_ = signal_->waiters();
  if (next_) next_->prev_ = this;
  signal_->set_waiters(this);
}

Signal::Waiter::~Waiter() {
  if (!waiting_ || !signal_) return;
  if (prev_) {
    prev_->next_ = next_;
  } else {
    signal_->set_waiters(next_);
  }
  if (next_) next_->prev_ = prev_;
}

}  // namespace io
