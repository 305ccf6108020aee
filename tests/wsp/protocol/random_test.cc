// The protocol's own random sources: ChaCha20 against RFC 8439's vector and BoringSSL's (which
// it replaced), and the kernel's bytes.
#include <catch2/catch.hpp>

#include <openssl/chacha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>

#include "wsp/protocol/random.h"

TEST_CASE("ChaCha20 gives RFC 8439's block function example (§2.3.2)") {
  std::array<std::uint8_t, 32> key;
  for (int i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(i);
  const std::array<std::uint8_t, 12> nonce = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  const std::uint8_t expected[64] = {
      0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
      0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
      0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
      0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
  std::uint8_t keystream[wsp::kChaCha20KeystreamBytes];
  wsp::chacha20_keystream(key, nonce, 1, keystream);
  CHECK(std::equal(keystream, keystream + 64, expected));  // the first block has counter 1
}

TEST_CASE("ChaCha20 matches BoringSSL's keystream for random keys, nonces and counters") {
  std::mt19937 random(6455);
  for (int round = 0; round < 2000; ++round) {
    std::array<std::uint8_t, 32> key;
    std::array<std::uint8_t, 12> nonce;
    for (auto& b : key) b = static_cast<std::uint8_t>(random());
    for (auto& b : nonce) b = static_cast<std::uint8_t>(random());
    // Near the top of the 32-bit counter too, where the masking keys' source reseeds.
    std::uint32_t counter = round % 2 ? static_cast<std::uint32_t>(random()) % 0xFFFFFFF0u
                                      : 0xFFFFFFE0u + round % 16;
    std::uint8_t ours[wsp::kChaCha20KeystreamBytes], zeros[sizeof ours] = {}, reference[sizeof ours];
    wsp::chacha20_keystream(key, nonce, counter, ours);
    CRYPTO_chacha_20(reference, zeros, sizeof zeros, key.data(), nonce.data(), counter);
    INFO("round " << round << ", counter " << counter);
    REQUIRE(std::equal(ours, ours + sizeof ours, reference));
  }
}

TEST_CASE("system_random fills every byte, differently each time") {
  std::array<std::uint8_t, 4096> a{}, b{};
  wsp::system_random(a.data(), a.size());
  wsp::system_random(b.data(), b.size());
  CHECK(a != b);
  // 4,096 random bytes without a zero byte, or with more than 64, are each about 1e-7 likely.
  auto zeros = std::count(a.begin(), a.end(), 0);
  CHECK(zeros > 0);
  CHECK(zeros < 64);
}
