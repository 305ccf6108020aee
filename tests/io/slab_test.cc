// io::slab: long-lived objects in 64 KiB pages of their own, carved on first use, with each
// page given back when its last object goes (one empty page per size class kept).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "io/slab.h"

namespace {

constexpr std::size_t kPage = 64 * 1024;

struct Base : io::slab::Allocated {
  virtual ~Base() = default;
  char small[24];
};
struct Derived final : Base {
  char large[400];
};

}  // namespace

TEST_CASE("slab slots are distinct, aligned, fill whole pages, and the pages go back when freed") {
  const std::size_t before = io::slab::pages_held();
  constexpr std::size_t kSize = 312;  // the 312-byte class: 209 slots a page
  std::vector<void*> slots;
  std::set<std::uintptr_t> pages;
  for (int i = 0; i < 1000; ++i) {
    void* p = io::slab::allocate(kSize);
    std::memset(p, i & 0xff, kSize);
    REQUIRE(reinterpret_cast<std::uintptr_t>(p) % 8 == 0);
    slots.push_back(p);
    pages.insert(reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1));
  }
  CHECK(std::set<void*>(slots.begin(), slots.end()).size() == 1000);
  CHECK(pages.size() == 5);  // ceil(1000 / 209)
  CHECK(io::slab::pages_held() >= before + 4);  // one may have been the class's kept page
  for (std::size_t i = 0; i < slots.size(); ++i) {
    CHECK(static_cast<unsigned char*>(slots[i])[kSize - 1] == (i & 0xff));  // no overlap
  }
  for (void* p : slots) io::slab::deallocate(p, kSize);
  CHECK(io::slab::pages_held() <= before + 1);  // the one empty page kept for the class
}

TEST_CASE("slab classes step by 8 bytes; a size that is a multiple of 16 gets 16-aligned slots") {
  std::vector<void*> eights, sixteens;
  for (int i = 0; i < 300; ++i) {
    eights.push_back(io::slab::allocate(264));     // a class of its own, not 272's
    sixteens.push_back(io::slab::allocate(272));
    CHECK(reinterpret_cast<std::uintptr_t>(sixteens.back()) % 16 == 0);
  }
  // Neighbours in a page are one slot apart (300 slots span two pages: one pair is not).
  int one_slot_apart = 0;
  for (int i = 1; i < 300; ++i) {
    one_slot_apart += reinterpret_cast<std::uintptr_t>(eights[i]) -
                          reinterpret_cast<std::uintptr_t>(eights[i - 1]) == 264;
  }
  CHECK(one_slot_apart >= 297);
  for (void* p : eights) io::slab::deallocate(p, 264);
  for (void* p : sixteens) io::slab::deallocate(p, 272);
}

TEST_CASE("a freed slab slot is the next one handed out; sizes above the largest go to the heap") {
  void* a = io::slab::allocate(100);
  io::slab::deallocate(a, 100);
  void* b = io::slab::allocate(104);  // the same 104-byte class
  CHECK(b == a);
  io::slab::deallocate(b, 104);

  const std::size_t before = io::slab::pages_held();
  void* large = io::slab::allocate(io::slab::kLargestSlabbed + 1);
  CHECK(io::slab::pages_held() == before);
  io::slab::deallocate(large, io::slab::kLargestSlabbed + 1);
}

TEST_CASE("a class derived from slab::Allocated is freed with its own size through its base") {
  const std::size_t before = io::slab::pages_held();
  std::vector<std::unique_ptr<Base>> objects;
  for (int i = 0; i < 300; ++i) objects.push_back(std::make_unique<Derived>());
  for (int i = 0; i < 300; ++i) objects.push_back(std::make_unique<Base>());
#ifdef WSP_SANITIZED
  CHECK(io::slab::pages_held() == before);  // plain new and delete, for ASan
#else
  // 300 of 432 bytes (432-byte slots, 151 a page) and 300 of 32 (2,046 a page).
  CHECK(io::slab::pages_held() >= before + 3);
#endif
  objects.clear();
  CHECK(io::slab::pages_held() <= before + 2);  // at most one empty page kept per class
}

TEST_CASE("slab objects made on one thread can be freed on another") {
  const std::size_t before = io::slab::pages_held();
  std::vector<void*> slots;
  std::thread maker([&] {
    for (int i = 0; i < 500; ++i) slots.push_back(io::slab::allocate(48));
  });
  maker.join();
  std::thread freer([&] {
    for (void* p : slots) io::slab::deallocate(p, 48);
  });
  for (int i = 0; i < 500; ++i) io::slab::deallocate(io::slab::allocate(64), 64);
  freer.join();
  CHECK(io::slab::pages_held() <= before + 2);
}
