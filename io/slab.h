// Pages of their own for the small objects a connection keeps for its whole life (the stream,
// the WebSocket, a handler). In the general heap they share pages with the handshake's
// short-lived frames and strings; once those are freed, the holes they leave between
// long-lived objects stay resident (about 120 bytes per idle connection). Here, objects of one
// size class are carved from 64 KiB pages, and a page is given back to the system as soon as
// its last object goes.
#pragma once

#include <cstddef>

namespace io::slab {

// Sizes above this go to ::operator new.
inline constexpr std::size_t kLargestSlabbed = 512;

void* allocate(std::size_t size);
// `size` must be the size given to allocate().
void deallocate(void* p, std::size_t size) noexcept;

// Pages held now, in use or kept for reuse (at most one empty page per size class is kept).
std::size_t pages_held();

// A base that gives a class (and the classes derived from it, through a virtual destructor)
// these pages. Under the sanitizers it is plain new and delete, so ASan still sees every
// use after free.
struct Allocated {
#ifdef WSP_SANITIZED
  static void* operator new(std::size_t size) { return ::operator new(size); }
  static void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
#else
  static void* operator new(std::size_t size) { return allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate(p, size); }
#endif
};

}  // namespace io::slab
