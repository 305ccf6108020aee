// The close handshake (RFC 6455 §5.5.1, §7) and the close payload rules.
#include <catch2/catch.hpp>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::test;

namespace {

WireFrame only_frame(const Protocol& p) {
  const auto frames = parse_output(p.pending_output());
  REQUIRE(frames.size() == 1);
  return frames[0];
}

}  // namespace

TEST_CASE("a received close is reported and echoed with the same code") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kClose, close_payload(1001, "going"), false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::close);
  CHECK(ev[0].close_code == 1001);
  CHECK(ev[0].close_reason == "going");
  CHECK(p.received_close_code() == 1001);
  CHECK(p.received_close_reason() == "going");
  CHECK(p.close_received());
  CHECK(p.close_sent());
  CHECK(p.close_handshake() == Protocol::CloseHandshake::done);
  CHECK(p.clean_close());
  const WireFrame echo = only_frame(p);
  CHECK(echo.b0 == kClose);
  CHECK(echo.masked);
  CHECK(echo.payload == close_payload(1001));
}

TEST_CASE("an empty close payload reports 1005 and is echoed with an empty payload") {
  Protocol p = make(Role::server);
  const auto ev = feed(p, from_peer(Role::server, kClose, ""));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].close_code == 1005);
  CHECK(ev[0].close_reason.empty());
  CHECK(p.received_close_code() == 1005);
  const WireFrame echo = only_frame(p);
  CHECK(echo.b0 == kClose);
  CHECK(echo.payload.empty());
}

TEST_CASE("a close without a reason leaves no buffers once its answer is taken; a reason stays") {
  // A burst of closes held a scratch per connection until each connection ended.
  Protocol bare = make(Role::server);
  feed(bare, from_peer(Role::server, kClose, close_payload(1000)));
  std::string answer;
  bare.take_output(answer);
  CHECK(parse_output(answer).size() == 1);
  CHECK(bare.buffer_capacity() == 0);
  CHECK(bare.received_close_code() == 1000);
  CHECK(bare.received_close_reason().empty());
  CHECK(bare.close_handshake() == Protocol::CloseHandshake::done);
  // Nothing after the close is parsed, and nothing is made for it.
  CHECK(feed(bare, from_peer(Role::server, kText, "late")).empty());
  CHECK(bare.buffer_capacity() == 0);

  Protocol with_reason = make(Role::server);
  feed(with_reason, from_peer(Role::server, kClose, close_payload(1001, "going away now")));
  with_reason.take_output(answer);
  CHECK(with_reason.buffer_capacity() > 0);
  CHECK(with_reason.received_close_reason() == "going away now");
}

TEST_CASE("no close code is reported before a close arrives") {
  Protocol p = make(Role::client);
  CHECK(p.received_close_code() == -1);
  CHECK(p.received_close_reason().empty());
  CHECK(p.failed_code() == 0);
  CHECK_FALSE(p.clean_close());
}

TEST_CASE("a 1-byte close payload closes with 1002") {
  Protocol p = make(Role::client);
  CHECK(feed(p, raw_frame(kClose, "\x03", false)).empty());
  CHECK(p.failed_code() == 1002);
  CHECK_FALSE(p.close_received());
  CHECK(only_frame(p).payload == close_payload(1002, "Protocol error"));
}

TEST_CASE("close codes that may not appear on the wire close with 1002") {
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(kClose, close_payload(code), false)).empty());
    INFO("code " << code);
    CHECK(p.failed_code() == 1002);
    CHECK(only_frame(p).payload == close_payload(1002, "Protocol error"));
  }
}

TEST_CASE("close codes valid on the wire are accepted and echoed") {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    Protocol p = make(Role::client);
    const auto ev = feed(p, raw_frame(kClose, close_payload(code), false));
    INFO("code " << code);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].close_code == code);
    CHECK(p.failed_code() == 0);
    CHECK(only_frame(p).payload == close_payload(code));
  }
}

TEST_CASE("a close reason that is not UTF-8 closes with 1007") {
  Protocol p = make(Role::client);
  CHECK(feed(p, raw_frame(kClose, close_payload(1000, "ok\xff"), false)).empty());
  CHECK(p.failed_code() == 1007);
  CHECK(only_frame(p).payload == close_payload(1007, "Invalid frame payload data"));
}

TEST_CASE("a close may arrive between fragments and ends the message") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kTextStart, "par", false) +
                              raw_frame(kClose, close_payload(1000), false) +
                              raw_frame(kContFin, "tial", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::close);
  CHECK(p.failed_code() == 0);
}

