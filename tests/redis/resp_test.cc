// RESP2 commands and replies (redis/resp.h), byte by byte.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "redis/redis_error.h"
#include "redis/resp.h"

using redis::Errc;
using redis::Reply;
using redis::ReplyParser;
using Type = redis::Reply::Type;

namespace {

std::vector<Reply> parse_all(std::string_view bytes, std::error_code* error = nullptr,
                             redis::ReplyParserLimits limits = {}) {
  ReplyParser parser(limits);
  std::vector<Reply> replies;
  auto e = parser.feed(bytes, replies);
  if (error) *error = e;
  return replies;
}

// A compact picture of a reply for exact comparisons: +OK, -ERR x, :5, $hi, nil, [a,b].
std::string show(const Reply& r) {
  switch (r.type) {
    case Type::simple_string: return "+" + r.text;
    case Type::error: return "-" + r.text;
    case Type::integer: return ":" + std::to_string(r.integer);
    case Type::bulk_string: return "$" + r.text;
    case Type::nil: return "nil";
    case Type::array: {
      std::string s = "[";
      for (std::size_t i = 0; i < r.elements.size(); ++i) s += (i ? "," : "") + show(r.elements[i]);
      return s + "]";
    }
  }
  return "?";
}

std::vector<std::string> show(const std::vector<Reply>& replies) {
  std::vector<std::string> out;
  for (const Reply& r : replies) out.push_back(show(r));
  return out;
}

// Every kind of reply, a pub/sub message whose payload holds CRLF and NUL, nesting: one
// reply per part.
const std::vector<std::string> kParts = {
    "+OK\r\n",
    "-ERR unknown command 'FOO'\r\n",
    ":0\r\n",
    ":-9223372036854775808\r\n",
    "$0\r\n\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*0\r\n",
    std::string("*3\r\n$7\r\nmessage\r\n$3\r\nwsp\r\n$6\r\na\r\nb\0c\r\n", 38),
    "*2\r\n*1\r\n:1\r\n*2\r\n+x\r\n$-1\r\n"};
const std::string kStream = [] {
  std::string s;
  for (const std::string& part : kParts) s += part;
  return s;
}();
const std::vector<std::string> kExpected = {
    "+OK", "-ERR unknown command 'FOO'", ":0", ":-9223372036854775808", "$", "nil", "nil", "[]",
    std::string("[$message,$wsp,$a\r\nb\0c]", 23), "[[:1],[+x,nil]]"};

}  // namespace

TEST_CASE("a command is an array of bulk strings") {
  std::string out;
  redis::append_command(out, {"PUBLISH", "wsp", std::string_view("a\r\n\0", 4)});
  CHECK(out == std::string("*3\r\n$7\r\nPUBLISH\r\n$3\r\nwsp\r\n$4\r\na\r\n\0\r\n", 36));
  redis::append_command(out, {});
  CHECK(out.substr(36) == "*0\r\n");
}

TEST_CASE("every kind of RESP2 reply parses to its exact value") {
  std::error_code error;
  CHECK(show(parse_all(kStream, &error)) == kExpected);
  CHECK(!error);
}

TEST_CASE("every split of the stream into two reads yields the same replies") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    ReplyParser parser;
    std::vector<Reply> replies;
    REQUIRE(!parser.feed(std::string_view(kStream).substr(0, cut), replies));
    REQUIRE(!parser.feed(std::string_view(kStream).substr(cut), replies));
    INFO("cut at " << cut);
    CHECK(show(replies) == kExpected);
    CHECK(!parser.mid_reply());
  }
}

TEST_CASE("the stream fed byte by byte yields the same replies, each once its last byte is in") {
  ReplyParser parser;
  std::vector<Reply> replies;
  for (std::size_t i = 0; i < kStream.size(); ++i) {
    REQUIRE(!parser.feed(std::string_view(kStream).substr(i, 1), replies));
    // Between replies exactly when the bytes so far are whole parts.
    std::size_t whole = 0, parts = 0;
    while (parts < kParts.size() && whole + kParts[parts].size() <= i + 1) whole += kParts[parts++].size();
    CHECK(replies.size() == parts);
    CHECK(parser.mid_reply() == (whole != i + 1));
  }
  CHECK(show(replies) == kExpected);
}

TEST_CASE("a reply is not handed out before its last byte") {
  ReplyParser parser;
  std::vector<Reply> replies;
  REQUIRE(!parser.feed("$5\r\nhello\r", replies));
  CHECK(replies.empty());
  CHECK(parser.mid_reply());
  REQUIRE(!parser.feed("\n*2\r\n:1\r\n", replies));
  CHECK(show(replies) == std::vector<std::string>{"$hello"});
  REQUIRE(!parser.feed(":2\r\n", replies));
  CHECK(show(replies) == std::vector<std::string>{"$hello", "[:1,:2]"});
}

TEST_CASE("bytes that are not RESP2 are a protocol error, after the replies before them") {
  for (const char* bad : {"?x\r\n", "+OK\n", ":12a\r\n", ":\r\n", ":-\r\n", ":+1\r\n",
                          ":99999999999999999999\r\n", "$-2\r\n", "*-2\r\n", "$x\r\n",
                          "$2\r\nabc\r\n", "$2\r\nab\n\n", "$ 1\r\na\r\n"}) {
    INFO(bad);
    std::error_code error;
    auto replies = parse_all(std::string("+first\r\n") + bad, &error);
    CHECK(error == Errc::protocol_error);
    CHECK(show(replies) == std::vector<std::string>{"+first"});
  }
}

TEST_CASE("after an error the parser takes nothing more") {
  ReplyParser parser;
  std::vector<Reply> replies;
  CHECK(parser.feed("!", replies) == Errc::protocol_error);
  CHECK(parser.feed("+OK\r\n", replies) == Errc::protocol_error);
  CHECK(replies.empty());
  CHECK(parser.error() == Errc::protocol_error);
}

TEST_CASE("bulk strings, arrays, nesting and lines over the limits are refused") {
  redis::ReplyParserLimits limits;
  limits.max_bulk_length = 4;
  limits.max_array_length = 2;
  limits.max_depth = 2;
  limits.max_line_length = 8;
  std::error_code error;
  CHECK(show(parse_all("$4\r\nabcd\r\n*2\r\n*2\r\n:1\r\n:2\r\n:3\r\n+12345678\r\n", &error, limits)) ==
        std::vector<std::string>{"$abcd", "[[:1,:2],:3]", "+12345678"});
  CHECK(!error);
  parse_all("$5\r\n", &error, limits);
  CHECK(error == Errc::reply_too_large);
  parse_all("*3\r\n", &error, limits);
  CHECK(error == Errc::reply_too_large);
  parse_all("*1\r\n*1\r\n*1\r\n", &error, limits);
  CHECK(error == Errc::reply_too_deep);
  parse_all("+123456789\r\n", &error, limits);
  CHECK(error == Errc::reply_too_large);
  // The line limit holds across reads, before any CRLF arrives.
  ReplyParser parser(limits);
  std::vector<Reply> replies;
  CHECK(!parser.feed("+12345", replies));
  CHECK(parser.feed("6789", replies) == Errc::reply_too_large);
}
