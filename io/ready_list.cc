#include "io/ready_list.h"

#include <cstdlib>

namespace io {
namespace {

std::atomic<unsigned> kinds_used{1};  // kind 0: ReadyNode

}  // namespace

std::atomic<ReadyLink::Run> ReadyLink::kinds_[kMaxKinds];

unsigned ReadyLink::add_kind(Run run) {
  const unsigned kind = kinds_used.fetch_add(1);
  if (kind >= kMaxKinds) std::abort();  // more ReadyBase types than the low bits can name
  kinds_[kind].store(run, std::memory_order_release);
  return kind;
}

void ReadyLink::unlink() {
  ReadyLink* p = prev();
  if (!p) return;
  p->next_ = next_;
  next_->set_prev(p);
  prev_ &= kKindMask;
  next_ = nullptr;
}

void ReadyList::push_back(ReadyLink* n) {
  ReadyLink* last = head_.prev();
  n->set_prev(last);
  n->next_ = &head_;
  last->next_ = n;
  head_.set_prev(n);
}

ReadyLink* ReadyList::pop_front() {
  if (empty()) return nullptr;
  ReadyLink* n = head_.next_;
  n->unlink();
  return n;
}

}  // namespace io
