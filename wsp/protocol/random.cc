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

std::uint32_t rotl(std::uint32_t v, int n) { return v << n | v >> (32 - n); }

void quarter_round(std::uint32_t* s, int a, int b, int c, int d) {
  s[a] += s[b], s[d] = rotl(s[d] ^ s[a], 16);
  s[c] += s[d], s[b] = rotl(s[b] ^ s[c], 12);
  s[a] += s[b], s[d] = rotl(s[d] ^ s[a], 8);
  s[c] += s[d], s[b] = rotl(s[b] ^ s[c], 7);
}

}  // namespace

void chacha20_block(const std::array<std::uint8_t, 32>& key,
                    const std::array<std::uint8_t, 12>& nonce, std::uint32_t counter,
                    std::uint8_t out[64]) {
  std::uint32_t input[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};  // "expand 32-byte k"
  for (int i = 0; i < 8; ++i) input[4 + i] = load_le32(key.data() + 4 * i);
  input[12] = counter;
  for (int i = 0; i < 3; ++i) input[13 + i] = load_le32(nonce.data() + 4 * i);
  std::uint32_t s[16];
  std::memcpy(s, input, sizeof s);
  for (int round = 0; round < 10; ++round) {  // 20 rounds: a column and a diagonal round each
    quarter_round(s, 0, 4, 8, 12), quarter_round(s, 1, 5, 9, 13);
    quarter_round(s, 2, 6, 10, 14), quarter_round(s, 3, 7, 11, 15);
    quarter_round(s, 0, 5, 10, 15), quarter_round(s, 1, 6, 11, 12);
    quarter_round(s, 2, 7, 8, 13), quarter_round(s, 3, 4, 9, 14);
  }
  for (int i = 0; i < 16; ++i) {
    std::uint32_t v = s[i] + input[i];
    out[4 * i] = static_cast<std::uint8_t>(v);
    out[4 * i + 1] = static_cast<std::uint8_t>(v >> 8);
    out[4 * i + 2] = static_cast<std::uint8_t>(v >> 16);
    out[4 * i + 3] = static_cast<std::uint8_t>(v >> 24);
  }
}

}  // namespace wsp
