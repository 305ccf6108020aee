// Fifo<T>: a queue that allocates nothing until used and frees its storage once drained of a
// burst. libstdc++'s std::deque allocates ~600 bytes on construction, too much for thousands
// of idle connections holding two queues each.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace wsp {

template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  void push_back(T&& value) { items_.push_back(std::move(value)); }
  // Removes the front item (typically after moving from it).
  void drop_front() {
    if (++head_ == items_.size()) {
      head_ = 0;
      if (items_.capacity() > 64) {
        std::vector<T>().swap(items_);
      } else {
        items_.clear();
      }
    } else if (head_ >= 1024 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    std::vector<T>().swap(items_);
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace wsp
