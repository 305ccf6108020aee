// Serializing: frame layout, masking of client frames, fragmentation, output buffer.
#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/frame.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::test;

namespace {
const std::uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}
}  // namespace

TEST_CASE("a server sends an unmasked frame with the 7-bit length") {
  Protocol p = make(Role::server);
  REQUIRE(p.send_message(true, bytes("Hello"), 5));
  CHECK(p.pending_output() == std::string_view("\x81\x05Hello", 7));
}

TEST_CASE("a client masks each frame with a fresh key") {
  Protocol p = make(Role::client);
  std::set<std::string> keys;
  for (int i = 0; i < 64; ++i) {
    REQUIRE(p.send_message(false, bytes("abcdefgh"), 8));
    const std::string_view out = p.pending_output();
    REQUIRE(out.size() == 2 + 4 + 8);
    CHECK(std::uint8_t(out[1]) == (0x80 | 8));
    keys.insert(std::string(out.substr(2, 4)));
    const auto f = parse_output(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].payload == "abcdefgh");
    p.consume_output(out.size());
  }
  CHECK(keys.size() >= 60);  // 64 random 32-bit keys: collisions are practically impossible
}

TEST_CASE("the length uses 16 bits from 126 bytes and 64 bits from 65536 bytes") {
  Protocol p = make(Role::server);
  for (std::size_t n : {125u, 126u, 65535u, 65536u}) {
    const std::string data(n, 'x');
    REQUIRE(p.send_message(false, bytes(data), n));
    const std::string_view out = p.pending_output();
    const std::size_t header = n <= 125 ? 2 : n <= 65535 ? 4 : 10;
    CHECK(out.size() == header + n);
    CHECK(std::uint8_t(out[1]) == (n <= 125 ? n : n <= 65535 ? 126 : 127));
    p.consume_output(out.size());
  }
}

TEST_CASE("encode_frame_header writes the RFC 6455 §5.2 layouts") {
  std::uint8_t h[kMaxFrameHeader];
  const std::uint8_t key[4] = {1, 2, 3, 4};
  CHECK(encode_frame_header(h, Opcode::text, true, 0, nullptr) == 2);
  CHECK(h[0] == 0x81);
  CHECK(h[1] == 0x00);
  CHECK(encode_frame_header(h, Opcode::binary, false, 300, key) == 8);
  CHECK(h[0] == 0x02);
  CHECK(h[1] == (0x80 | 126));
  CHECK(h[2] == 0x01);
  CHECK(h[3] == 0x2C);
  CHECK(h[4] == 1);
  CHECK(h[7] == 4);
  CHECK(encode_frame_header(h, Opcode::continuation, true, 0x123456789ull, key, true) == 14);
  CHECK(h[0] == 0xC0);
  CHECK(h[1] == (0x80 | 127));
  CHECK(h[2] == 0);
  CHECK(h[5] == 0x01);
  CHECK(h[6] == 0x23);
  CHECK(h[9] == 0x89);
  CHECK(encode_frame_header(h, Opcode::pong, true, 125, nullptr) == 2);
  CHECK(h[0] == 0x8A);
  CHECK(h[1] == 125);
}

TEST_CASE("a large message is fragmented when a fragment size is set") {
  ProtocolConfig c = config_for(Role::server);
  c.max_fragment_bytes_per_frame = 4;
  Protocol p(c);
  REQUIRE(p.send_message(true, bytes("abcdefghij"), 10));
  const auto f = parse_output(p.pending_output());
  REQUIRE(f.size() == 3);
  CHECK(f[0].b0 == kTextStart);
  CHECK(f[0].payload == "abcd");
  CHECK(f[1].b0 == kCont);
  CHECK(f[1].payload == "efgh");
  CHECK(f[2].b0 == kContFin);
  CHECK(f[2].payload == "ij");
}

TEST_CASE("a message no longer than the fragment size goes in one frame") {
  ProtocolConfig c = config_for(Role::client);
  c.max_fragment_bytes_per_frame = 4;
  Protocol p(c);
  REQUIRE(p.send_message(false, bytes("abcd"), 4));
  const auto f = parse_output(p.pending_output());
  REQUIRE(f.size() == 1);
  CHECK(f[0].b0 == kBinary);
}

