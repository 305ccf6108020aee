// ServerFrameReader: the frames a server sends to wsp-load, parsed as they arrive and handed on
// in place, sans-IO. wsp-load checks every reply byte for byte against what it sent, so it
// never needs a message assembled: payload pieces go straight from the receive buffer to the
// check (no copy, no allocation), which keeps the load generator cheaper than the server it
// measures. Only control payloads (<= 125 bytes) are kept.
//
// The Handler gets, in order:
//   message_begin(bool text, bool compressed), message_data(const uint8_t*, size_t)...,
//   message_end()
//   control(wsp::Opcode, const uint8_t* payload, size_t)       ping, pong and close frames
// A control frame may come between the frames of a fragmented message (§5.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wsp/protocol/frame.h"

namespace wsp_load {

class ServerFrameReader {
 public:
  // Feeds received bytes, split anywhere. False once the server broke the protocol: see
  // failure(); nothing more is read.
  template <typename Handler>
  bool feed(const std::uint8_t* data, std::size_t size, Handler& handler);

  const char* failure() const { return failure_; }
  bool failed() const { return failure_ != nullptr; }

  // permessage-deflate was negotiated (RFC 7692 §6): RSV1 marks a compressed message on its
  // first frame.
  void accept_compressed() { reserved_bits_ = 0x30; }
  // The handler found a message it cannot take (a compressed one that does not inflate):
  // nothing more is read.
  void stop(const char* why) { failure_ = why; }

 private:
  template <typename Handler>
  bool start_frame(const std::uint8_t* header, Handler& handler);
  bool fail(const char* why) {
    failure_ = why;
    return false;
  }
  // Bytes the header needs in all, from its first two (server frames are never masked).
  static std::size_t header_size(std::uint8_t second) {
    const std::uint8_t len = second & 0x7F;
    return len == 126 ? 4 : len == 127 ? 10 : 2;
  }

  std::uint8_t header_[10];
  std::size_t header_have_ = 0;
  bool in_payload_ = false;
  std::uint64_t payload_left_ = 0;
  wsp::Opcode opcode_ = wsp::Opcode::continuation;
  bool fin_ = false;
  bool in_message_ = false;  // a fragmented data message has begun and not ended
  std::uint8_t control_[125];
  std::size_t control_have_ = 0;
  const char* failure_ = nullptr;
  std::uint8_t reserved_bits_ = 0x70;  // the RSV bits that must be 0 on every frame
};

template <typename Handler>
bool ServerFrameReader::start_frame(const std::uint8_t* h, Handler& handler) {
  // RFC 6455 §5.2: the RSV bits no negotiated extension uses must be 0.
  if (h[0] & reserved_bits_) return fail("a reserved bit (RSV1-3) is set");
  const bool compressed = (h[0] & 0x40) != 0;
  // §5.1: a server must not mask the frames it sends.
  if (h[1] & 0x80) return fail("a masked frame from the server");
  opcode_ = static_cast<wsp::Opcode>(h[0] & 0x0F);
  fin_ = (h[0] & 0x80) != 0;
  const std::uint8_t len7 = h[1] & 0x7F;
  if (len7 < 126) {
    payload_left_ = len7;
  } else if (len7 == 126) {
    payload_left_ = (std::uint64_t{h[2]} << 8) | h[3];
  } else {
    payload_left_ = 0;
    for (int i = 0; i < 8; ++i) payload_left_ = (payload_left_ << 8) | h[2 + i];
    if (payload_left_ >> 63) return fail("a 64-bit length with its top bit set");  // §5.2
  }
  switch (opcode_) {
    case wsp::Opcode::text:
    case wsp::Opcode::binary:
      if (in_message_) return fail("a new message inside a fragmented one");  // §5.4
      in_message_ = true;
      handler.message_begin(opcode_ == wsp::Opcode::text, compressed);
      break;
    case wsp::Opcode::continuation:
      if (!in_message_) return fail("a continuation frame outside a message");
      // RFC 7692 §6.1: RSV1 only on a message's first frame.
      if (compressed) return fail("RSV1 on a continuation frame");
      break;
    case wsp::Opcode::close:
    case wsp::Opcode::ping:
    case wsp::Opcode::pong:
      // §5.5: control frames are not fragmented and carry at most 125 bytes.
      if (!fin_ || payload_left_ > 125) return fail("a fragmented or oversized control frame");
      if (compressed) return fail("RSV1 on a control frame");  // RFC 7692 §6.1
      control_have_ = 0;
      break;
    default:
      return fail("a reserved opcode");
  }
  in_payload_ = true;
  return true;
}

template <typename Handler>
bool ServerFrameReader::feed(const std::uint8_t* data, std::size_t size, Handler& handler) {
  if (failure_) return false;
  const std::uint8_t* end = data + size;
  while (data < end) {
    if (!in_payload_) {
      // A whole header in the buffer (the usual case) is parsed where it lies.
      const std::uint8_t* h;
      if (header_have_ == 0 && end - data >= 2 &&
          static_cast<std::size_t>(end - data) >= header_size(data[1])) {
        h = data;
        data += header_size(data[1]);
      } else {
        header_[header_have_++] = *data++;
        if (header_have_ < 2 || header_have_ < header_size(header_[1])) continue;
        h = header_;
        header_have_ = 0;
      }
      if (!start_frame(h, handler)) return false;
    }
    const std::size_t n = static_cast<std::size_t>(
        payload_left_ < static_cast<std::uint64_t>(end - data) ? payload_left_ : end - data);
    if (wsp::is_control(opcode_)) {
      std::memcpy(control_ + control_have_, data, n);
      control_have_ += n;
    } else if (n) {
      handler.message_data(data, n);
    }
    data += n;
    payload_left_ -= n;
    if (payload_left_ == 0) {
      in_payload_ = false;
      if (wsp::is_control(opcode_)) {
        handler.control(opcode_, control_, control_have_);
      } else if (fin_) {
        in_message_ = false;
        handler.message_end();
        if (failure_) return false;
      }
    }
  }
  return true;
}

}  // namespace wsp_load
