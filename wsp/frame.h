// Frame header encoding (RFC 6455 §5.2).
#pragma once

#include <cstddef>
#include <cstdint>

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
std::size_t encode_frame_header(std::uint8_t out[kMaxFrameHeader], Opcode opcode, bool fin,
                                std::uint64_t payload_len, const std::uint8_t* mask_key_or_null,
                                bool rsv1 = false);

}  // namespace wsp
