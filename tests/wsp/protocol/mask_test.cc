// Masking (RFC 6455 §5.3): the fast paths against the bytewise reference.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "wsp/protocol/mask.h"

using namespace wsp;

TEST_CASE("masking twice with the same key restores the data") {
  std::string s = "Hello, WebSocket masking!";
  auto* p = reinterpret_cast<std::uint8_t*>(s.data());
  apply_mask(p, s.size(), {1, 2, 3, 4});
  CHECK(s != "Hello, WebSocket masking!");
  apply_mask(p, s.size(), {1, 2, 3, 4});
  CHECK(s == "Hello, WebSocket masking!");
}

TEST_CASE("masking matches the RFC 6455 §5.7 example") {
  std::uint8_t data[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  apply_mask(data, 5, {0x37, 0xfa, 0x21, 0x3d});
  CHECK(std::string(reinterpret_cast<char*>(data), 5) == "Hello");
}

TEST_CASE("masking at every length, alignment and key offset matches the bytewise loop") {
  std::mt19937 rng(42);
  std::vector<std::uint8_t> src(700), a(720), b(720);
  for (auto& x : src) x = static_cast<std::uint8_t>(rng());
  const std::array<std::uint8_t, 4> key{0xde, 0xad, 0xbe, 0xef};
  for (std::size_t len : {0u, 1u, 3u, 7u, 8u, 31u, 32u, 63u, 64u, 65u, 127u, 128u, 129u, 300u,
                          511u, 700u - 16u}) {
    for (std::size_t align = 0; align < 16; align += 5) {
      for (std::size_t off = 0; off < 4; ++off) {
        mask_copy(a.data() + align, src.data() + align, len, key, off);
        mask_copy_bytewise(b.data() + align, src.data() + align, len, key, off);
        REQUIRE(std::equal(a.begin() + align, a.begin() + align + len, b.begin() + align));
        std::vector<std::uint8_t> inplace(src);
        apply_mask(inplace.data() + align, len, key, off);
        REQUIRE(std::equal(inplace.begin() + align, inplace.begin() + align + len,
                           b.begin() + align));
      }
    }
  }
}

TEST_CASE("a payload masked in pieces with the running offset equals one pass") {
  std::string whole(1000, 'q'), pieces = whole;
  const std::array<std::uint8_t, 4> key{9, 8, 7, 6};
  apply_mask(reinterpret_cast<std::uint8_t*>(whole.data()), whole.size(), key);
  std::size_t off = 0;
  for (std::size_t n : {1u, 2u, 5u, 100u, 33u, 859u}) {
    apply_mask(reinterpret_cast<std::uint8_t*>(pieces.data()) + off, n, key, off);
    off += n;
  }
  CHECK(off == 1000);
  CHECK(pieces == whole);
}
