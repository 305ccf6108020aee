#include "tools/load/payload.h"

#include <algorithm>
#include <cstring>

#include "tools/load/message_sizes.h"

namespace wsp_load {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The two digits of every byte, low nibble first: a tag is 8 table reads.
struct HexPairs {
  char pairs[256][2];
  constexpr HexPairs() : pairs() {
    for (int b = 0; b < 256; ++b) {
      pairs[b][0] = kHex[b & 15];
      pairs[b][1] = kHex[b >> 4];
    }
  }
};
constexpr HexPairs kHexPairs;

void put_hex(char* out, std::uint64_t value, std::size_t digits) {
  if (digits == 16) {
    for (int i = 0; i < 8; ++i) std::memcpy(out + 2 * i, kHexPairs.pairs[(value >> (8 * i)) & 0xFF], 2);
    return;
  }
  for (std::size_t i = 0; i < digits; ++i) out[i] = kHex[(value >> (4 * i)) & 15];
}

bool read_hex(const char* in, std::uint64_t& value) {
  value = 0;
  for (int i = 15; i >= 0; --i) {
    const char c = in[i];
    std::uint64_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<std::uint64_t>(c - 'a' + 10);
    else return false;
    value = (value << 4) | digit;
  }
  return true;
}

// The words of chat text: common short chat English, so deflate finds what it finds in real
// chat (repeated words and envelopes), not a repeated message.
constexpr std::string_view kRooms[] = {"general", "dev", "ops", "random", "music", "games",
                                       "news", "help"};
constexpr std::string_view kUsers[] = {"ana", "bob", "chen", "dmitri", "eva", "farid", "gus",
                                       "hana", "ivan", "jo", "kai", "lena", "mo", "nia", "omar",
                                       "pia"};
constexpr std::string_view kWords[] = {
    "the", "a", "to", "and", "I", "you", "it", "is", "that", "of", "in", "for", "on", "we", "this",
    "be", "with", "have", "not", "but", "just", "so", "can", "do", "was", "are", "if", "at", "my",
    "what", "about", "will", "no", "yes", "ok", "lol", "yeah", "think", "know", "get", "got",
    "like", "now", "time", "today", "tomorrow", "meeting", "deploy", "build", "test", "tests",
    "fix", "bug", "review", "merge", "branch", "server", "client", "latency", "memory", "release",
    "issue", "ticket", "done", "still", "again", "looks", "good", "bad", "weird", "maybe", "need",
    "want", "see", "check", "sure", "thanks", "please", "sorry", "later", "soon", "morning",
    "night", "lunch", "coffee", "back", "away", "here", "there", "who", "when", "why", "how",
    "should", "could", "would", "did", "does", "one", "two", "more", "less", "all", "some",
    "any", "new", "old", "first", "last", "next", "week", "day", "hour", "minute", "works",
    "broken", "slow", "fast", "crash", "logs", "config", "docs", "update", "ping", "call",
    "team", "project", "plan", "idea", "question", "answer", "problem", "because", "really",
    "actually", "probably", "already", "right", "left", "up", "down", "from", "by", "or", "an",
    "has", "had", "let", "me", "us", "them", "they", "he", "she", "our", "your", ":)", "+1",
    "btw", "afaik", "imo", "np", "haha", "nice", "cool", "great", "ugh", "hmm", "wow"};

// One chat message as JSON, cut or filled to `size` bytes with the tail "} at its end.
void write_chat(Random& random, std::uint64_t ts, std::size_t size, char* out) {
  std::string m = "{\"room\":\"";
  m += kRooms[random.below(std::size(kRooms))];
  m += "\",\"user\":\"";
  m += kUsers[random.below(std::size(kUsers))];
  m += "\",\"ts\":" + std::to_string(ts) + ",\"text\":\"";
  const std::size_t body = size < 2 ? 0 : size - 2;
  bool first = true;
  while (m.size() < body) {
    if (!first) m += ' ';
    first = false;
    m += kWords[random.below(std::size(kWords))];
    const std::uint64_t p = random.below(40);  // punctuation now and then
    if (p < 3) m += '.';
    else if (p < 5) m += ',';
    else if (p == 5) m += '?';
    else if (p == 6) m += '!';
  }
  std::memcpy(out, m.data(), body);
  // The closing `"}`, or its last byte or nothing when size is under 2.
  static constexpr char kClose[] = "\"}";
  const std::size_t tail = size - body;
  std::memcpy(out + body, kClose + (2 - tail), tail);
}

}  // namespace

bool parse_payload_kind(std::string_view text, PayloadKind& out) {
  if (text == "pattern") out = PayloadKind::pattern;
  else if (text == "random") out = PayloadKind::random;
  else if (text == "chat") out = PayloadKind::chat;
  else return false;
  return true;
}

