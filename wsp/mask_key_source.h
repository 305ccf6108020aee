// Masking keys for client frames (RFC 6455 §5.3: "derived from a strong source of entropy",
// fresh and unpredictable for every frame).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace wsp {

// ChaCha20 keystream under a 256-bit key drawn from BoringSSL's RAND_bytes on first use: a
// CSPRNG that costs a few nanoseconds per frame instead of a RAND_bytes call each time.
// Not thread-safe; each connection owns one.
class MaskKeySource {
 public:
  std::array<std::uint8_t, 4> next();

 private:
  void refill();

  std::array<std::uint8_t, 32> key_{};
  std::array<std::uint8_t, 12> nonce_{};
  std::uint32_t counter_ = 0;
  std::array<std::uint8_t, 256> block_{};
  std::size_t pos_ = 256;
  bool seeded_ = false;
};

}  // namespace wsp
