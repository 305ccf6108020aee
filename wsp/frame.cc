#include "wsp/frame.h"

#include <cstring>

namespace wsp {

std::size_t encode_frame_header(std::uint8_t out[kMaxFrameHeader], Opcode opcode, bool fin,
                                std::uint64_t payload_len, const std::uint8_t* mask_key_or_null,
                                bool rsv1) {
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
