#include "wsp/protocol/utf8.h"

#include <cstring>

#include "wsp/protocol/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WSP_X86 1
#endif

namespace wsp {
namespace {

struct ScalarState {
  std::uint8_t need = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
};

// One byte of the RFC 3629 §4 grammar. The first continuation byte of E0, ED, F0 and F4 has a
// narrower range: that excludes overlongs, surrogates and code points above U+10FFFF.
inline bool step(ScalarState& s, std::uint8_t b) {
  if (s.need == 0) {
    if (b < 0x80) return true;
    if (b < 0xC2) return false;  // continuation without lead, or overlong 2-byte (C0, C1)
    if (b < 0xE0) {
      s.need = 1;
    } else if (b < 0xF0) {
      s.need = 2;
      if (b == 0xE0) s.lo = 0xA0;
      if (b == 0xED) s.hi = 0x9F;
    } else if (b < 0xF5) {
      s.need = 3;
      if (b == 0xF0) s.lo = 0x90;
      if (b == 0xF4) s.hi = 0x8F;
    } else {
      return false;
    }
    return true;
  }
  if (b < s.lo || b > s.hi) return false;
  s.lo = 0x80;
  s.hi = 0xBF;
  --s.need;
  return true;
}

// Scalar loop with an 8-bytes-at-a-time skip over ASCII runs.
bool scalar_run(ScalarState& s, const std::uint8_t* p, std::size_t len) {
  std::size_t i = 0;
  while (i < len) {
    if (s.need == 0) {
      while (i + 8 <= len) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i == len) break;
    }
    if (!step(s, p[i])) return false;
    ++i;
  }
  return true;
}

#ifdef WSP_X86
// The "lookup" algorithm of Keiser & Lemire, "Validating UTF-8 In Less Than One Instruction Per
// Byte" (2021): three 16-entry nibble tables classify every pair of adjacent bytes, a
// saturating subtraction checks that 3rd/4th bytes are continuations. Error bits:
constexpr std::uint8_t kTooShort = 1 << 0;   // lead byte followed by ASCII or another lead
constexpr std::uint8_t kTooLong = 1 << 1;    // ASCII followed by continuation
constexpr std::uint8_t kOverlong3 = 1 << 2;  // E0 80..9F
constexpr std::uint8_t kTooLarge = 1 << 3;   // F4 90.. and F5..FF
constexpr std::uint8_t kSurrogate = 1 << 4;  // ED A0..BF
constexpr std::uint8_t kOverlong2 = 1 << 5;  // C0, C1
constexpr std::uint8_t kTooLarge1000 = 1 << 6;
constexpr std::uint8_t kOverlong4 = 1 << 6;  // F0 80..8F
constexpr std::uint8_t kTwoConts = 1 << 7;   // continuation after continuation (checked apart)
constexpr std::uint8_t kCarry = kTooShort | kTooLong | kTwoConts;

#define WSP_AVX2 __attribute__((target("avx2")))

WSP_AVX2 inline __m256i table(std::uint8_t t0, std::uint8_t t1, std::uint8_t t2, std::uint8_t t3,
                              std::uint8_t t4, std::uint8_t t5, std::uint8_t t6, std::uint8_t t7,
                              std::uint8_t t8, std::uint8_t t9, std::uint8_t t10,
                              std::uint8_t t11, std::uint8_t t12, std::uint8_t t13,
                              std::uint8_t t14, std::uint8_t t15) {
  return _mm256_setr_epi8(t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15,
                          t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15);
}

// `input` shifted right by N bytes across the 256-bit boundary, filled from `prev`.
template <int N>
WSP_AVX2 inline __m256i prev_bytes(__m256i input, __m256i prev) {
  return _mm256_alignr_epi8(input, _mm256_permute2x128_si256(prev, input, 0x21), 16 - N);
}

WSP_AVX2 inline __m256i high_nibble(__m256i v) {
  return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}

WSP_AVX2 inline __m256i special_cases(__m256i input, __m256i prev1) {
  const __m256i byte_1_high = _mm256_shuffle_epi8(
      table(kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong,
            kTwoConts, kTwoConts, kTwoConts, kTwoConts, kTooShort | kOverlong2, kTooShort,
            kTooShort | kOverlong3 | kSurrogate,
            kTooShort | kTooLarge | kTooLarge1000 | kOverlong4),
      high_nibble(prev1));
  const __m256i byte_1_low = _mm256_shuffle_epi8(
      table(kCarry | kOverlong3 | kOverlong2 | kOverlong4, kCarry | kOverlong2, kCarry, kCarry,
            kCarry | kTooLarge, kCarry | kTooLarge | kTooLarge1000,
            kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000,
            kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000,
            kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000,
            kCarry | kTooLarge | kTooLarge1000,
            kCarry | kTooLarge | kTooLarge1000 | kSurrogate,
            kCarry | kTooLarge | kTooLarge1000, kCarry | kTooLarge | kTooLarge1000),
      _mm256_and_si256(prev1, _mm256_set1_epi8(0x0F)));
  const __m256i byte_2_high = _mm256_shuffle_epi8(
      table(kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort,
            kTooShort,
            kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 | kOverlong4,
            kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge,
            kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,
            kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge, kTooShort, kTooShort,
            kTooShort, kTooShort),
      high_nibble(input));
  return _mm256_and_si256(_mm256_and_si256(byte_1_high, byte_1_low), byte_2_high);
}

WSP_AVX2 inline __m256i check_block(__m256i input, __m256i prev) {
  const __m256i prev1 = prev_bytes<1>(input, prev);
  const __m256i sc = special_cases(input, prev1);
  const __m256i prev2 = prev_bytes<2>(input, prev);
  const __m256i prev3 = prev_bytes<3>(input, prev);
  // Only 111xxxxx two bytes back or 1111xxxx three bytes back reach 0x80 after subtraction:
  // those are the positions that must hold a continuation byte.
  const __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8(static_cast<char>(0xE0 - 0x80)));
  const __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8(static_cast<char>(0xF0 - 0x80)));
  const __m256i must23_80 =
      _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8(static_cast<char>(0x80)));
  return _mm256_xor_si256(must23_80, sc);
}

