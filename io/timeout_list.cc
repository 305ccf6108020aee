#include "io/timeout_list.h"

#include "io/operation.h"

namespace io {

TimeoutList::~TimeoutList() {
  reactor_.cancel(sweeper_);  // nothing when it ended (or the reactor ended it first)
  while (head_) unlink(*head_);
}

void TimeoutList::start(Entry& entry) {
  if (entry.list_) unlink(entry);
  entry.list_ = this;
  entry.due_ = reactor_.now() + after_;
  entry.prev_ = tail_;
  entry.next_ = nullptr;
  (tail_ ? tail_->next_ : head_) = &entry;
  tail_ = &entry;
  ++size_;
  // Not alive after cancel_all(), which ends every task of the reactor.
  if (!reactor_.alive(sweeper_)) sweeper_ = reactor_.spawn(sweep());
}

void TimeoutList::stop(Entry& entry) {
  if (entry.list_ != this) return;
  unlink(entry);
  // Nothing left to time: the sleep goes too, or the reactor would have work until it ends.
  if (size_ == 0 && !expiring_) {
    reactor_.cancel(sweeper_);
    sweeper_ = 0;
  }
}

void TimeoutList::unlink(Entry& entry) {
  (entry.prev_ ? entry.prev_->next_ : head_) = entry.next_;
  (entry.next_ ? entry.next_->prev_ : tail_) = entry.prev_;
  entry.prev_ = entry.next_ = nullptr;
  entry.list_ = nullptr;
  --size_;
}

Task<void> TimeoutList::sweep() {
  // All entries last as long, so the head is due first. When it is stopped the sleep ends
  // early once, at its old deadline, and sleeps again until the new head's.
  while (head_) {
    const Duration left = head_->due_ - reactor_.now();
    if (left.count() > 0) {
      co_await sleep_for(reactor_, left);
      continue;
    }
    Entry& due = *head_;
    unlink(due);
    expiring_ = true;  // the callback's stops leave this task alone
    expired_(due);
    expiring_ = false;
  }
  sweeper_ = 0;
}

}  // namespace io