const char* to_string(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::random: return "random";
    case PayloadKind::chat: return "chat";
    case PayloadKind::pattern: break;
  }
  return "pattern";
}

MessagePool::MessagePool(PayloadKind kind, std::size_t max_size, std::uint64_t seed)
    : kind_(kind),
      max_size_(max_size),
      count_(std::clamp<std::size_t>(max_size == 0 ? 1024 : (std::size_t{8} << 20) / max_size, 4,
                                     1024)),
      tail_(kind == PayloadKind::chat ? "\"}" : "") {
  entries_.resize(count_ * max_size_);
  Random random(seed);
  std::uint64_t ts = 1700000000 + random.below(100'000'000);
  for (std::size_t i = 0; i < count_; ++i) {
    char* out = entries_.data() + i * max_size_;
    if (kind == PayloadKind::chat) {
      ts += random.below(30);
      write_chat(random, ts, max_size_, out);
      continue;
    }
    for (std::size_t k = 0; k < max_size_; k += 8) {
      const std::uint64_t r = random.next();
      std::memcpy(out + k, &r, std::min<std::size_t>(8, max_size_ - k));
    }
  }
}

Payload::Payload(std::size_t max_size, PayloadKind kind, std::uint64_t seed)
    : Payload(max_size, kind == PayloadKind::pattern
                            ? nullptr
                            : std::make_shared<const MessagePool>(kind, max_size, seed)) {}

Payload::Payload(std::size_t max_size, std::shared_ptr<const MessagePool> pool)
    : pool_(std::move(pool)) {
  // Printable ASCII from a fixed sequence: a shifted or swapped byte shows.
  pattern_.resize(max_size);
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < max_size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pattern_[i] = static_cast<char>(' ' + 1 + x % 94);
  }
  scratch_ = pattern_;
}

std::string_view Payload::echo_message(std::uint64_t seq, std::size_t size) {
  if (pool_) {
    const char* entry = pool_->entry(seq);
    if (size == pool_->max_size()) return {entry, size};
    const std::size_t body = pool_->body_size(size);
    const std::string_view tail = pool_->tail();
    std::memcpy(scratch_.data(), entry, body);
    std::memcpy(scratch_.data() + body, tail.data() + tail.size() - (size - body), size - body);
    return {scratch_.data(), size};
  }
  put_hex(scratch_.data(), seq, size < kEchoTag ? size : kEchoTag);
  return {scratch_.data(), size};
}

bool Payload::pattern_matches(std::string_view data, std::size_t from) const {
  return data.size() <= pattern_.size() &&
         std::memcmp(data.data() + from, pattern_.data() + from, data.size() - from) == 0;
}

bool Payload::is_echo_of(std::string_view data, std::uint64_t seq, std::size_t size) const {
  if (data.size() != size) return false;
  if (pool_) {
    if (size > pool_->max_size()) return false;
    const std::size_t body = pool_->body_size(size);
    const std::string_view tail = pool_->tail();
    return std::memcmp(data.data(), pool_->entry(seq), body) == 0 &&
           data.substr(body) == tail.substr(tail.size() - (size - body));
  }
  char tag[kEchoTag];
  const std::size_t digits = size < kEchoTag ? size : kEchoTag;
  put_hex(tag, seq, digits);
  return std::memcmp(data.data(), tag, digits) == 0 && pattern_matches(data, digits);
}

std::string_view Payload::fanout_message(std::uint64_t seq, std::int64_t intended_ns,
                                         std::size_t size) {
  char* out = scratch_.data();
  std::memcpy(out, kFanoutMagic.data(), kFanoutMagic.size());
  put_hex(out + 4, seq, 16);
  put_hex(out + 20, static_cast<std::uint64_t>(intended_ns), 16);
  return {scratch_.data(), size};
}

std::optional<Payload::FanoutTag> Payload::parse_fanout_tag(const char* tag) {
  std::uint64_t seq, when;
  if (std::memcmp(tag, kFanoutMagic.data(), kFanoutMagic.size()) != 0 || !read_hex(tag + 4, seq) ||
      !read_hex(tag + 20, when))
    return std::nullopt;
  return FanoutTag{seq, static_cast<std::int64_t>(when)};
}

std::optional<Payload::FanoutTag> Payload::read_fanout(std::string_view data) const {
  if (data.size() < kFanoutTag || !pattern_matches(data, kFanoutTag)) return std::nullopt;
  return parse_fanout_tag(data.data());
}

void Payload::echo_tag(std::uint64_t seq, char out[kEchoTag]) { put_hex(out, seq, kEchoTag); }

}  // namespace wsp_load
