#include "wsp/protocol/mask.h"

#include "wsp/protocol/cpu.h"

#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WSP_X86 1
#endif

namespace wsp {
namespace {

// The key rotated so that its byte `key_offset % 4` applies to the first byte of the buffer,
// repeated over 8 bytes. Built in registers: byte stores followed by a wide load would stall
// on store forwarding, which costs more than masking a 64-byte frame.
std::uint64_t key_word(std::array<std::uint8_t, 4> key, std::size_t key_offset) {
  std::uint32_t k;
  std::memcpy(&k, key.data(), 4);
  const unsigned shift = static_cast<unsigned>(key_offset & 3) * 8;
  if (shift != 0) {
    // Memory order is little- or big-endian: rotate towards the byte that comes first.
    if constexpr (std::endian::native == std::endian::little)
      k = (k >> shift) | (k << (32 - shift));
    else
      k = (k << shift) | (k >> (32 - shift));
  }
  return (std::uint64_t{k} << 32) | k;
}

// Portable word-at-a-time loop; memcpy keeps unaligned access well-defined and compiles to
// plain loads/stores.
void mask_words(std::uint8_t* dst, const std::uint8_t* src, std::size_t len, std::uint64_t word) {
  std::size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    std::uint64_t a, b, c, d;
    std::memcpy(&a, src + i, 8);
    std::memcpy(&b, src + i + 8, 8);
    std::memcpy(&c, src + i + 16, 8);
    std::memcpy(&d, src + i + 24, 8);
    a ^= word, b ^= word, c ^= word, d ^= word;
    std::memcpy(dst + i, &a, 8);
    std::memcpy(dst + i + 8, &b, 8);
    std::memcpy(dst + i + 16, &c, 8);
    std::memcpy(dst + i + 24, &d, 8);
  }
  for (; i + 8 <= len; i += 8) {
    std::uint64_t a;
    std::memcpy(&a, src + i, 8);
    a ^= word;
    std::memcpy(dst + i, &a, 8);
  }
  if (i == len) return;
  std::uint8_t bytes[8];
  std::memcpy(bytes, &word, 8);
  for (std::size_t k = 0; i < len; ++i, ++k) dst[i] = src[i] ^ bytes[k];
}

#ifdef WSP_X86
// Unaligned 256-bit loads/stores: no alignment assumption about the caller's buffers.
__attribute__((target("avx2"))) void mask_avx2(std::uint8_t* dst, const std::uint8_t* src,
                                               std::size_t len, std::uint64_t word) {
  const __m256i k = _mm256_set1_epi64x(static_cast<long long>(word));
  std::size_t i = 0;
  for (; i + 128 <= len; i += 128) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 32));
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 64));
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(a, k));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 32), _mm256_xor_si256(b, k));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 64), _mm256_xor_si256(c, k));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 96), _mm256_xor_si256(d, k));
  }
  for (; i + 32 <= len; i += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(a, k));
  }
  // i is a multiple of 32, so the key phase of `word` still lines up with dst + i.
  if (i < len) mask_words(dst + i, src + i, len - i, word);
}

// Probed once, at load: the check sits on the path of every masked frame.
const bool use_avx2 = detail::cpu_has_avx2();
#endif

void mask_dispatch(std::uint8_t* dst, const std::uint8_t* src, std::size_t len,
                   std::array<std::uint8_t, 4> key, std::size_t key_offset) {
  const std::uint64_t word = key_word(key, key_offset);
#ifdef WSP_X86
  if (len >= 64 && use_avx2) {
    mask_avx2(dst, src, len, word);
    return;
  }
#endif
  mask_words(dst, src, len, word);
}

}  // namespace

void apply_mask(std::uint8_t* data, std::size_t len, std::array<std::uint8_t, 4> key,
                std::size_t key_offset) {
  mask_dispatch(data, data, len, key, key_offset);
}

void mask_copy(std::uint8_t* dst, const std::uint8_t* src, std::size_t len,
               std::array<std::uint8_t, 4> key, std::size_t key_offset) {
  mask_dispatch(dst, src, len, key, key_offset);
}

void mask_copy_bytewise(std::uint8_t* dst, const std::uint8_t* src, std::size_t len,
                        std::array<std::uint8_t, 4> key, std::size_t key_offset) {
  for (std::size_t i = 0; i < len; ++i) dst[i] = src[i] ^ key[(key_offset + i) & 3];
}

}  // namespace wsp
