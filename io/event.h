// A level-triggered signal for coroutines on one reactor.
#pragma once

#include <coroutine>
#include <cstdint>

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
    word_ |= kSet;
    if (waiters()) wake_waiters();  // inline: set once per message received, rarely awaited
  }
  void reset() { word_ &= ~kSet; }
  bool is_set() const { return word_ & kSet; }

  class Waiter {
   public:
    explicit Waiter(Event& event) : event_(&event) {}
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();
    bool await_ready() const noexcept { return event_ && event_->is_set(); }
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
  Waiter* waiters() const { return reinterpret_cast<Waiter*>(word_ & ~kSet); }
  void set_waiters(Waiter* first) { word_ = reinterpret_cast<std::uintptr_t>(first) | (word_ & kSet); }

  Reactor* reactor_;
  // The first waiter, and in the low bit whether the event is set: thousands of connections
  // hold two events each, so an event is two words.
  static constexpr std::uintptr_t kSet = 1;
  static_assert(alignof(Waiter) > kSet);
  std::uintptr_t word_ = 0;
};

}  // namespace io
