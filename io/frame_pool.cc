#include "io/frame_pool.h"

#include <array>
#include <new>

namespace io::frame_pool {
namespace {

// Fine classes: the long-lived frames of many connections waste little to rounding.
constexpr std::size_t kGranule = 32;
constexpr std::size_t kClasses = 64;          // frames up to 2 KiB are pooled
// What a burst leaves cached: at most 128 frames of a class and 16 KiB of its larger frames.
// The per-message frames are small and keep all 128; the large ones of a connection's
// handshake, made once per connection, would otherwise pin 128 of each size after a burst of
// connections (about 0.7 MiB in the echo server, all of it idle).
constexpr std::size_t kMaxCachedPerClass = 128;
constexpr std::size_t kMaxCachedBytesPerClass = 16 * 1024;
constexpr std::size_t cached_limit(std::size_t c) {
  const std::size_t by_bytes = kMaxCachedBytesPerClass / ((c + 1) * kGranule);
  return by_bytes < kMaxCachedPerClass ? by_bytes : kMaxCachedPerClass;
}

struct FreeNode {
  FreeNode* next;
};

struct Pool {
  std::array<FreeNode*, kClasses> heads{};
  std::array<std::size_t, kClasses> counts{};
  void release() noexcept {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (FreeNode* head = heads[c]) {
        heads[c] = head->next;
        ::operator delete(head);
      }
      counts[c] = 0;
    }
  }
  ~Pool() { release(); }
};

thread_local Pool pool;

std::size_t size_class(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* allocate(std::size_t size) {
  std::size_t c = size_class(size);
  if (c < kClasses) {
    if (FreeNode* node = pool.heads[c]) {
      pool.heads[c] = node->next;
      --pool.counts[c];
      return node;
    }
    return ::operator new((c + 1) * kGranule);
  }
  return ::operator new(size);
}

void release_cached() noexcept { pool.release(); }

void deallocate(void* p, std::size_t size) noexcept {
  std::size_t c = size_class(size);
  if (c < kClasses && pool.counts[c] < cached_limit(c)) {
    auto* node = static_cast<FreeNode*>(p);
    node->next = pool.heads[c];
    pool.heads[c] = node;
    ++pool.counts[c];
    return;
  }
  ::operator delete(p);
}

}  // namespace io::frame_pool
