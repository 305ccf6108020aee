#include "redis/bridge_message.h"

#include <charconv>

namespace redis {

namespace {
constexpr std::size_t kOriginDigits = 16;
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

void append_bridge_message(std::string& out, const BridgeMessage& message) {
  char origin[kOriginDigits];
  for (std::size_t i = 0; i < kOriginDigits; ++i)
    origin[i] = kHex[(message.origin >> (4 * (kOriginDigits - 1 - i))) & 0xf];
  out.append(origin, kOriginDigits);
  out += ' ';
  out += message.text ? 't' : 'b';
  out += std::to_string(message.topic.size());
  out += ':';
  out += message.topic;
  out += message.message;
}

std::optional<BridgeMessage> decode_bridge_message(std::string_view payload) {
  if (payload.size() < kOriginDigits + 4 || payload[kOriginDigits] != ' ') return std::nullopt;
  BridgeMessage m;
  for (std::size_t i = 0; i < kOriginDigits; ++i) {
    const char c = payload[i];
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else return std::nullopt;
    m.origin = (m.origin << 4) | static_cast<std::uint64_t>(digit);
  }
  const char kind = payload[kOriginDigits + 1];
  if (kind != 't' && kind != 'b') return std::nullopt;
  m.text = kind == 't';
  const char* p = payload.data() + kOriginDigits + 2;
  const char* const end = payload.data() + payload.size();
  if (*p < '0' || *p > '9' || (*p == '0' && p + 1 < end && p[1] != ':')) return std::nullopt;
  std::size_t topic_length = 0;
  auto [colon, ec] = std::from_chars(p, end, topic_length);
  if (ec != std::errc() || colon == end || *colon != ':') return std::nullopt;
  const std::size_t topic_at = static_cast<std::size_t>(colon + 1 - payload.data());
  if (topic_length > payload.size() - topic_at) return std::nullopt;
  m.topic = payload.substr(topic_at, topic_length);
  m.message = payload.substr(topic_at + topic_length);
  return m;
}

}  // namespace redis
