#include "io/slab.h"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>

namespace io::slab {
namespace {

constexpr std::size_t kPageSize = 64 * 1024;
// Slot k of a class sits at kFirstSlot + k * size: an object's size is a multiple of its
// alignment, so 8-byte classes still align an object needing 16 (its size is a multiple of
// 16), and an object of 264 bytes takes 264, not 272.
constexpr std::size_t kGranule = 8;
constexpr std::size_t kClasses = kLargestSlabbed / kGranule;

struct FreeSlot {
  FreeSlot* next;
};

// At the start of each page; slots follow. Slots are carved on first use, so the untouched
// rest of a new page is never made resident.
struct Page {
  Page* prev = nullptr;  // in its class's list of pages with a slot free
  Page* next = nullptr;
  bool listed = false;
  std::uint32_t slot_size = 0;
  std::uint32_t used = 0;
  std::uint32_t carved_end = 0;  // offset of the first slot never handed out
  FreeSlot* free = nullptr;

  bool full() const { return !free && carved_end + slot_size > kPageSize; }
};
constexpr std::uint32_t kFirstSlot = (sizeof(Page) + 63) / 64 * 64;

struct SizeClass {
  Page* with_room = nullptr;
  Page* empty = nullptr;  // one page kept, so a connection opened and closed in a loop does
                          // not map and unmap a page each time
};

// Connections are made on one thread and sometimes freed on another (a server stopping), and
// this runs a few times per connection, not per message: one lock is enough.
struct Slabs {
  std::mutex mutex;
  std::array<SizeClass, kClasses> classes{};
  std::size_t pages = 0;
};

// Never destroyed: objects may be freed while static destructors run.
Slabs& slabs() {
  static Slabs* all = new Slabs;
  return *all;
}

Page* map_page(std::uint32_t slot_size) {
  // Twice the size, then the unaligned ends given back: a slot finds its page by masking.
  void* raw = ::mmap(nullptr, 2 * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kPageSize - 1) & ~(kPageSize - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t tail = start + 2 * kPageSize - (aligned + kPageSize);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + kPageSize), tail);
  Page* page = new (reinterpret_cast<void*>(aligned)) Page;
  page->slot_size = slot_size;
  page->carved_end = kFirstSlot;
  return page;
}

void link(SizeClass& k, Page* page) {
  page->prev = nullptr;
  page->next = k.with_room;
  if (k.with_room) k.with_room->prev = page;
  k.with_room = page;
  page->listed = true;
}

void unlink(SizeClass& k, Page* page) {
  if (page->prev) page->prev->next = page->next;
  else k.with_room = page->next;
  if (page->next) page->next->prev = page->prev;
  page->prev = page->next = nullptr;
  page->listed = false;
}

std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* allocate(std::size_t size) {
  if (size == 0) size = 1;
  if (size > kLargestSlabbed) return ::operator new(size);
  const std::size_t c = class_of(size);
  Slabs& s = slabs();
  std::lock_guard lock(s.mutex);
  SizeClass& k = s.classes[c];
  Page* page = k.with_room;
  if (!page) {
    if (k.empty) {
      page = k.empty;
      k.empty = nullptr;
    } else {
      page = map_page(static_cast<std::uint32_t>((c + 1) * kGranule));
      ++s.pages;
    }
    link(k, page);
  }
  void* slot;
  if (page->free) {
    slot = page->free;
    page->free = page->free->next;
  } else {
    slot = reinterpret_cast<char*>(page) + page->carved_end;
    page->carved_end += page->slot_size;
  }
  ++page->used;
  if (page->full()) unlink(k, page);
  return slot;
}

void deallocate(void* p, std::size_t size) noexcept {
  if (!p) return;
  if (size == 0) size = 1;
  if (size > kLargestSlabbed) {
    ::operator delete(p);
    return;
  }
  auto* page = reinterpret_cast<Page*>(reinterpret_cast<std::uintptr_t>(p) & ~(kPageSize - 1));
  Slabs& s = slabs();
  std::lock_guard lock(s.mutex);
  SizeClass& k = s.classes[class_of(size)];
  auto* slot = static_cast<FreeSlot*>(p);
  slot->next = page->free;
  page->free = slot;
  if (--page->used > 0) {
    if (!page->listed) link(k, page);
    return;
  }
  if (page->listed) unlink(k, page);
  if (!k.empty) {
    k.empty = page;
    return;
  }
  ::munmap(page, kPageSize);
  --s.pages;
}

std::size_t pages_held() {
  Slabs& s = slabs();
  std::lock_guard lock(s.mutex);
  return s.pages;
}

}  // namespace io::slab
