#include "io/frame_pool.h"

#include <array>
#include <new>

namespace io::frame_pool {
namespace {

// Fine classes: the long-lived frames of many connections waste little to rounding.
constexpr std::size_t kGranule = 32;
constexpr std::size_t kClasses = 64;          // frames up to 2 KiB are pooled
constexpr std::size_t kMaxCachedPerClass = 128;  // bounds what a burst leaves cached

struct FreeNode {
  FreeNode* next;
};

struct Pool {
  std::array<FreeNode*, kClasses> heads{};
  std::array<std::size_t, kClasses> counts{};
  ~Pool() {
    for (auto*& head : heads) {
      while (head) {
        FreeNode* next = head->next;
        ::operator delete(head);
        head = next;
      }
    }
  }
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

void deallocate(void* p, std::size_t size) noexcept {
  std::size_t c = size_class(size);
  if (c < kClasses && pool.counts[c] < kMaxCachedPerClass) {
    auto* node = static_cast<FreeNode*>(p);
    node->next = pool.heads[c];
    pool.heads[c] = node;
    ++pool.counts[c];
    return;
  }
  ::operator delete(p);
}

}  // namespace io::frame_pool
