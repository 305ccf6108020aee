// A level-triggered signal for coroutines on one reactor.
#pragma once

#include <coroutine>

#include "io/ready_list.h"
#include "io/reactor.h"

namespace io {

// A level-triggered signal for coroutines on one reactor: wait() suspends until set() is
// called (or returns at once if already set); every waiter is resumed. reset() clears it.
class Event {
 public:
  explicit Event(Reactor& reactor) : reactor_(&reactor) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();

  void set() {
    set_ = true;
    if (waiters_) wake_waiters();  // inline: set once per message received, rarely awaited
  }
  void reset() { set_ = false; }
  bool is_set() const { return set_; }

  class Waiter {
   public:
    explicit Waiter(Event& event) : event_(&event) {}
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();
    bool await_ready() const noexcept { return event_ && event_->set_; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

   private:
    friend class Event;
    Event* event_;
    ReadyNode node_;
    Waiter* next_ = nullptr;
    Waiter* prev_ = nullptr;
    bool waiting_ = false;
  };
  Waiter wait() { return Waiter(*this); }

 private:
  void wake_waiters();

  Reactor* reactor_;
  bool set_ = false;
  Waiter* waiters_ = nullptr;
};

}  // namespace io
