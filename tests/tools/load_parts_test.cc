// wsp-load's parts without I/O: --size, payloads checked byte for byte, durations, objectives.
#include <catch2/catch.hpp>

#include <map>
#include <string>

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
