// The handshake's own SHA-1 and base64: the standards' vectors, and the same results as
// BoringSSL's (which they replaced) on many inputs.
#include <catch2/catch.hpp>

#include <openssl/base64.h>
#include <openssl/sha.h>

#include <cstdint>
#include <random>
#include <string>

#include "wsp/protocol/base64.h"
#include "wsp/protocol/sha1.h"

namespace {

std::string hex(const wsp::Sha1::Digest& d) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string sha1_hex(const std::string& text) {
  wsp::Sha1 sha1;
  sha1.update(text);
  return hex(sha1.finish());
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("SHA-1 gives the FIPS 180 example digests") {
  CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  wsp::Sha1 million;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.update(thousand);
  CHECK(hex(million.finish()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("SHA-1 matches BoringSSL's at every length up to 300 bytes, however the input is split") {
  std::mt19937 rng(6455);
  for (std::size_t n = 0; n <= 300; ++n) {
    const std::string text = random_bytes(rng, n);
    wsp::Sha1::Digest expected;
    SHA1(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), expected.data());
    const std::size_t split = n == 0 ? 0 : rng() % (n + 1);
    wsp::Sha1 sha1;
    sha1.update(std::string_view(text).substr(0, split));
    sha1.update(std::string_view(text).substr(split));
    REQUIRE(hex(sha1.finish()) == hex(expected));
  }
}

TEST_CASE("base64 gives the RFC 4648 §10 examples and reads them back") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    const std::string text = plain;
    CHECK(wsp::base64_encode(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) == encoded);
    CHECK(wsp::base64_decode(encoded) == text);
  }
}

TEST_CASE("base64 encodes as BoringSSL does") {
  std::mt19937 rng(4648);
  for (std::size_t n = 0; n <= 100; ++n) {
    const std::string bytes = random_bytes(rng, n);
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    std::string expected(4 * ((n + 2) / 3) + 1, '\0');
    expected.resize(EVP_EncodeBlock(reinterpret_cast<std::uint8_t*>(expected.data()), data, n));
    REQUIRE(wsp::base64_encode(data, n) == expected);
  }
}

TEST_CASE("base64 accepts and refuses exactly what BoringSSL's EVP_DecodeBase64 does") {
  // Short strings of alphabet letters, padding and bytes outside the alphabet, in every
  // arrangement a random walk reaches: padding in the middle, three '=', wrong lengths.
  const std::string pieces = "AQgw+/9z=  =-\n\x80Z";
  std::mt19937 rng(1);
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text(rng() % 13, '\0');
    for (char& c : text) c = pieces[rng() % pieces.size()];
    std::uint8_t out[16];
    std::size_t out_len = 0;
    const bool ok = EVP_DecodeBase64(out, &out_len, sizeof out,
                                     reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    const std::optional<std::string> ours = wsp::base64_decode(text);
    REQUIRE(ours.has_value() == ok);
    if (ok) {
      ++accepted;
      REQUIRE(*ours == std::string(reinterpret_cast<const char*>(out), out_len));
      REQUIRE(wsp::base64_decodes_to_size(text, out_len));
      REQUIRE_FALSE(wsp::base64_decodes_to_size(text, out_len + 1));
    }
  }
  CHECK(accepted > 1000);  // the walk reached valid strings, padded ones among them
}
