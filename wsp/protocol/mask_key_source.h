// Masking keys for client frames (RFC 6455 §5.3: "derived from a strong source of entropy",
// fresh and unpredictable for every frame). The protocol core draws none itself: a client's
// key source is passed in (the engine's is wsp/engine/random_mask_keys.h; tests pass fixed
// keys and compare bytes).
#pragma once

#include <array>
#include <cstdint>

namespace wsp {

class MaskKeySource {
 public:
  virtual std::array<std::uint8_t, 4> next() = 0;

 protected:
  ~MaskKeySource() = default;
};

}  // namespace wsp
