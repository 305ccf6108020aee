// Fifo<T>: a queue that allocates nothing until used and frees its storage whenever it is
// drained. libstdc++'s std::deque allocates ~600 bytes on construction, and even an empty
// vector is 24 bytes: too much for thousands of idle connections; this is one pointer. Its
// storage also keeps a count for the owner (the queued bytes), which is 0 while empty.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "io/frame_pool.h"

namespace wsp {

template <typename T>
class Fifo {
 public:
  bool empty() const { return !storage_; }
  std::size_t size() const { return storage_ ? storage_->items.size() - storage_->head : 0; }
  T& front() { return storage_->items[storage_->head]; }
  std::size_t tally() const { return storage_ ? storage_->tally : 0; }
  // Only while not empty: it goes with the storage.
  std::size_t& tally() { return storage_->tally; }
  void push_back(T&& value) {
    if (!storage_) {
      storage_ = std::make_unique<Storage>();
      storage_->items.reserve(kFirstCapacity);
    }
    storage_->items.push_back(std::move(value));
  }
  // Removes the front item (typically after moving from it).
  void drop_front() {
    Storage& s = *storage_;
    if (++s.head == s.items.size()) {
      storage_.reset();
    } else if (s.head >= 1024 && s.head * 2 >= s.items.size()) {
      s.items.erase(s.items.begin(), s.items.begin() + static_cast<std::ptrdiff_t>(s.head));
      s.head = 0;
    }
  }
  void clear() { storage_.reset(); }

 private:
  // Room for a burst of a few messages without growing (a client pipelining 16 grows it once).
  static constexpr std::size_t kFirstCapacity = 8;
  struct Storage : io::frame_pool::Pooled {
    std::vector<T, io::frame_pool::Allocator<T>> items;
    std::size_t head = 0;  // items before it were taken
    std::size_t tally = 0;
  };
  std::unique_ptr<Storage> storage_;
};

}  // namespace wsp
