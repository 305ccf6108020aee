// The reactor's ready list: coroutines and callbacks queued to run after reaping.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace io {

// An entry of the reactor's ready list: two links, and in the low bits of the first (entries
// are 8-aligned) what running it does. Kind 0 is a ReadyNode, which carries a word naming a
// coroutine or a callback; other kinds are ReadyBase types, whose object is the entry, so the
// objects a connection keeps by the thousand spend 16 bytes here, not 24. Unlinks itself if
// destroyed while linked.
class ReadyLink {
 public:
  ReadyLink(const ReadyLink&) = delete;
  ReadyLink& operator=(const ReadyLink&) = delete;
  ~ReadyLink() { unlink(); }

  bool linked() const { return prev() != nullptr; }
  void unlink();
  inline void run();

  // Registers what running a kind does (at most kMaxKinds - 1 kinds, each once per process:
  // ReadyBase registers its owner type on first use); returns the kind.
  using Run = void (*)(ReadyLink*);
  static unsigned add_kind(Run run);
  static constexpr unsigned kMaxKinds = 8;

 protected:
  explicit ReadyLink(unsigned kind) : prev_(kind) {}

 private:
  friend class ReadyList;
  static constexpr std::uintptr_t kKindMask = kMaxKinds - 1;
  ReadyLink* prev() const { return reinterpret_cast<ReadyLink*>(prev_ & ~kKindMask); }
  void set_prev(ReadyLink* p) { prev_ = reinterpret_cast<std::uintptr_t>(p) | (prev_ & kKindMask); }
  std::uintptr_t prev_;  // the previous entry | this entry's kind
  ReadyLink* next_ = nullptr;
  static std::atomic<Run> kinds_[kMaxKinds];
};

// A coroutine waiting to be resumed by the loop, or a callback to call.
class ReadyNode : public ReadyLink {
 public:
  ReadyNode() : ReadyLink(0) {}

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

 private:
  friend class ReadyLink;
  void run_target() {
    if (target_ & kCallbackTag) reinterpret_cast<const Callback*>(target_ & ~kCallbackTag)->call(this);
    else waiter().resume();
  }
  // One word for either: a coroutine frame's address and a Callback's are both even, and the
  // low bit tells them apart.
  static constexpr std::uintptr_t kCallbackTag = 1;
  std::uintptr_t target_ = 0;
};

void ReadyLink::run() {
  const auto kind = static_cast<unsigned>(prev_ & kKindMask);
  if (kind == 0) static_cast<ReadyNode*>(this)->run_target();
  else kinds_[kind].load(std::memory_order_acquire)(this);
}

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

// The entry as a base of Owner, for objects kept by the thousand (a connection's): the owner is
// the entry, with no pointer back and no target word. Calls owner->run_ready(); an Owner that
// keeps it private befriends ReadyBase<Owner>.
template <typename Owner>
class ReadyBase : public ReadyLink {
 protected:
  ReadyBase() : ReadyLink(kind()) {}

 private:
  static unsigned kind() {
    static const unsigned registered = add_kind([](ReadyLink* n) {
      static_cast<Owner*>(static_cast<ReadyBase*>(n))->run_ready();
    });
    return registered;
  }
};

class ReadyList {
 public:
  ReadyList() {
    head_.set_prev(&head_);
    head_.next_ = &head_;
  }
  bool empty() const { return head_.next_ == &head_; }
  void push_back(ReadyLink* n);
  ReadyLink* pop_front();

 private:
  ReadyNode head_;
};

}  // namespace io
