// TimeoutList: timeouts that all end the same time after they start, so they expire in the
// order they started: one sleep on the reactor serves all of them. A timer of its own per
// timeout took a coroutine frame, a kernel timeout and, when stopped early (the usual case),
// a cancel that waited for the kernel: a burst of a thousand closing connections paid that a
// thousand times. Entries are intrusive; starting and stopping one allocates nothing.
#pragma once

#include <cstddef>

#include "io/reactor.h"

namespace io {

class TimeoutList;

// A timeout of a TimeoutList. Lives in the object it times; unlinks itself when destroyed.
class TimeoutEntry {
 public:
  TimeoutEntry() = default;
  TimeoutEntry(const TimeoutEntry&) = delete;
  TimeoutEntry& operator=(const TimeoutEntry&) = delete;
  ~TimeoutEntry() { stop(); }
  bool pending() const { return list_ != nullptr; }
  // Leaves its list, if it is in one.
  inline void stop();

 private:
  friend class TimeoutList;
  TimeoutList* list_ = nullptr;
  TimeoutEntry* prev_ = nullptr;
  TimeoutEntry* next_ = nullptr;
  Duration due_{};
};

class TimeoutList {
 public:
  using Entry = TimeoutEntry;
  // Runs on the reactor's thread once `entry` is due, after it left the list: it may start or
  // stop entries, or destroy the entry's owner.
  using Expired = void (*)(Entry& entry);

  TimeoutList(Reactor& reactor, Duration after, Expired expired)
      : reactor_(reactor), after_(after), expired_(expired) {}
  TimeoutList(const TimeoutList&) = delete;
  TimeoutList& operator=(const TimeoutList&) = delete;
  ~TimeoutList();

  // Due `after` from now; a pending entry starts again.
  void start(Entry& entry);
  // No longer due; nothing if it was not pending.
  void stop(Entry& entry);

  Duration after() const { return after_; }
  Expired expired() const { return expired_; }
  std::size_t size() const { return size_; }

 private:
  void unlink(Entry& entry);
  Task<void> sweep();

  Reactor& reactor_;
  const Duration after_;
  const Expired expired_;
  Entry* head_ = nullptr;  // due first
  Entry* tail_ = nullptr;
  std::size_t size_ = 0;
  Reactor::TaskId sweeper_ = 0;  // sleeping until the head is due; 0 when none runs
  bool expiring_ = false;        // the sweeper runs an entry's callback
};

void TimeoutEntry::stop() {
  if (list_) list_->stop(*this);
}

}  // namespace io
