// The bridge's payload on the Redis channel (redis/bridge_message.h).
#include <catch2/catch.hpp>

#include <string>

#include "redis/bridge_message.h"

TEST_CASE("a bridge message is its origin in hex, text or binary, the topic's length, the topic, the message") {
  std::string out;
  redis::append_bridge_message(out, {0xff, "lobby", "hello"});
  CHECK(out == "00000000000000ff t5:lobbyhello");
  out.clear();
  redis::append_bridge_message(out, {0x1234, "", std::string_view("\0", 1), false});
  CHECK(out == std::string("0000000000001234 b0:\0", 21));
}

TEST_CASE("a bridge message decodes to what was encoded, binary bytes and empty parts included") {
  const std::string message("a\r\n\0b", 5);
  for (auto [origin, topic, data, text] : {std::tuple<std::uint64_t, std::string, std::string, bool>{
                                               0xfedcba9876543210, "/rooms/x:y", message, false},
                                           {1, "", "", true},
                                           {~std::uint64_t{0}, "12:3", "0:", true}}) {
    std::string out;
    redis::append_bridge_message(out, {origin, topic, data, text});
    auto decoded = redis::decode_bridge_message(out);
    REQUIRE(decoded);
    CHECK(decoded->origin == origin);
    CHECK(decoded->topic == topic);
    CHECK(decoded->message == data);
    CHECK(decoded->text == text);
  }
}

TEST_CASE("a payload not in the bridge's format is refused") {
  for (const char* bad : {"", "hello", "00000000000000ff", "00000000000000ff ", "00000000000000ff t5",
                          "00000000000000ff t5:abcd", "00000000000000FF t0:", "0000000000000 0ff t0:",
                          "00000000000000ff-t0:", "00000000000000ff t05:lobby", "00000000000000ff tx:",
                          "00000000000000ff 0:", "00000000000000ff x0:", "00000000000000ff T0:",
                          "00000000000000ff t99999999999999999999999:x"}) {
    INFO(bad);
    CHECK(!redis::decode_bridge_message(bad));
  }
}
