// Base64 (RFC 4648 §4) for the opening handshake keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsp {

std::string base64_encode(const std::uint8_t* data, std::size_t len);
// The same into `out`, which has room for 4 * ((len + 2) / 3) + 1 bytes (a NUL ends it);
// returns the length without the NUL.
std::size_t base64_encode_to(const std::uint8_t* data, std::size_t len, char* out);
// Padded standard alphabet only; std::nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view text);
// Whether `text` decodes (as base64_decode would) to exactly `size` bytes, `size` at most 48:
// decoded on the stack, nothing allocated.
bool base64_decodes_to_size(std::string_view text, std::size_t size);

}  // namespace wsp
