#include "wsp/engine/shared_frame.h"

#include "wsp/protocol/frame.h"

namespace wsp {

SharedFrameRef SharedFrame::encode(bool text, std::string_view payload) {
  std::uint8_t header[kMaxFrameHeader];
  const std::size_t header_size =
      encode_frame_header(header, text ? Opcode::text : Opcode::binary, true, payload.size(), nullptr, false);
  auto* frame = new SharedFrame;
  frame->bytes_.reserve(header_size + payload.size());
  frame->bytes_.append(reinterpret_cast<const char*>(header), header_size);
  frame->bytes_.append(payload);
  frame->header_size_ = static_cast<std::uint8_t>(header_size);
  frame->text_ = text;
  return SharedFrameRef(frame);
}

}  // namespace wsp