TEST_CASE("RSV1 is set on the first fragment only") {
  ProtocolConfig c = config_for(Role::server);
  c.max_fragment_bytes_per_frame = 2;
  Protocol p(c);
  REQUIRE(p.send_message(false, bytes("abc"), 3, true));
  const auto f = parse_output(p.pending_output());
  REQUIRE(f.size() == 2);
  CHECK(f[0].b0 == (kBinaryStart | 0x40));
  CHECK(f[1].b0 == kContFin);
}

TEST_CASE("send_ping refuses a payload over 125 bytes") {
  Protocol p = make(Role::client);
  CHECK_FALSE(p.send_ping(std::string(126, 'a')));
  CHECK(p.send_ping(std::string(125, 'a')));
  CHECK(p.send_pong("pong"));
  const auto f = parse_output(p.pending_output());
  REQUIRE(f.size() == 2);
  CHECK(f[0].b0 == kPing);
  CHECK(f[1].b0 == kPong);
  CHECK(f[1].payload == "pong");
}

TEST_CASE("consume_output removes written bytes from the front") {
  Protocol p = make(Role::server);
  p.send_message(false, bytes("12345"), 5);
  p.send_message(false, bytes("678"), 3);
  CHECK(p.pending_output_size() == 12);
  p.consume_output(3);
  CHECK(p.pending_output() == std::string_view("2345\x82\x03" "678", 9));
  p.consume_output(100);
  CHECK(p.pending_output_size() == 0);
}

TEST_CASE("a client's frames are read back by a server, and the reverse") {
  for (bool text : {true, false}) {
    Protocol client = make(Role::client, 0), server = make(Role::server, 0);
    const std::string msg = text ? std::string(100000, 'k') : std::string(3, '\0');
    client.send_message(text, bytes(msg), msg.size());
    auto ev = feed(server, std::string(client.pending_output()));
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].text == text);
    CHECK(ev[0].payload == msg);
    server.send_message(text, bytes(msg), msg.size());
    ev = feed(client, std::string(server.pending_output()));
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].payload == msg);
  }
}

TEST_CASE("send_message_header queues only the header; a server's payload follows unchanged") {
  Protocol p = make(Role::server);
  std::string payload(300, 'z');
  REQUIRE(p.send_message_header(false, reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
  CHECK(p.pending_output() == std::string_view("\x82\x7e\x01\x2c", 4));  // binary, 16-bit length 300
  CHECK(payload == std::string(300, 'z'));
}

TEST_CASE("send_message_header masks a client's payload in place with the header's key") {
  Protocol client = make(Role::client);
  std::string payload = "given away, masked in place";
  REQUIRE(client.send_message_header(true, reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
  std::string wire(client.pending_output());
  wire += payload;
  Protocol server = make(Role::server);
  auto events = feed(server, wire);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == ProtocolEventType::message);
  CHECK(events[0].text);
  CHECK(events[0].payload == "given away, masked in place");
}

TEST_CASE("send_message_header refuses after a close and when the message would be fragmented") {
  ProtocolConfig config = config_for(Role::server);
  config.max_fragment_bytes_per_frame = 10;
  Protocol fragmenting(config);
  std::string payload(11, 'x');
  CHECK_FALSE(fragmenting.send_message_header(false, reinterpret_cast<std::uint8_t*>(payload.data()), 11));
  CHECK(fragmenting.pending_output_size() == 0);
  Protocol closed = make(Role::server);
  REQUIRE(closed.send_close(1000, ""));
  std::size_t before = closed.pending_output_size();
  CHECK_FALSE(closed.send_message_header(false, reinterpret_cast<std::uint8_t*>(payload.data()), 11));
  CHECK(closed.pending_output_size() == before);
}

TEST_CASE("a client masks every frame with the next key of its key source, byte for byte") {
  FixedMaskKeys keys;
  ProtocolConfig config = config_for(Role::client);
  config.mask_keys = &keys;
  Protocol p(config);
  REQUIRE(p.send_message(true, bytes("Hi"), 2));
  REQUIRE(p.send_ping("!"));
  const std::string expected = {
      '\x81', '\x82', '\x11', '\x22', '\x33', '\x44', char('H' ^ 0x11), char('i' ^ 0x22),
      '\x89', '\x81', '\x12', '\x23', '\x34', '\x45', char('!' ^ 0x12)};
  CHECK(p.pending_output() == expected);
}

TEST_CASE("a client Protocol without a masking key source is refused") {
  ProtocolConfig config;
  config.role = Role::client;
  CHECK_THROWS_AS(Protocol(config), std::invalid_argument);
  config.role = Role::server;
  CHECK_NOTHROW(Protocol(config));
}
