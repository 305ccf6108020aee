// wsp-load's parts without I/O: --size, payloads checked byte for byte, durations, objectives,
// the fanout sender's pace.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "tools/load/fanout_pace.h"
#include "tools/load/load_options.h"
#include "tools/load/message_sizes.h"
#include "tools/load/payload.h"

using namespace wsp_load;

TEST_CASE("--size takes a size, a range or a weighted list, with K and M") {
  MessageSizes s;
  REQUIRE(MessageSizes::parse("64", s).empty());
  CHECK(s.is_fixed());
  CHECK(s.max() == 64);
  REQUIRE(MessageSizes::parse("64-1K", s).empty());
  CHECK(s.min() == 64);
  CHECK(s.max() == 1024);
  REQUIRE(MessageSizes::parse("64:9,4096:1", s).empty());
  CHECK(s.describe() == "64:9,4096:1");
  REQUIRE(MessageSizes::parse("1M", s).empty());
  CHECK(s.max() == 1 << 20);
  for (const char* bad : {"", "x", "10-5", "64,128", "64:9,128", "64:0", "-5", "2000M"}) {
    CAPTURE(bad);
    CHECK_FALSE(MessageSizes::parse(bad, s).empty());
  }
}

TEST_CASE("a weighted size list is drawn in proportion to its weights") {
  MessageSizes s;
  REQUIRE(MessageSizes::parse("64:9,4096:1", s).empty());
  Random random(1);
  std::map<std::size_t, int> seen;
  for (int i = 0; i < 100'000; ++i) ++seen[s.draw(random)];
  REQUIRE(seen.size() == 2);
  CHECK(seen[64] == Approx(90'000).margin(1'500));
  CHECK(seen[4096] == Approx(10'000).margin(1'500));
  REQUIRE(MessageSizes::parse("10-20", s).empty());
  for (int i = 0; i < 1'000; ++i) {
    const std::size_t n = s.draw(random);
    REQUIRE(n >= 10);
    REQUIRE(n <= 20);
  }
}

TEST_CASE("an echo matches only the exact bytes sent for its sequence number") {
  Payload payload(4096);
  const std::string sent(payload.echo_message(1234, 100));
  CHECK(payload.is_echo_of(sent, 1234, 100));
  CHECK_FALSE(payload.is_echo_of(sent, 1235, 100));    // another message
  CHECK_FALSE(payload.is_echo_of(sent.substr(1), 1234, 100));
  for (std::size_t at : {0, 15, 16, 50, 99}) {  // a flipped bit anywhere
    std::string corrupt = sent;
    corrupt[at] ^= 0x01;
    CAPTURE(at);
    CHECK_FALSE(payload.is_echo_of(corrupt, 1234, 100));
  }
  for (unsigned char c : sent) CHECK((c >= 0x21 && c <= 0x7e));  // printable: valid text
  const std::string tiny(payload.echo_message(0x5a, 3));          // shorter than the tag
  CHECK(tiny == "a50");
  CHECK(payload.is_echo_of(tiny, 0x5a, 3));
}

TEST_CASE("a fanout message carries its sequence number and intended send time") {
  Payload payload(256);
  const std::string sent(payload.fanout_message(77, 123456789012345, 64));
  REQUIRE(Payload::is_fanout(sent));
  auto tag = payload.read_fanout(sent);
  REQUIRE(tag);
  CHECK(tag->seq == 77);
  CHECK(tag->intended_ns == 123456789012345);
  std::string corrupt = sent;
  corrupt[60] ^= 0x01;
  CHECK_FALSE(payload.read_fanout(corrupt));
  CHECK_FALSE(Payload::is_fanout("* someone joined (2 here)"));
}

namespace {

// What raw DEFLATE (as permessage-deflate without context takeover, level 6) makes of one
// message: compressed bytes over message bytes.
double deflate_ratio(std::string_view message) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, message.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&z, Z_SYNC_FLUSH);
  const double ratio = static_cast<double>(z.total_out - 4) / message.size();  // RFC 7692 §7.2.1: no 00 00 ff ff
  deflateEnd(&z);
  REQUIRE(status == Z_OK);
  return ratio;
}

// The mean ratio over `count` consecutive messages of `size` bytes.
double mean_ratio(Payload& payload, std::size_t size, int count) {
  double sum = 0;
  for (int seq = 0; seq < count; ++seq) sum += deflate_ratio(payload.echo_message(seq, size));
  return sum / count;
}

bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace

TEST_CASE("--payload takes pattern, random or chat") {
  PayloadKind kind = PayloadKind::pattern;
  CHECK(parse_payload_kind("chat", kind));
  CHECK(kind == PayloadKind::chat);
  CHECK(parse_payload_kind("random", kind));
  CHECK(kind == PayloadKind::random);
  CHECK(parse_payload_kind("pattern", kind));
  CHECK(kind == PayloadKind::pattern);
  CHECK_FALSE(parse_payload_kind("json", kind));
  CHECK(std::string(to_string(PayloadKind::chat)) == "chat");
}

