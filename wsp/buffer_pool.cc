#include "wsp/buffer_pool.h"

#include <algorithm>
#include <vector>

namespace wsp::buffer_pool {
namespace {

// Enough for a reactor turn of pipelined traffic on a few dozen connections; at most
// kMaxPooled * kMaxPooledCapacity bytes stay pooled.
constexpr std::size_t kMaxPooled = 128;
// Below this a buffer is not worth pooling (std::string keeps up to 15 bytes inline).
constexpr std::size_t kMinPooledCapacity = 64;

// How many of the most recently pooled buffers take() looks at for one that is large enough.
constexpr std::size_t kSearched = 8;

struct Pool {
  std::vector<std::string> buffers;
  std::size_t next_evicted = 0;  // when full, pooled buffers are replaced in turn
};

Pool& pool() {
  thread_local Pool p;
  return p;
}

}  // namespace

std::string take(std::size_t at_least) {
  std::vector<std::string>& buffers = pool().buffers;
  const std::size_t searched = std::min(buffers.size(), kSearched);
  for (std::size_t i = buffers.size(); i-- > buffers.size() - searched;) {
    if (buffers[i].capacity() < at_least) continue;
    std::string buffer = std::move(buffers[i]);
    if (i + 1 != buffers.size()) buffers[i] = std::move(buffers.back());
    buffers.pop_back();
    return buffer;
  }
  std::string fresh;
  fresh.reserve(std::max(at_least, kMinPooledCapacity));
  return fresh;
}

void give_back(std::string&& buffer) {
  std::string kept = std::move(buffer);
  const std::size_t capacity = kept.capacity();
  if (capacity < kMinPooledCapacity || capacity > kMaxPooledCapacity) return;  // freed here
  kept.clear();
  Pool& p = pool();
  if (p.buffers.size() < kMaxPooled) {
    if (p.buffers.capacity() == 0) p.buffers.reserve(kMaxPooled);
    p.buffers.push_back(std::move(kept));
    return;
  }
  // Full: replace an older buffer, so sizes no longer in use do not clog the pool.
  p.buffers[p.next_evicted] = std::move(kept);
  p.next_evicted = (p.next_evicted + 1) % kMaxPooled;
}

std::size_t pooled() { return pool().buffers.size(); }

}  // namespace wsp::buffer_pool
