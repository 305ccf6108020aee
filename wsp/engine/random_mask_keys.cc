#include "wsp/engine/random_mask_keys.h"

#include <openssl/chacha.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace wsp {

void RandomMaskKeys::refill() {
  if (!seeded_ || counter_ > 0xFFFF0000u) {
    // RAND_bytes only fails when the kernel has no entropy to give; masking keys must not be
    // guessable, so there is no sane fallback.
    if (RAND_bytes(key_.data(), key_.size()) != 1 || RAND_bytes(nonce_.data(), nonce_.size()) != 1)
      std::abort();
    counter_ = 0;
    seeded_ = true;
  }
  static const std::array<std::uint8_t, 256> zeros{};
  CRYPTO_chacha_20(block_.data(), zeros.data(), block_.size(), key_.data(), nonce_.data(),
                   counter_);
  counter_ += static_cast<std::uint32_t>(block_.size() / 64);
  pos_ = 0;
}

std::array<std::uint8_t, 4> RandomMaskKeys::next() {
  if (pos_ + 4 > block_.size()) refill();
  std::array<std::uint8_t, 4> k{block_[pos_], block_[pos_ + 1], block_[pos_ + 2], block_[pos_ + 3]};
  pos_ += 4;
  return k;
}

}  // namespace wsp
