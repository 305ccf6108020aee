// Unpredictable bytes for the protocol: the kernel's CSPRNG (getrandom(2)) for a client's
// Sec-WebSocket-Key and the masking keys' seed, and a ChaCha20 keystream (RFC 8439 §2.3) that
// stretches such a seed into masking keys at a few nanoseconds each. Our own, so that a program
// without TLS never loads libcrypto (tls/boringssl.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace wsp {

// Fills `out` from getrandom(2), blocking only until the kernel's pool is first seeded. Aborts if
// the kernel refuses: keys that could be guessed leave nothing safe to do.
void system_random(std::uint8_t* out, std::size_t size);

// One 64-byte ChaCha20 block (RFC 8439 §2.3): the keystream for `key`, `nonce` and `counter`.
void chacha20_block(const std::array<std::uint8_t, 32>& key,
                    const std::array<std::uint8_t, 12>& nonce, std::uint32_t counter,
                    std::uint8_t out[64]);

}  // namespace wsp
