// The engine's masking keys: a ChaCha20 keystream under a 256-bit key drawn from the kernel
// (wsp/protocol/random.h) on first use and again before the counter runs out. A CSPRNG that costs a
// few nanoseconds per frame instead of a system call each time. Not thread-safe: the engine keeps
// one per thread (per_thread.h), shared by the thread's client connections.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "wsp/protocol/mask_key_source.h"
#include "wsp/protocol/random.h"

namespace wsp {

class RandomMaskKeys final : public MaskKeySource {
 public:
  std::array<std::uint8_t, 4> next() override;

 private:
  void refill();

  std::array<std::uint8_t, 32> key_{};
  std::array<std::uint8_t, 12> nonce_{};
  std::uint32_t counter_ = 0;
  std::array<std::uint8_t, kChaCha20KeystreamBytes> block_{};
  std::size_t pos_ = kChaCha20KeystreamBytes;
  bool seeded_ = false;
};

}  // namespace wsp
