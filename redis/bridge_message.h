// What the bridge publishes on its Redis channel: the publishing server's origin id, the topic
// (a chat room), whether the message is text or binary, and the message. A server recognises its own publishes coming back by the
// origin and drops them: its members had them at publish time, which is what keeps local
// delivery independent of Redis and the bridge free of loops.
//
//   <origin: 16 lowercase hex digits> ' ' <'t' text | 'b' binary> <topic length: decimal> ':'
//   <topic> <message>
//   "00000000000000ff t5:lobbyhello"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redis {

struct BridgeMessage {
  std::uint64_t origin = 0;
  std::string_view topic;    // into the payload given to decode
  std::string_view message;
  bool text = true;
};

// Appends the payload of `message` to `out`.
void append_bridge_message(std::string& out, const BridgeMessage& message);
// The parts of `payload`, or nothing when it is not in the format above (another program
// publishing on the channel).
std::optional<BridgeMessage> decode_bridge_message(std::string_view payload);

}  // namespace redis
