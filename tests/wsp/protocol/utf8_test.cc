// UTF-8 validation (RFC 3629), whole and incremental, SIMD path against the bytewise reference.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "wsp/protocol/utf8.h"

using wsp::is_valid_utf8;
using wsp::is_valid_utf8_bytewise;
using wsp::Utf8Validator;

namespace {

bool feed(Utf8Validator& v, std::string_view s) {
  return v.feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Checks `s` whole, inside a long ASCII run (so the SIMD path sees it at every alignment),
// and against the bytewise reference.
void check(const std::string& s, bool valid) {
  INFO("input length " << s.size());
  CHECK(is_valid_utf8(s) == valid);
  CHECK(is_valid_utf8_bytewise(s) == valid);
  for (std::size_t pad = 0; pad < 40; pad += 7) {
    const std::string padded = std::string(pad, 'a') + s + std::string(100, 'b');
    CHECK(is_valid_utf8(padded) == valid);
  }
}

}  // namespace

TEST_CASE("ASCII, 2-, 3- and 4-byte sequences at their boundaries are valid") {
  for (const char* s : {"", "plain", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
                        "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
                        "\xf4\x8f\xbf\xbf", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"})
    check(s, true);
}

TEST_CASE("overlong encodings are invalid") {
  for (const char* s : {"\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
                        "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf"})
    check(s, false);
}

TEST_CASE("UTF-16 surrogates are invalid") {
  for (const char* s : {"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xbf\xbf",
                        "\xed\xa0\x80\xed\xb0\x80"})
    check(s, false);
}

TEST_CASE("code points above U+10FFFF are invalid") {
  for (const char* s : {"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf",
                        "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff"})
    check(s, false);
}

TEST_CASE("stray continuation bytes and truncated sequences are invalid") {
  for (const char* s : {"\x80", "\xbf", "a\x80" "b", "\xc2", "\xe1\x80", "\xf0\x90\x80",
                        "\xc2" "a", "\xe1\x80" "a", "\xf0\x90\x80" "a", "\xc2\xc2\x80",
                        "\xe1\x80\x80\x80"})
    check(s, false);
}

TEST_CASE("a sequence split across fragments is valid only once complete") {
  const std::string s = "\xf0\x9f\x98\x80";
  for (std::size_t cut = 1; cut < 4; ++cut) {
    Utf8Validator v;
    CHECK(feed(v, s.substr(0, cut)));
    CHECK_FALSE(v.complete());
    CHECK(feed(v, s.substr(cut)));
    CHECK(v.complete());
  }
}

TEST_CASE("a truncated sequence followed by a new fragment fails on its first byte") {
  Utf8Validator v;
  CHECK(feed(v, "ok\xe2\x82"));
  CHECK_FALSE(feed(v, "a"));
  CHECK(v.failed());
  CHECK_FALSE(v.complete());
  CHECK_FALSE(feed(v, "still failed"));
}

TEST_CASE("the validator fails on the first impossible byte, not at the end") {
  Utf8Validator v;
  CHECK_FALSE(feed(v, "\xed\xa0"));  // ED A0 can only become a surrogate
  Utf8Validator w;
  CHECK_FALSE(feed(w, "\xf4\x90"));  // only above U+10FFFF
  Utf8Validator x;
  CHECK_FALSE(feed(x, "\xe0\x80"));  // only overlong
}

TEST_CASE("reset clears a failure") {
  Utf8Validator v;
  CHECK_FALSE(feed(v, "\xff"));
  v.reset();
  CHECK(feed(v, "ok"));
  CHECK(v.complete());
}

TEST_CASE("the SIMD validator agrees with the bytewise reference on random inputs") {
  std::mt19937 rng(12345);
  const char* pieces[] = {"a", "z", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80",
                          "\xc0", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0", "\xff", "\x7f"};
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    const int n = rng() % 120;
    // Mostly valid pieces, sometimes one bad one, so both outcomes are common.
    for (int i = 0; i < n; ++i) s += pieces[rng() % (rng() % 4 == 0 ? 12 : 5)];
    const bool expected = is_valid_utf8_bytewise(s);
    REQUIRE(is_valid_utf8(s) == expected);
    // Same input in random fragments.
    Utf8Validator v;
    std::size_t off = 0;
    bool ok = true;
    while (off < s.size() && ok) {
      const std::size_t len = std::min<std::size_t>(s.size() - off, rng() % 80);
      ok = feed(v, std::string_view(s).substr(off, len));
      off += len;
    }
    REQUIRE((ok && v.complete()) == expected);
  }
}

TEST_CASE("random bytes are judged the same by the SIMD and bytewise validators") {
  std::mt19937 rng(777);
  for (int round = 0; round < 20000; ++round) {
    std::string s(64 + rng() % 64, 'a');
    // A few random bytes in ASCII: long enough for the SIMD blocks.
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = static_cast<char>(rng());
    REQUIRE(is_valid_utf8(s) == is_valid_utf8_bytewise(s));
  }
}

TEST_CASE("long ASCII runs before a sequence or a bad byte anywhere are judged as bytewise") {
  // The SIMD pass skips whole 128-byte ASCII blocks: place what follows on every side of their
  // boundaries.
  const char* tails[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80", "\xc0\xaf",
                         "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff", "z"};
  for (std::size_t ascii = 90; ascii <= 520; ++ascii) {
    for (const char* tail : tails) {
      for (std::size_t after : {0, 1, 40, 200}) {
        const std::string s = std::string(ascii, 'a') + tail + std::string(after, 'b');
        INFO("ascii " << ascii << " after " << after);
        REQUIRE(is_valid_utf8(s) == is_valid_utf8_bytewise(s));
      }
    }
  }
}

TEST_CASE("a fragment whose SIMD pass ends on ASCII leaves the validator between code points") {
  // Such a fragment returns without the scalar pass: what follows is judged from a clean state.
  const std::string ascii(128, 'a');
  Utf8Validator v;
  REQUIRE(feed(v, ascii));
  CHECK(v.complete());
  REQUIRE(feed(v, "\xe2\x82"));
  CHECK_FALSE(v.complete());
  REQUIRE(feed(v, "\xac" + ascii));
  CHECK(v.complete());
  CHECK_FALSE(feed(v, "\x80"));  // a continuation byte with no lead
  Utf8Validator w;
  REQUIRE(feed(w, ascii + "\xf0\x9f"));  // the SIMD pass ends on a lead: scalar restarts there
  CHECK_FALSE(w.complete());
  REQUIRE(feed(w, "\x98\x80"));
  CHECK(w.complete());
}
