#include "io/ready_list.h"

namespace io {

void ReadyNode::unlink() {
  if (!prev_) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void ReadyList::push_back(ReadyNode* n) {
  n->prev_ = head_.prev_;
  n->next_ = &head_;
  head_.prev_->next_ = n;
  head_.prev_ = n;
}

ReadyNode* ReadyList::pop_front() {
  if (empty()) return nullptr;
  ReadyNode* n = head_.next_;
  n->unlink();
  return n;
}

}  // namespace io
