// The reactor's ready list: coroutines and callbacks queued to run after reaping.
#pragma once

#include <coroutine>
#include <cstdint>

namespace io {

// A coroutine waiting to be resumed by the loop. Links itself into the reactor's ready list;
// unlinks itself if destroyed while still linked (its frame was destroyed in the meantime).
class ReadyNode {
 public:
  ReadyNode() = default;
  ReadyNode(const ReadyNode&) = delete;
  ReadyNode& operator=(const ReadyNode&) = delete;
  ~ReadyNode() { unlink(); }

  // What the loop does with the node: resume a coroutine, or call a function (completion-driven
  // objects schedule their work this way, so it runs after reaping, never inside it). The
  // function is named through a Callback object, which, unlike a function, is aligned; it must
  // outlive the node (a static, as CallbackNode's).
  struct Callback {
    void (*call)(ReadyNode*);
  };
  void set_waiter(std::coroutine_handle<> h) { target_ = reinterpret_cast<std::uintptr_t>(h.address()); }
  std::coroutine_handle<> waiter() const {
    return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(target_));
  }
  void set_callback(const Callback& callback) {
    target_ = reinterpret_cast<std::uintptr_t>(&callback) | kCallbackTag;
  }
  void run() {
    if (target_ & kCallbackTag) reinterpret_cast<const Callback*>(target_ & ~kCallbackTag)->call(this);
    else waiter().resume();
  }
  bool linked() const { return prev_ != nullptr; }
  void unlink();

 private:
  friend class Reactor;
  friend class ReadyList;
  // One word for either: a coroutine frame's address and a Callback's are both even, and the
  // low bit tells them apart (thousands of idle connections hold a few nodes each).
  static constexpr std::uintptr_t kCallbackTag = 1;
  std::uintptr_t target_ = 0;
  ReadyNode* prev_ = nullptr;
  ReadyNode* next_ = nullptr;
};

// A ReadyNode that calls `(owner->*Method)()` when the loop reaches it.
template <typename Owner, void (Owner::*Method)()>
class CallbackNode : public ReadyNode {
 public:
  explicit CallbackNode(Owner* owner) : owner_(owner) { set_callback(kCall); }

 private:
  static constexpr Callback kCall{[](ReadyNode* n) {
    auto* self = static_cast<CallbackNode*>(n);
    (self->owner_->*Method)();
  }};
  Owner* owner_;
};

// The same as a base of Owner, for objects kept by the thousand (a connection's): the owner is
// the node, with no pointer back. Calls owner->run_ready(); an Owner that keeps it private
// befriends ReadyBase<Owner>.
template <typename Owner>
class ReadyBase : public ReadyNode {
 protected:
  ReadyBase() { set_callback(kCall); }

 private:
  static constexpr Callback kCall{[](ReadyNode* n) {
    static_cast<Owner*>(static_cast<ReadyBase*>(n))->run_ready();
  }};
};

class ReadyList {
 public:
  ReadyList() { head_.prev_ = head_.next_ = &head_; }
  bool empty() const { return head_.next_ == &head_; }
  void push_back(ReadyNode* n);
  ReadyNode* pop_front();

 private:
  ReadyNode head_;
};

}  // namespace io
