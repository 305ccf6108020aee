// The Sec-WebSocket-Extensions grammar (RFC 6455 §9.1).
#include <catch2/catch.hpp>

#include "wsp/protocol/extension_header.h"

using namespace wsp;

namespace {

std::vector<Extension> parse(std::string_view value, std::size_t expected_malformed = 0) {
  std::size_t malformed = 99;
  auto out = parse_extensions(value, &malformed);
  CHECK(malformed == expected_malformed);
  return out;
}

}  // namespace

TEST_CASE("an extension list with parameters, values and several elements is read in order") {
  CHECK(parse("permessage-deflate; client_max_window_bits, permessage-deflate;server_max_window_bits=10 ;"
              "server_no_context_takeover, x-foo") ==
        std::vector<Extension>{
            {"permessage-deflate", {{"client_max_window_bits", std::nullopt}}},
            {"permessage-deflate", {{"server_max_window_bits", "10"}, {"server_no_context_takeover", std::nullopt}}},
            {"x-foo", {}},
        });
}

TEST_CASE("a quoted parameter value is unquoted and must be a token") {
  CHECK(parse("permessage-deflate; server_max_window_bits=\"10\"") ==
        std::vector<Extension>{{"permessage-deflate", {{"server_max_window_bits", "10"}}}});
  CHECK(parse("permessage-deflate; a=\"x\\yz\"") ==
        std::vector<Extension>{{"permessage-deflate", {{"a", "xyz"}}}});
  CHECK(parse("permessage-deflate; a=\"1 0\"", 1).empty());
  CHECK(parse("permessage-deflate; a=\"10", 1).empty());
}

TEST_CASE("a malformed element is left out and counted, the others are read") {
  CHECK(parse("permessage-deflate; ;, permessage-deflate", 1) ==
        std::vector<Extension>{{"permessage-deflate", {}}});
  CHECK(parse("permessage-deflate; a=\"x,y\" z, b", 1) == std::vector<Extension>{{"b", {}}});
  CHECK(parse("; a, =, permessage-deflate; =1, permessage-deflate; a=", 4).empty());
  CHECK(parse("per(message)", 1).empty());
}

TEST_CASE("empty list elements and surrounding spaces are ignored") {
  CHECK(parse(" , permessage-deflate\t,, ") == std::vector<Extension>{{"permessage-deflate", {}}});
  CHECK(parse("").empty());
}

TEST_CASE("an extension is written back with its parameters") {
  CHECK(to_string(Extension{"permessage-deflate", {{"a", std::nullopt}, {"b", "9"}}}) ==
        "permessage-deflate; a; b=9");
}
