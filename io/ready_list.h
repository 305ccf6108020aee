// The reactor's ready list: coroutines and callbacks queued to run after reaping.
#pragma once

#include <coroutine>

namespace io {

// A coroutine waiting to be resumed by the loop. Links itself into the reactor's ready list;
// unlinks itself if destroyed while still linked (its frame was destroyed in the meantime).
class ReadyNode {
 public:
  ReadyNode() = default;
  ReadyNode(const ReadyNode&) = delete;
  ReadyNode& operator=(const ReadyNode&) = delete;
  ~ReadyNode() { unlink(); }

  std::coroutine_handle<> waiter;
  // When set, the loop calls this instead of resuming `waiter` (completion-driven objects
  // schedule their work this way, so it runs after reaping, never inside it).
  void (*callback)(ReadyNode*) = nullptr;
  bool linked() const { return prev_ != nullptr; }
  void unlink();

 private:
  friend class Reactor;
  friend class ReadyList;
  ReadyNode* prev_ = nullptr;
  ReadyNode* next_ = nullptr;
};

// A ReadyNode that calls `(owner->*Method)()` when the loop reaches it.
template <typename Owner, void (Owner::*Method)()>
class CallbackNode : public ReadyNode {
 public:
  explicit CallbackNode(Owner* owner) : owner_(owner) {
    callback = [](ReadyNode* n) {
      auto* self = static_cast<CallbackNode*>(n);
      (self->owner_->*Method)();
    };
  }

 private:
  Owner* owner_;
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
