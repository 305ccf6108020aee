// Frame header encoding (RFC 6455 §5.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wsp {

enum class Opcode : std::uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10,
};

// Control frames have the high bit of the opcode set (§5.5).
constexpr bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// The largest frame header: 2 bytes + 8-byte extended length + 4-byte masking key.
inline constexpr std::size_t kMaxFrameHeader = 14;

// Writes a frame header into `out` and returns its length (2..14). The length uses the
// shortest form (7, 16 or 64 bits, §5.2); `mask_key_or_null` points to 4 key bytes for a masked
// (client) frame. The payload itself is not touched: the caller masks it with that key.
// Inline: it is on the path of every message sent.
inline std::size_t encode_frame_header(std::uint8_t out[kMaxFrameHeader], Opcode opcode,
                                       bool fin, std::uint64_t payload_len,
                                       const std::uint8_t* mask_key_or_null, bool rsv1 = false) {
  out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                     (static_cast<std::uint8_t>(opcode) & 0x0F));
  const std::uint8_t mask_bit = mask_key_or_null ? 0x80 : 0;
  std::size_t n;
  if (payload_len <= 125) {
    out[1] = static_cast<std::uint8_t>(mask_bit | payload_len);
    n = 2;
  } else if (payload_len <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<std::uint8_t>(payload_len >> 8);
    out[3] = static_cast<std::uint8_t>(payload_len);
    n = 4;
  } else {
    out[1] = mask_bit | 127;
    // §5.2: the most significant bit of the 64-bit length must be 0.
    payload_len &= 0x7FFFFFFFFFFFFFFFull;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(payload_len >> (56 - 8 * i));
    n = 10;
  }
  if (mask_key_or_null) {
    std::memcpy(out + n, mask_key_or_null, 4);
    n += 4;
  }
  return n;
}

}  // namespace wsp