TEST_CASE("random and chat messages are exactly the size asked, each an echo of itself only") {
  for (PayloadKind kind : {PayloadKind::random, PayloadKind::chat}) {
    Payload payload(16384, kind);
    for (std::size_t size : {0, 1, 2, 3, 17, 64, 1000, 1024, 16383, 16384}) {
      CAPTURE(to_string(kind), size);
      const std::string sent(payload.echo_message(5, size));
      REQUIRE(sent.size() == size);
      CHECK(payload.is_echo_of(sent, 5, size));
      if (size == 0) continue;
      // The next message differs (a chat message begins with the same {"room":").
      if (kind == PayloadKind::random || size > 16) CHECK_FALSE(payload.is_echo_of(sent, 6, size));
      for (std::size_t at : {std::size_t{0}, size / 2, size - 1}) {
        std::string corrupt = sent;
        corrupt[at] ^= 0x01;
        CHECK_FALSE(payload.is_echo_of(corrupt, 5, size));
      }
    }
  }
}

TEST_CASE("the pool cycles: message seq and seq + count are the same, and the pool outlasts a "
          "32 KiB window") {
  for (std::size_t size : {64, 1024, 16384}) {
    Payload payload(size, PayloadKind::chat);
    const MessagePool& pool = *payload.pool();
    CAPTURE(size, pool.count());
    CHECK(pool.count() >= 256);
    CHECK(pool.count() <= 1024);
    CHECK(pool.count() * size >= 65536);
    CHECK(std::string(payload.echo_message(3, size)) ==
          std::string(payload.echo_message(3 + pool.count(), size)));
  }
}

TEST_CASE("the same seed makes the same messages, another seed others") {
  for (PayloadKind kind : {PayloadKind::random, PayloadKind::chat}) {
    CAPTURE(to_string(kind));
    Payload a(1024, kind, 42), b(1024, kind, 42), c(1024, kind, 43);
    for (std::uint64_t seq : {0, 1, 255, 1000}) {
      for (std::size_t size : {64, 700, 1024}) {
        const std::string from_a(a.echo_message(seq, size));
        CHECK(from_a == b.echo_message(seq, size));
        CHECK(from_a != c.echo_message(seq, size));
      }
    }
  }
}

TEST_CASE("chat messages are printable ASCII JSON (so UTF-8 text), each different") {
  Payload payload(1024, PayloadKind::chat);
  std::set<std::string> seen;
  for (std::uint64_t seq = 0; seq < 256; ++seq) {
    for (std::size_t size : {64, 200, 1024}) {
      const std::string m(payload.echo_message(seq, size));
      CAPTURE(seq, m);
      REQUIRE(is_utf8(m));
      REQUIRE(std::all_of(m.begin(), m.end(), [](unsigned char ch) { return ch >= 0x20 && ch <= 0x7e; }));
      CHECK(m.rfind("{\"room\":\"", 0) == 0);
      CHECK(m.find("\",\"user\":\"") != std::string::npos);
      CHECK(m.find("\",\"ts\":17") != std::string::npos);
      CHECK(m.find(",\"text\":\"") != std::string::npos);
      CHECK(m.substr(m.size() - 2) == "\"}");
      // Inside the text no quote or backslash: the JSON is well formed.
      const std::string text = m.substr(m.find(",\"text\":\"") + 9);
      CHECK(text.find_first_of("\"\\") == text.size() - 2);
      if (size == 1024) seen.insert(m);
    }
  }
  CHECK(seen.size() == 256);
}

TEST_CASE("chat compresses like chat text, random not at all, the pattern by about a sixth") {
  Payload chat(16384, PayloadKind::chat), random(16384, PayloadKind::random), pattern(16384);
  const double chat_64 = mean_ratio(chat, 64, 200), chat_1k = mean_ratio(chat, 1024, 200),
               chat_16k = mean_ratio(chat, 16384, 50);
  const double random_1k = mean_ratio(random, 1024, 200), pattern_1k = mean_ratio(pattern, 1024, 200);
  INFO("chat 64 B " << chat_64 << ", 1 KiB " << chat_1k << ", 16 KiB " << chat_16k << "; random 1 KiB "
                    << random_1k << "; pattern 1 KiB " << pattern_1k);
  CHECK(chat_1k > 0.2);
  CHECK(chat_1k < 0.7);
  CHECK(chat_16k > 0.2);
  CHECK(chat_16k < chat_1k);  // more text, more repeats to find
  CHECK(chat_64 > 0.7);       // a 64-byte message is mostly its envelope, short words
  CHECK(random_1k > 0.95);
  CHECK(pattern_1k > 0.75);
  CHECK(pattern_1k < 0.9);
}

