// Payload: what a wsp-load message carries, so that a reply can be checked byte for byte
// without keeping a copy of what was sent. A message is a tag followed by a fixed pattern of
// printable ASCII (so any message is valid text):
//   echo:    16 hex digits of the message's sequence number on its connection, least
//            significant digit first (a message shorter than 16 bytes carries the low digits)
//   fanout:  "wspL", 16 hex digits of the sequence number, 16 of the intended send time (ns on
//            the sender's monotonic clock); receivers read both back
// The writer keeps one buffer of the largest size, already holding the pattern, and only
// rewrites the tag: a message costs no allocation and a copy of at most 36 bytes.
//
// That pattern is the same in every message, which flatters permessage-deflate with context
// takeover (the second message is one back-reference). --payload random|chat (echo only) draws
// messages instead from a pool made up front from a seed, cycled by sequence number:
//   random:  uniformly random bytes (incompressible; binary only, as they are not UTF-8)
//   chat:    ASCII chat JSON {"room":"dev","user":"ana","ts":1700000123,"text":"..."} whose text
//            is words from a fixed list; JSON from about 60 bytes up (a smaller message is the
//            start of one, closed with "}), valid UTF-8 text at any size
// A pool entry has the largest size; a message of `size` bytes is the start of entry
// seq % count, then the pool's tail ("} for chat, nothing for random) as its last bytes. At
// the largest size that is the entry itself (no copy); a smaller one is copied into scratch.
// The pool holds 8 MiB / largest size entries, from 4 to 1024: 64 KiB of 64-byte messages, so
// context takeover's 32 KiB window never holds an earlier copy of a message. wsp-load makes it
// once, before the run, and its threads share it (read only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wsp_load {

enum class PayloadKind { pattern, random, chat };
bool parse_payload_kind(std::string_view text, PayloadKind& out);
const char* to_string(PayloadKind kind);

class MessagePool {
 public:
  MessagePool(PayloadKind kind, std::size_t max_size, std::uint64_t seed);
  PayloadKind kind() const { return kind_; }
  std::size_t count() const { return count_; }
  std::size_t max_size() const { return max_size_; }
  const char* entry(std::uint64_t seq) const { return entries_.data() + (seq % count_) * max_size_; }
  // The last min(size, tail().size()) bytes of every message are the end of tail().
  std::string_view tail() const { return tail_; }
  // The bytes of a `size`-byte message taken from its entry; the rest are tail's end.
  std::size_t body_size(std::size_t size) const {
    return size - (size < tail_.size() ? size : tail_.size());
  }

 private:
  PayloadKind kind_;
  std::size_t max_size_, count_;
  std::string_view tail_;
  std::string entries_;  // count_ entries of max_size_ bytes
};

class Payload {
 public:
  static constexpr std::size_t kEchoTag = 16;
  static constexpr std::size_t kFanoutTag = 36;
  static constexpr std::string_view kFanoutMagic = "wspL";

  // A pool of `kind` made from `seed` (none for pattern).
  explicit Payload(std::size_t max_size, PayloadKind kind = PayloadKind::pattern,
                   std::uint64_t seed = 1);
  // Echo messages from `pool` (null: the pattern); max_size at least the pool's.
  Payload(std::size_t max_size, std::shared_ptr<const MessagePool> pool);
  PayloadKind kind() const { return pool_ ? pool_->kind() : PayloadKind::pattern; }
  // random or chat: the pool the echo messages come from (nullptr for pattern).
  const MessagePool* pool() const { return pool_.get(); }

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
  std::shared_ptr<const MessagePool> pool_;
  std::string pattern_;  // the pattern, max_size bytes
  std::string scratch_;  // the pattern with the current tag written over its start
};

}  // namespace wsp_load
