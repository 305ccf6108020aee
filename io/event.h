// Level-triggered signals for coroutines on a reactor.
#pragma once

#include <coroutine>
#include <cstdint>

#include "io/ready_list.h"
#include "io/reactor.h"

namespace io {

// A level-triggered signal for coroutines: wait() suspends until set() is called (or returns
// at once if already set); every waiter is resumed, on the reactor given to set(). reset()
// clears it. One word: an owner that knows its reactor (a connection holds two signals) keeps
// no copy of it here; io::Event below is the kind that does.
class Signal {
 public:
  Signal() = default;
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  ~Signal();

  void set(Reactor& reactor) {
    // Inline: set once per message received, and rarely awaited.
    word_ |= kSet;
    if (waiters()) wake_waiters(reactor);
  }
  void reset() { word_ &= ~kSet; }
  bool is_set() const { return word_ & kSet; }

  class Waiter {
   public:
    explicit Waiter(Signal& signal) : signal_(&signal) {}
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();
    bool await_ready() const noexcept { return signal_ && signal_->is_set(); }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

   private:
    friend class Signal;
    Signal* signal_;
    ReadyNode node_;
    Waiter* next_ = nullptr;
    Waiter* prev_ = nullptr;
    bool waiting_ = false;
  };
  Waiter wait() { return Waiter(*this); }

 private:
  void wake_waiters(Reactor& reactor);
  Waiter* waiters() const { return reinterpret_cast<Waiter*>(word_ & ~kSet); }
  void set_waiters(Waiter* first) { word_ = reinterpret_cast<std::uintptr_t>(first) | (word_ & kSet); }

  // The first waiter, and in the low bit whether the signal is set.
  static constexpr std::uintptr_t kSet = 1;
  static_assert(alignof(Waiter) > kSet);
  std::uintptr_t word_ = 0;
};

// A Signal bound to one reactor, so set() takes no argument.
class Event : public Signal {
 public:
  explicit Event(Reactor& reactor) : reactor_(&reactor) {}
  void set() { Signal::set(*reactor_); }

 private:
  Reactor* reactor_;
};

}  // namespace io
