#include "wsp/engine/random_mask_keys.h"

#include "wsp/protocol/random.h"

namespace wsp {

void RandomMaskKeys::refill() {
  if (!seeded_ || counter_ > 0xFFFF0000u) {
    system_random(key_.data(), key_.size());
    system_random(nonce_.data(), nonce_.size());
    counter_ = 0;
    seeded_ = true;
  }
  chacha20_keystream(key_, nonce_, counter_, block_.data());
  counter_ += kChaCha20KeystreamBytes / 64;
  pos_ = 0;
}

std::array<std::uint8_t, 4> RandomMaskKeys::next() {
  if (pos_ + 4 > block_.size()) refill();
  std::array<std::uint8_t, 4> k{block_[pos_], block_[pos_ + 1], block_[pos_ + 2], block_[pos_ + 3]};
  pos_ += 4;
  return k;
}

}  // namespace wsp