TEST_CASE("durations take s, ms and m; objectives need a percentile and a unit") {
  double s = 0;
  CHECK(parse_seconds("10", s).empty());
  CHECK(s == 10);
  CHECK(parse_seconds("500ms", s).empty());
  CHECK(s == Approx(0.5));
  CHECK(parse_seconds("2m", s).empty());
  CHECK(s == 120);
  CHECK_FALSE(parse_seconds("ten", s).empty());
  std::vector<Objective> objectives;
  REQUIRE(parse_objectives("p99=5ms,p99.9=250us,max=1s", objectives).empty());
  REQUIRE(objectives.size() == 3);
  CHECK(objectives[0].fraction == Approx(0.99));
  CHECK(objectives[0].limit_ns == 5'000'000);
  CHECK(objectives[1].fraction == Approx(0.999));
  CHECK(objectives[1].limit_ns == 250'000);
  CHECK(objectives[2].fraction == 1);
  CHECK(objectives[2].limit_ns == 1'000'000'000);
  for (const char* bad : {"p99=5", "p99", "q99=5ms", "p101=5ms", "=5ms", ""}) {
    std::vector<Objective> none;
    CAPTURE(bad);
    CHECK_FALSE(parse_objectives(bad, none).empty());
  }
}

namespace {
LoadOptions parse_args(std::vector<std::string> args) {
  args.insert(args.begin(), "wsp-load");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return parse_load_options(static_cast<int>(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("wake-ups are batched by default only in closed-loop echo: half in flight, at most 64") {
  const std::string url = "ws://127.0.0.1:1/";
  CHECK(parse_args({url}).batch == 32);  // 64 connections x 1
  CHECK(parse_args({url, "--connections", "4"}).batch == 2);
  CHECK(parse_args({url, "--connections", "1"}).batch == 0);
  CHECK(parse_args({url, "--pipeline", "16"}).batch == 64);
  CHECK(parse_args({url, "--connections", "1000", "--threads", "2"}).batch == 64);
  CHECK(parse_args({url, "--connections", "8", "--threads", "2", "--pipeline", "3"}).batch == 6);
  CHECK(parse_args({url, "--rate", "1000"}).batch == 0);
  CHECK(parse_args({url, "--scenario", "fanout"}).batch == 0);
  CHECK(parse_args({url, "--batch", "0"}).batch == 0);
  CHECK(parse_args({url, "--rate", "1000", "--batch", "8"}).batch == 8);
  CHECK(parse_args({url}).batch_wait_us == 100);
  CHECK(parse_args({url, "--batch-wait", "20"}).batch_wait_us == 20);
}

TEST_CASE("--fanout-pace is all unless sender is asked for, and paces only the closed-loop fanout") {
  const std::string url = "ws://127.0.0.1:1/";
  CHECK(parse_args({url}).fanout_pace == FanoutPace::all);
  CHECK(parse_args({url, "--fanout-pace", "sender"}).fanout_pace == FanoutPace::sender);
  CHECK(parse_args({url, "--scenario", "fanout"}).fanout_paced_by_every_subscriber());
  CHECK_FALSE(parse_args({url, "--scenario", "fanout", "--fanout-pace", "sender"})
                  .fanout_paced_by_every_subscriber());
  CHECK_FALSE(parse_args({url, "--scenario", "fanout", "--rate", "100"})
                  .fanout_paced_by_every_subscriber());
  CHECK_FALSE(parse_args({url}).fanout_paced_by_every_subscriber());  // echo
}

TEST_CASE("the fanout sender may send while fewer than --pipeline publishes lack a subscriber") {
  struct Row {
    std::uint64_t sent, slowest_next;
    int pipeline;
    bool may_send;
  };
  const Row rows[] = {
      {0, 0, 1, true},     // nothing sent yet
      {1, 0, 1, false},    // the first publish is still on its way to someone
      {1, 1, 1, true},     // every subscriber has it
      {8, 0, 8, false},    // 8 in flight of 8
      {7, 0, 8, true},
      {10, 3, 8, true},    // 7 in flight
      {11, 3, 8, false},
      {5, 5, 1, true},
      {5, kNoSubscriberWaiting, 1, true},  // no subscriber waits for anything
      {5, 7, 1, true},     // ahead of what the sender counted: nothing in flight
  };
  for (const Row& r : rows) {
    CAPTURE(r.sent, r.slowest_next, r.pipeline);
    CHECK(may_send_fanout(r.sent, r.slowest_next, r.pipeline) == r.may_send);
  }
}

TEST_CASE("the fanout sender sends anyway once the slowest subscriber has stood still for 1 s "
          "with publishes in flight") {
  constexpr std::int64_t second = 1'000'000'000;
  struct Row {
    std::uint64_t sent, slowest_next;
    std::int64_t now, moved_at;
    bool timed_out;
  };
  const Row rows[] = {
      {3, 2, 5 * second, 4 * second, true},        // exactly 1 s
      {3, 2, 5 * second - 1, 4 * second, false},   // a nanosecond short
      {3, 2, 9 * second, 4 * second, true},
      {3, 3, 9 * second, 4 * second, false},       // nothing in flight
      {3, kNoSubscriberWaiting, 9 * second, 0, false},
      {0, 0, 9 * second, 0, false},                // nothing sent
  };
  for (const Row& r : rows) {
    CAPTURE(r.sent, r.slowest_next, r.now, r.moved_at);
    CHECK(fanout_pace_timed_out(r.sent, r.slowest_next, r.now, r.moved_at) == r.timed_out);
  }
}
