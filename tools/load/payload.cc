#include "tools/load/payload.h"

#include <cstring>

namespace wsp_load {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The two digits of every byte, low nibble first: a tag is 8 table reads.
struct HexPairs {
  char pairs[256][2];
  constexpr HexPairs() : pairs() {
    for (int b = 0; b < 256; ++b) {
      pairs[b][0] = kHex[b & 15];
      pairs[b][1] = kHex[b >> 4];
    }
  }
};
constexpr HexPairs kHexPairs;

void put_hex(char* out, std::uint64_t value, std::size_t digits) {
  if (digits == 16) {
    for (int i = 0; i < 8; ++i) std::memcpy(out + 2 * i, kHexPairs.pairs[(value >> (8 * i)) & 0xFF], 2);
    return;
  }
  for (std::size_t i = 0; i < digits; ++i) out[i] = kHex[(value >> (4 * i)) & 15];
}

bool read_hex(const char* in, std::uint64_t& value) {
  value = 0;
  for (int i = 15; i >= 0; --i) {
    const char c = in[i];
    std::uint64_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<std::uint64_t>(c - 'a' + 10);
    else return false;
    value = (value << 4) | digit;
  }
  return true;
}

}  // namespace

Payload::Payload(std::size_t max_size) {
  // Printable ASCII from a fixed sequence: a shifted or swapped byte shows.
  pattern_.resize(max_size);
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < max_size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pattern_[i] = static_cast<char>(' ' + 1 + x % 94);
  }
  scratch_ = pattern_;
}

std::string_view Payload::echo_message(std::uint64_t seq, std::size_t size) {
  put_hex(scratch_.data(), seq, size < kEchoTag ? size : kEchoTag);
  return {scratch_.data(), size};
}

bool Payload::pattern_matches(std::string_view data, std::size_t from) const {
  return data.size() <= pattern_.size() &&
         std::memcmp(data.data() + from, pattern_.data() + from, data.size() - from) == 0;
}

bool Payload::is_echo_of(std::string_view data, std::uint64_t seq, std::size_t size) const {
  if (data.size() != size) return false;
  char tag[kEchoTag];
  const std::size_t digits = size < kEchoTag ? size : kEchoTag;
  put_hex(tag, seq, digits);
  return std::memcmp(data.data(), tag, digits) == 0 && pattern_matches(data, digits);
}

std::string_view Payload::fanout_message(std::uint64_t seq, std::int64_t intended_ns,
                                         std::size_t size) {
  char* out = scratch_.data();
  std::memcpy(out, kFanoutMagic.data(), kFanoutMagic.size());
  put_hex(out + 4, seq, 16);
  put_hex(out + 20, static_cast<std::uint64_t>(intended_ns), 16);
  return {scratch_.data(), size};
}

std::optional<Payload::FanoutTag> Payload::parse_fanout_tag(const char* tag) {
  std::uint64_t seq, when;
  if (std::memcmp(tag, kFanoutMagic.data(), kFanoutMagic.size()) != 0 || !read_hex(tag + 4, seq) ||
      !read_hex(tag + 20, when))
    return std::nullopt;
  return FanoutTag{seq, static_cast<std::int64_t>(when)};
}

std::optional<Payload::FanoutTag> Payload::read_fanout(std::string_view data) const {
  if (data.size() < kFanoutTag || !pattern_matches(data, kFanoutTag)) return std::nullopt;
  return parse_fanout_tag(data.data());
}

void Payload::echo_tag(std::uint64_t seq, char out[kEchoTag]) { put_hex(out, seq, kEchoTag); }

}  // namespace wsp_load
