// Masking of WebSocket payloads (RFC 6455 §5.3): XOR with a 4-byte key, repeating.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace wsp {

// XORs `len` bytes at `data` in place with `key`, starting at key byte `key_offset % 4`, so a
// payload that arrives in pieces is unmasked piece by piece with the running offset.
// No alignment is required of `data`.
void apply_mask(std::uint8_t* data, std::size_t len, std::array<std::uint8_t, 4> key,
                std::size_t key_offset = 0);

// Writes src ^ key into dst (they must not overlap partially; dst == src is allowed):
// masking while copying into a frame buffer saves a second pass over the payload.
void mask_copy(std::uint8_t* dst, const std::uint8_t* src, std::size_t len,
               std::array<std::uint8_t, 4> key, std::size_t key_offset = 0);

// The byte-at-a-time reference, kept for tests and as the benchmark baseline.
void mask_copy_bytewise(std::uint8_t* dst, const std::uint8_t* src, std::size_t len,
                        std::array<std::uint8_t, 4> key, std::size_t key_offset = 0);

}  // namespace wsp
