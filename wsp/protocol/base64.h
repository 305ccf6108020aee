// Base64 (RFC 4648 §4) for the opening handshake keys, on top of BoringSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsp {

std::string base64_encode(const std::uint8_t* data, std::size_t len);
// Padded standard alphabet only; std::nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace wsp
