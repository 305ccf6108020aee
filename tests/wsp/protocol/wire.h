// Test helpers: raw frames built byte by byte (so tests can set any bit, even illegal ones) and
// a driver that feeds a Protocol in chunks and collects its events.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wsp/protocol/mask_key_source.h"
#include "wsp/protocol/protocol.h"

namespace wsp::test {

inline const std::uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// A frame with first byte `b0` (FIN/RSV/opcode), the payload length in the shortest form
// unless `force_len_bytes` says 2 or 8, masked with kKey when `masked`.
inline std::string raw_frame(std::uint8_t b0, const std::string& payload, bool masked,
                             int force_len_bytes = 0) {
  std::string f;
  f.push_back(static_cast<char>(b0));
  const std::uint8_t m = masked ? 0x80 : 0;
  const std::uint64_t n = payload.size();
  if (force_len_bytes == 8 || (force_len_bytes == 0 && n > 0xFFFF)) {
    f.push_back(static_cast<char>(m | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(n >> (8 * i)));
  } else if (force_len_bytes == 2 || n > 125) {
    f.push_back(static_cast<char>(m | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(m | n));
  }
  if (masked) {
    f.append(reinterpret_cast<const char*>(kKey), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
      f.push_back(static_cast<char>(payload[i] ^ kKey[i & 3]));
  } else {
    f += payload;
  }
  return f;
}

// First bytes of frames: FIN + opcode.
constexpr std::uint8_t kText = 0x81, kBinary = 0x82, kClose = 0x88, kPing = 0x89, kPong = 0x8A;
constexpr std::uint8_t kTextStart = 0x01, kBinaryStart = 0x02, kCont = 0x00, kContFin = 0x80;

// What a peer in `role` receives from the other side: frames from a client are masked.
inline std::string from_peer(Role receiver, std::uint8_t b0, const std::string& payload) {
  return raw_frame(b0, payload, receiver == Role::server);
}

inline std::string close_payload(int code, const std::string& reason = "") {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code));
  return p + reason;
}

// Feeds `bytes` in chunks of `chunk` bytes (0 = all at once), honouring the one-event-per-call
// contract, and returns every event.
inline std::vector<ProtocolEvent> feed(Protocol& p, const std::string& bytes, std::size_t chunk = 0) {
  std::vector<ProtocolEvent> events;
  std::size_t off = 0;
  if (chunk == 0) chunk = bytes.size() ? bytes.size() : 1;
  while (off < bytes.size()) {
    const std::size_t end = std::min(bytes.size(), off + chunk);
    std::size_t pos = off;
    while (pos < end) {
      ProtocolEvent ev;
      const std::size_t n =
          p.receive(reinterpret_cast<const std::uint8_t*>(bytes.data()) + pos, end - pos, ev);
      pos += n;
      if (ev.type != ProtocolEventType::none) events.push_back(std::move(ev));
      else if (n == 0) break;
    }
    off = end;
  }
  return events;
}

// Known masking keys, so tests can compare a client's bytes exactly: 11 22 33 44 for the first
// frame, each byte one more for every frame after it.
class FixedMaskKeys final : public MaskKeySource {
 public:
  std::array<std::uint8_t, 4> next() override {
    const std::uint8_t k = count_++;
    return {std::uint8_t(0x11 + k), std::uint8_t(0x22 + k), std::uint8_t(0x33 + k),
            std::uint8_t(0x44 + k)};
  }

 private:
  std::uint8_t count_ = 0;
};

// A config for `role` with fixed masking keys of its own for a client.
inline ProtocolConfig config_for(Role role, std::size_t max_message = 65535) {
  static FixedMaskKeys keys;  // shared: tests that compare masked bytes make their own
  ProtocolConfig c;
  c.role = role;
  c.max_message_size = max_message;
  c.mask_keys = &keys;
  return c;
}

inline Protocol make(Role role, std::size_t max_message = 65535) {
  return Protocol(config_for(role, max_message));
}

// Decodes the frames in a Protocol's output (as the other side would), unmasking when needed.
struct WireFrame {
  std::uint8_t b0;
  bool masked;
  std::string payload;
};

inline std::vector<WireFrame> parse_output(std::string_view out) {
  std::vector<WireFrame> frames;
  std::size_t i = 0;
  while (i + 2 <= out.size()) {
    WireFrame f;
    f.b0 = static_cast<std::uint8_t>(out[i]);
    const std::uint8_t b1 = static_cast<std::uint8_t>(out[i + 1]);
    f.masked = b1 & 0x80;
    std::uint64_t n = b1 & 0x7F;
    i += 2;
    if (n == 126) {
      n = (std::uint64_t(std::uint8_t(out[i])) << 8) | std::uint8_t(out[i + 1]);
      i += 2;
    } else if (n == 127) {
      n = 0;
      for (int k = 0; k < 8; ++k) n = (n << 8) | std::uint8_t(out[i + k]);
      i += 8;
    }
    std::uint8_t key[4] = {0, 0, 0, 0};
    if (f.masked) {
      for (int k = 0; k < 4; ++k) key[k] = std::uint8_t(out[i + k]);
      i += 4;
    }
    f.payload.assign(out.substr(i, n));
    for (std::size_t k = 0; k < f.payload.size(); ++k) f.payload[k] ^= key[k & 3];
    i += n;
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace wsp::test
