#include "wsp/protocol/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wsp {

void system_random(std::uint8_t* out, std::size_t size) {
  while (size > 0) {
    ssize_t n = getrandom(out, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "wsp: getrandom failed: %s\n", std::strerror(errno));
      std::abort();
    }
    out += n;
    size -= static_cast<std::size_t>(n);
  }
}

namespace {

std::uint32_t load_le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

// Four blocks side by side, one in each lane: SSE2 (x86-64's baseline) computes them at once.
using Lanes = std::uint32_t __attribute__((vector_size(16)));

template <int N>
Lanes rotl(Lanes v) {
  return v << N | v >> (32 - N);
}

void quarter_round(Lanes& a, Lanes& b, Lanes& c, Lanes& d) {
  a += b, d = rotl<16>(d ^ a);
  c += d, b = rotl<12>(b ^ c);
  a += b, d = rotl<8>(d ^ a);
  c += d, b = rotl<7>(b ^ c);
}

}  // namespace

void chacha20_keystream(const std::array<std::uint8_t, 32>& key,
                        const std::array<std::uint8_t, 12>& nonce, std::uint32_t counter,
                        std::uint8_t out[kChaCha20KeystreamBytes]) {
  std::uint32_t words[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};  // "expand 32-byte k"
  for (int i = 0; i < 8; ++i) words[4 + i] = load_le32(key.data() + 4 * i);
  for (int i = 0; i < 3; ++i) words[13 + i] = load_le32(nonce.data() + 4 * i);
  Lanes input[16], x[16];
  for (int i = 0; i < 16; ++i) input[i] = Lanes{words[i], words[i], words[i], words[i]};
  input[12] = Lanes{counter, counter + 1, counter + 2, counter + 3};
  for (int i = 0; i < 16; ++i) x[i] = input[i];
  for (int round = 0; round < 10; ++round) {  // 20 rounds: a column and a diagonal round each
    quarter_round(x[0], x[4], x[8], x[12]), quarter_round(x[1], x[5], x[9], x[13]);
    quarter_round(x[2], x[6], x[10], x[14]), quarter_round(x[3], x[7], x[11], x[15]);
    quarter_round(x[0], x[5], x[10], x[15]), quarter_round(x[1], x[6], x[11], x[12]);
    quarter_round(x[2], x[7], x[8], x[13]), quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) x[i] += input[i];
  // Block b is lane b of every word, serialized little-endian.
  for (int block = 0; block < 4; ++block) {
    for (int i = 0; i < 16; ++i) {
      const std::uint32_t v = x[i][block];
      std::uint8_t* at = out + 64 * block + 4 * i;
      at[0] = static_cast<std::uint8_t>(v);
      at[1] = static_cast<std::uint8_t>(v >> 8);
      at[2] = static_cast<std::uint8_t>(v >> 16);
      at[3] = static_cast<std::uint8_t>(v >> 24);
    }
  }
}

}  // namespace wsp
