#include "io/event.h"

namespace io {

Event::~Event() {
  for (Waiter* w = waiters(); w; w = w->next_) w->event_ = nullptr;
}

void Event::wake_waiters() {
  Waiter* w = waiters();
  set_waiters(nullptr);
  while (w) {
    Waiter* next = w->next_;
    w->waiting_ = false;
    w->next_ = w->prev_ = nullptr;
    reactor_->make_ready(&w->node_, w->node_.waiter());
    w = next;
  }
}

void Event::Waiter::await_suspend(std::coroutine_handle<> h) {
  node_.set_waiter(h);
  waiting_ = true;
  next_ = event_->waiters();
  if (next_) next_->prev_ = this;
  event_->set_waiters(this);
}

Event::Waiter::~Waiter() {
  if (!waiting_ || !event_) return;
  if (prev_) {
    prev_->next_ = next_;
  } else {
    event_->set_waiters(next_);
  }
  if (next_) next_->prev_ = prev_;
}

}  // namespace io
