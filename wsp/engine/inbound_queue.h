// InboundQueue: whole messages received and not yet taken by the application. Bounded by the
// connection's limits: when the next message does not fit, the connection holds it and pauses
// receiving until the application makes room.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "wsp/engine/fifo.h"

namespace wsp {

struct Message {
  std::string data;
  bool text = false;
};

class InboundQueue {
 public:
  bool empty() const { return messages_.empty(); }
  std::size_t size() const { return messages_.size(); }
  std::size_t bytes() const { return messages_.tally(); }

  // Whether a message of `size` bytes must wait for room. One message always fits: the
  // protocol already refused anything larger than max_bytes (1009).
  bool full_for(std::size_t size, std::size_t max_bytes, std::size_t max_count) const {
    if (messages_.empty()) return false;
    if (messages_.size() >= max_count) return true;
    return max_bytes > 0 && bytes() + size > max_bytes;
  }
  void push(std::string&& data, bool text) {
    const std::size_t size = data.size();
    messages_.push_back(Message{std::move(data), text});
    messages_.tally() += size;
  }
  // Moves the oldest message into `data`; returns whether it is text.
  bool pop(std::string& data) {
    Message& next = messages_.front();
    const bool text = next.text;
    data = std::move(next.data);
    messages_.tally() -= data.size();
    messages_.drop_front();
    return text;
  }

 private:
  Fifo<Message> messages_;  // its tally: the queued bytes
};

}  // namespace wsp