TEST_CASE("data frames after the peer's close are ignored") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kClose, close_payload(1000), false) +
                              raw_frame(kText, "late", false) + raw_frame(kPing, "", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::close);
  CHECK(parse_output(p.pending_output()).size() == 1);  // only the echo, no pong
}

TEST_CASE("sending close moves to closing and the peer's close completes it") {
  Protocol p = make(Role::client);
  REQUIRE(p.send_close(1000, "done"));
  CHECK(p.close_handshake() == Protocol::CloseHandshake::sent);
  CHECK(p.close_sent());
  CHECK(only_frame(p).payload == close_payload(1000, "done"));
  p.consume_output(p.pending_output_size());
  const auto ev = feed(p, raw_frame(kClose, close_payload(1000), false));
  REQUIRE(ev.size() == 1);
  CHECK(p.close_handshake() == Protocol::CloseHandshake::done);
  CHECK(p.received_close_code() == 1000);
  CHECK(p.clean_close());
  CHECK(p.pending_output_size() == 0);  // no second close frame
}

TEST_CASE("messages still arrive while closing") {
  Protocol p = make(Role::client);
  REQUIRE(p.send_close(1000, ""));
  const auto ev = feed(p, raw_frame(kText, "in flight", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "in flight");
  CHECK(p.close_handshake() == Protocol::CloseHandshake::sent);
}

TEST_CASE("a ping received while closing gets no pong") {
  Protocol p = make(Role::client);
  REQUIRE(p.send_close(1000, ""));
  p.consume_output(p.pending_output_size());
  const auto ev = feed(p, raw_frame(kPing, "x", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::ping);
  CHECK(p.pending_output_size() == 0);
}

TEST_CASE("nothing can be sent after a close was sent") {
  Protocol p = make(Role::server);
  REQUIRE(p.send_close(1000, ""));
  const std::uint8_t b = 1;
  CHECK_FALSE(p.send_message(false, &b, 1));
  CHECK_FALSE(p.send_message(true, &b, 0));
  CHECK_FALSE(p.send_ping(""));
  CHECK_FALSE(p.send_pong(""));
  CHECK_FALSE(p.send_close(1000, ""));
  CHECK(parse_output(p.pending_output()).size() == 1);
}

TEST_CASE("nothing can be sent after the peer's close was echoed") {
  Protocol p = make(Role::server);
  feed(p, from_peer(Role::server, kClose, close_payload(1000)));
  const std::uint8_t b = 1;
  CHECK_FALSE(p.send_message(false, &b, 1));
  CHECK_FALSE(p.send_close(1000, ""));
}

TEST_CASE("send_close with code -1 or 1005 sends an empty close payload") {
  for (int code : {-1, 1005}) {
    Protocol p = make(Role::server);
    REQUIRE(p.send_close(code, "ignored"));
    CHECK(only_frame(p).payload.empty());
  }
}

TEST_CASE("send_close refuses codes that may not be sent and queues nothing") {
  for (int code : {0, 999, 1004, 1006, 1015, 1016, 2999, 5000, -2}) {
    Protocol p = make(Role::server);
    INFO("code " << code);
    CHECK_FALSE(p.send_close(code, ""));
    CHECK(p.pending_output_size() == 0);
    CHECK(p.close_handshake() == Protocol::CloseHandshake::none);
  }
}

TEST_CASE("send_close accepts every sendable code") {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   4999}) {
    Protocol p = make(Role::server);
    CHECK(p.send_close(code, ""));
  }
}

TEST_CASE("send_close refuses a reason that is not UTF-8") {
  Protocol p = make(Role::server);
  CHECK_FALSE(p.send_close(1000, "\xc3"));
  CHECK(p.pending_output_size() == 0);
}

TEST_CASE("a 123-byte reason is sent whole") {
  Protocol p = make(Role::server);
  const std::string reason(123, 'r');
  REQUIRE(p.send_close(1000, reason));
  CHECK(only_frame(p).payload == close_payload(1000, reason));
}

TEST_CASE("a long reason is cut at a code point boundary to fit 123 bytes") {
  Protocol p = make(Role::server);
  // 121 ASCII bytes then a 4-byte emoji that would end at byte 125.
  const std::string reason = std::string(121, 'r') + "\xf0\x9f\x98\x80" + "tail";
  REQUIRE(p.send_close(1000, reason));
  const WireFrame f = only_frame(p);
  CHECK(f.payload == close_payload(1000, std::string(121, 'r')));
}
