// Per-thread free lists for coroutine frames, and for other small state made and freed per
// message. A connection awaits reads and writes millions of times; recycling by size class
// keeps the hot path free of malloc.
#pragma once

#include <cstddef>

namespace io::frame_pool {

void* allocate(std::size_t size);
void deallocate(void* p, std::size_t size) noexcept;
// Frees this thread's cached frames: after a burst they are scattered through the heap and
// keep its pages resident (the reactor's quiet-period trim calls this before malloc_trim).
void release_cached() noexcept;

// A base that gives a class these free lists: for small state made and freed on every write
// or delivery (not polymorphic: the size freed is the static type's).
struct Pooled {
  static void* operator new(std::size_t size) { return allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate(p, size); }
};

// The same for a container's storage (std::vector<T, frame_pool::Allocator<T>>).
template <typename T>
struct Allocator {
  using value_type = T;
  Allocator() = default;
  template <typename U>
  Allocator(const Allocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(frame_pool::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { frame_pool::deallocate(p, n * sizeof(T)); }
  bool operator==(const Allocator&) const = default;
};

}  // namespace io::frame_pool
