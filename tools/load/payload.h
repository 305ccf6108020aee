// Payload: what a wsp-load message carries, so that a reply can be checked byte for byte
// without keeping a copy of what was sent. A message is a tag followed by a fixed pattern of
// printable ASCII (so any message is valid text):
//   echo:    16 hex digits of the message's sequence number on its connection, least
//            significant digit first (a message shorter than 16 bytes carries the low digits)
//   fanout:  "wspL", 16 hex digits of the sequence number, 16 of the intended send time (ns on
//            the sender's monotonic clock); receivers read both back
// The writer keeps one buffer of the largest size, already holding the pattern, and only
// rewrites the tag: a message costs no allocation and a copy of at most 36 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsp_load {

class Payload {
 public:
  static constexpr std::size_t kEchoTag = 16;
  static constexpr std::size_t kFanoutTag = 36;
  static constexpr std::string_view kFanoutMagic = "wspL";

  explicit Payload(std::size_t max_size);

  // The message for `seq` of `size` bytes; valid until the next call.
  std::string_view echo_message(std::uint64_t seq, std::size_t size);
  // Whether `data` is exactly echo_message(seq, size).
  bool is_echo_of(std::string_view data, std::uint64_t seq, std::size_t size) const;

  // size >= kFanoutTag.
  std::string_view fanout_message(std::uint64_t seq, std::int64_t intended_ns, std::size_t size);
  struct FanoutTag {
    std::uint64_t seq;
    std::int64_t intended_ns;
  };
  static bool is_fanout(std::string_view data) { return data.substr(0, 4) == kFanoutMagic; }
  // The tag of a fanout message whose every byte is as sent, else nullopt.
  std::optional<FanoutTag> read_fanout(std::string_view data) const;

  // For checking a reply piece by piece as it arrives: the tag bytes (kEchoTag of them; a
  // message shorter than that carries their start), the pattern after them, and the tag of a
  // fanout message from its first kFanoutTag bytes (magic and hex digits; nullopt otherwise).
  static void echo_tag(std::uint64_t seq, char out[kEchoTag]);
  const char* pattern() const { return pattern_.data(); }
  std::size_t max_size() const { return pattern_.size(); }
  static std::optional<FanoutTag> parse_fanout_tag(const char* tag);

 private:
  bool pattern_matches(std::string_view data, std::size_t from) const;
  std::string pattern_;  // the pattern, max_size bytes
  std::string scratch_;  // the pattern with the current tag written over its start
};

}  // namespace wsp_load
