#include "wsp/protocol/base64.h"

#include <array>

namespace wsp {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xFF;

// The value of each character; '=' reads as 0 (where padding may stand is checked apart).
constexpr std::array<std::uint8_t, 256> kValues = [] {
  std::array<std::uint8_t, 256> values{};
  values.fill(kInvalid);
  for (std::uint8_t i = 0; i < 64; ++i) values[static_cast<unsigned char>(kAlphabet[i])] = i;
  values['='] = 0;
  return values;
}();

// Decodes `text` (a multiple of 4 characters; padding only at the end: "xx==" or "xxx=") into
// `out`, which has room for 3 bytes per 4 characters. Returns the bytes written, or -1. The
// bits that padding leaves over are not checked, as BoringSSL's EVP_DecodeBase64, which this
// replaced, did not.
long decode(std::string_view text, std::uint8_t* out) {
  if (text.size() % 4 != 0) return -1;
  long written = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const auto* q = reinterpret_cast<const unsigned char*>(text.data() + i);
    const std::uint8_t a = kValues[q[0]], b = kValues[q[1]], c = kValues[q[2]], d = kValues[q[3]];
    if (a == kInvalid || b == kInvalid || c == kInvalid || d == kInvalid) return -1;
    const std::uint32_t v = std::uint32_t{a} << 18 | std::uint32_t{b} << 12 | std::uint32_t{c} << 6 | d;
    const unsigned padding = (q[0] == '=') << 3 | (q[1] == '=') << 2 | (q[2] == '=') << 1 | (q[3] == '=');
    const bool last = i + 4 == text.size();
    int bytes;
    if (padding == 0) bytes = 3;
    else if (padding == 1 && last) bytes = 2;  // xxx=
    else if (padding == 3 && last) bytes = 1;  // xx==
    else return -1;
    for (int k = 0; k < bytes; ++k) out[written++] = static_cast<std::uint8_t>(v >> (16 - 8 * k));
  }
  return written;
}

}  // namespace

std::size_t base64_encode_to(const std::uint8_t* data, std::size_t len, char* out) {
  char* p = out;
  std::size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
    *p++ = kAlphabet[v >> 18];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = kAlphabet[v & 63];
  }
  if (i < len) {
    const bool two = len - i == 2;
    const std::uint32_t v = std::uint32_t{data[i]} << 16 | (two ? std::uint32_t{data[i + 1]} << 8 : 0);
    *p++ = kAlphabet[v >> 18];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = two ? kAlphabet[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
  *p = '\0';
  return static_cast<std::size_t>(p - out);
}

std::string base64_encode(const std::uint8_t* data, std::size_t len) {
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  out.resize(base64_encode_to(data, len, out.data()));
  return out;
}

bool base64_decodes_to_size(std::string_view text, std::size_t size) {
  std::uint8_t out[48];
  // Padded base64 of `size` bytes has exactly this length; that bounds the decoded length.
  if (size > 48 || text.size() != 4 * ((size + 2) / 3)) return false;
  return decode(text, out) == static_cast<long>(size);
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3, '\0');
  const long written = decode(text, reinterpret_cast<std::uint8_t*>(out.data()));
  if (written < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(written));
  return out;
}

}  // namespace wsp
