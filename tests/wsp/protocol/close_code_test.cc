// Close codes (RFC 6455 §7.4).
#include <catch2/catch.hpp>

#include "wsp/protocol/close_code.h"

using namespace wsp;

TEST_CASE("received close codes follow RFC 6455 §7.4 and the IANA registry") {
  for (int c = -1; c <= 70000; ++c) {
    const bool expected = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                          (c >= 3000 && c <= 4999);
    INFO("code " << c);
    REQUIRE(is_valid_received_close_code(c) == expected);
    REQUIRE(is_sendable_close_code(c) == expected);
  }
}

TEST_CASE("the named close codes have their RFC values") {
  CHECK(close_code::normal == 1000);
  CHECK(close_code::going_away == 1001);
  CHECK(close_code::protocol_error == 1002);
  CHECK(close_code::unsupported_data == 1003);
  CHECK(close_code::invalid_payload == 1007);
  CHECK(close_code::policy_violation == 1008);
  CHECK(close_code::message_too_big == 1009);
  CHECK(close_code::mandatory_extension == 1010);
  CHECK(close_code::internal_error == 1011);
}
