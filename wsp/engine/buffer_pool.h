// Buffers (messages being assembled, serialized output) shared by the connections of a
// thread. A message that was echoed or forwarded hands its buffer back and the next message
// of any connection is assembled in it: pipelined small messages cost no allocation, bulk
// transfers reuse their large buffers, and a connection keeps no buffer between bursts. Per
// thread, so no locking; bounded, so a burst does not pin memory.
#pragma once

#include <cstddef>
#include <string>

#include "wsp/protocol/buffer_source.h"

namespace wsp::buffer_pool {

// Larger buffers are not pooled (a connection handling such messages keeps one, see
// Connection::recycle).
inline constexpr std::size_t kMaxPooledCapacity = 1024 * 1024;

// An empty buffer with capacity >= at_least: a pooled one when it fits, else a new one.
std::string take(std::size_t at_least);
void keep_or_free(std::string&& buffer);
// Keeps `buffer` for a later take() if it is small and the pool has room; frees it otherwise.
// `buffer` is left empty.
inline void give_back(std::string&& buffer) {
  if (buffer.capacity() >= 64) {
    keep_or_free(std::move(buffer));
  } else {
    buffer.clear();  // inline storage: nothing to keep
  }
}
// Buffers held by this thread's pool (for tests).
std::size_t pooled();

// This thread's pool as the protocol core's buffer source.
BufferSource& for_this_thread();

}  // namespace wsp::buffer_pool
