// The bridge's payload on the Redis channel (redis/bridge_message.h).
#include <catch2/catch.hpp>

#include <string>

#include "redis/bridge_message.h"

TEST_CASE("a bridge message is its origin in hex, the topic's length, the topic, the message") {
  std::string out;
  redis::append_bridge_message(out, {0xff, "lobby", "hello"});
  CHECK(out == "00000000000000ff 5:lobbyhello");
}

TEST_CASE("a bridge message decodes to what was encoded, binary bytes and empty parts included") {
  const std::string message("a\r\n\0b", 5);
  for (auto [origin, topic, text] : {std::tuple<std::uint64_t, std::string, std::string>{
                                         0xfedcba9876543210, "/rooms/x:y", message},
                                     {1, "", ""},
                                     {~std::uint64_t{0}, "12:3", "0:"}}) {
    std::string out;
    redis::append_bridge_message(out, {origin, topic, text});
    auto decoded = redis::decode_bridge_message(out);
    REQUIRE(decoded);
    CHECK(decoded->origin == origin);
    CHECK(decoded->topic == topic);
    CHECK(decoded->message == text);
  }
}

TEST_CASE("a payload not in the bridge's format is refused") {
  for (const char* bad : {"", "hello", "00000000000000ff", "00000000000000ff ", "00000000000000ff 5",
                          "00000000000000ff 5:abcd", "00000000000000FF 0:", "0000000000000 0ff 0:",
                          "00000000000000ff-0:", "00000000000000ff 05:lobby", "00000000000000ff x:",
                          "00000000000000ff 99999999999999999999999:x"}) {
    INFO(bad);
    CHECK(!redis::decode_bridge_message(bad));
  }
}
