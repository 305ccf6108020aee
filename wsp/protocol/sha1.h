// SHA-1 (FIPS 180-4 §6.1) for the opening handshake's Sec-WebSocket-Accept (RFC 6455 §4.2.2),
// where it proves only that the server read the request: no security rests on it. Our own, so
// that a ws:// handshake does not page in libcrypto (about 190 KB of its code and CPU-feature
// setup, resident in every server that never uses TLS).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsp {

class Sha1 {
 public:
  using Digest = std::array<std::uint8_t, 20>;

  void update(std::string_view bytes);
  Digest finish();  // the digest of everything given; the object is spent

 private:
  void compress(const std::uint8_t* block);

  std::uint32_t state_[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::uint8_t block_[64];
  std::size_t in_block_ = 0;  // bytes waiting in block_
  std::uint64_t length_ = 0;  // bytes given in all
};

}  // namespace wsp
