#include "wsp/protocol/sha1.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace wsp {

void Sha1::compress(const std::uint8_t* block) {
  std::uint32_t w[80];
  for (int t = 0; t < 16; ++t) {
    w[t] = std::uint32_t{block[4 * t]} << 24 | std::uint32_t{block[4 * t + 1]} << 16 |
           std::uint32_t{block[4 * t + 2]} << 8 | block[4 * t + 3];
  }
  for (int t = 16; t < 80; ++t) w[t] = std::rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3], e = state_[4];
  for (int t = 0; t < 80; ++t) {
    std::uint32_t f, k;
    if (t < 20) {
      f = (b & c) | (~b & d);  // Ch
      k = 0x5A827999;
    } else if (t < 40) {
      f = b ^ c ^ d;  // Parity
      k = 0x6ED9EBA1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);  // Maj
      k = 0x8F1BBCDC;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6;
    }
    const std::uint32_t next = std::rotl(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = std::rotl(b, 30);
    b = a;
    a = next;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
}

void Sha1::update(std::string_view bytes) {
  length_ += bytes.size();
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const std::size_t n = std::min(left, sizeof block_ - in_block_);
    std::memcpy(block_ + in_block_, p, n);
    in_block_ += n;
    p += n;
    left -= n;
    if (in_block_ == sizeof block_) {
      compress(block_);
      in_block_ = 0;
    }
  }
}

Sha1::Digest Sha1::finish() {
  // §5.1.1: a 1 bit, zeros up to 56 bytes into a block, then the length in bits, big-endian.
  const std::uint64_t bits = length_ * 8;
  block_[in_block_++] = 0x80;
  if (in_block_ > 56) {
    std::memset(block_ + in_block_, 0, sizeof block_ - in_block_);
    compress(block_);
    in_block_ = 0;
  }
  std::memset(block_ + in_block_, 0, 56 - in_block_);
  for (int i = 0; i < 8; ++i) block_[56 + i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
  compress(block_);
  Digest digest;
  for (int i = 0; i < 20; ++i) digest[i] = static_cast<std::uint8_t>(state_[i / 4] >> (24 - 8 * (i % 4)));
  return digest;
}

}  // namespace wsp
