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

// Four consecutive 64-byte ChaCha20 blocks (RFC 8439 §2.3), counters `counter` to
// `counter + 3`: the keystream for `key` and `nonce`. The counter must not wrap within them.
constexpr std::size_t kChaCha20KeystreamBytes = 256;
void chacha20_keystream(const std::array<std::uint8_t, 32>& key,
                        const std::array<std::uint8_t, 12>& nonce, std::uint32_t counter,
                        std::uint8_t out[kChaCha20KeystreamBytes]);

}  // namespace wsp