// Validates whole 32-byte blocks of [p, p + len); returns how many bytes it covered, or
// SIZE_MAX on an error. The covered region is valid except that it may end inside a sequence.
WSP_AVX2 std::size_t simd_run(const std::uint8_t* p, std::size_t len) {
  __m256i prev = _mm256_setzero_si256();
  __m256i error = _mm256_setzero_si256();
  __m256i prev_incomplete = _mm256_setzero_si256();
  // A block ends inside a sequence when one of its last three bytes is a lead byte needing
  // more bytes than remain: compare against these per-position maxima.
  const __m256i max_value = _mm256_setr_epi8(
      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
      -1, -1, -1, -1, -1, -1, -1, static_cast<char>(0xF0 - 1), static_cast<char>(0xE0 - 1),
      static_cast<char>(0xC0 - 1));
  std::size_t i = 0;
  // A leading run of ASCII, 128 bytes a step (most text): nothing to classify, and an ASCII
  // byte before the next block checks the same as the zeros `prev` starts with.
  for (; i + 128 <= len; i += 128) {
    const auto* block = reinterpret_cast<const __m256i*>(p + i);
    const __m256i any_high = _mm256_or_si256(
        _mm256_or_si256(_mm256_loadu_si256(block), _mm256_loadu_si256(block + 1)),
        _mm256_or_si256(_mm256_loadu_si256(block + 2), _mm256_loadu_si256(block + 3)));
    if (_mm256_movemask_epi8(any_high) != 0) break;
  }
  for (; i + 32 <= len; i += 32) {
    const __m256i input = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    if (_mm256_movemask_epi8(input) == 0) {
      // All ASCII: only an unfinished sequence from the previous block can be wrong here.
      error = _mm256_or_si256(error, prev_incomplete);
    } else {
      error = _mm256_or_si256(error, check_block(input, prev));
      prev_incomplete = _mm256_subs_epu8(input, max_value);
    }
    prev = input;
    if ((i & 255) == 224 && !_mm256_testz_si256(error, error)) return SIZE_MAX;
  }
  if (!_mm256_testz_si256(error, error)) return SIZE_MAX;
  return i;
}
#endif

}  // namespace

bool Utf8Validator::feed_scalar(const std::uint8_t* data, std::size_t len) {
  ScalarState s{need_, lo_, hi_};
  const bool ok = scalar_run(s, data, len);
  need_ = s.need;
  lo_ = s.lo;
  hi_ = s.hi;
  if (!ok) failed_ = true;
  return ok;
}

bool Utf8Validator::feed(const std::uint8_t* data, std::size_t len) {
  if (failed_) return false;
  std::size_t i = 0;
  // Finish a code point left open by the previous fragment.
  if (need_ != 0) {
    ScalarState s{need_, lo_, hi_};
    while (i < len && s.need != 0) {
      if (!step(s, data[i])) {
        failed_ = true;
        return false;
      }
      ++i;
    }
    need_ = s.need;
    lo_ = s.lo;
    hi_ = s.hi;
  }
#ifdef WSP_X86
  if (len - i >= 64 && detail::cpu_has_avx2()) {
    const std::size_t covered = simd_run(data + i, len - i);
    if (covered == SIZE_MAX) {
      failed_ = true;
      return false;
    }
    // The covered region is valid up to a possibly unfinished last code point: restart the
    // scalar state machine at the last lead or ASCII byte (at most 4 bytes back, otherwise the
    // SIMD pass would have reported too many continuation bytes).
    std::size_t start = i + covered;
    if (covered > 0 && data[start - 1] >= 0x80) {
      std::size_t back = 0;
      while (back < 4 && (data[start - 1 - back] & 0xC0) == 0x80) ++back;
      start = start - 1 - back;
    }
    // An ASCII last byte ends a code point: nothing to restart (all of most text).
    if (start == len) return true;
    i = start;
  }
#endif
  return feed_scalar(data + i, len - i);
}

bool is_valid_utf8(std::string_view text) {
  Utf8Validator v;
  return v.feed(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) && v.complete();
}

bool is_valid_utf8_bytewise(std::string_view text) {
  ScalarState s;
  for (unsigned char c : text)
    if (!step(s, c)) return false;
  return s.need == 0;
}

}  // namespace wsp
