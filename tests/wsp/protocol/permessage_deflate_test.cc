// permessage-deflate framing and compression (RFC 7692 §6, §7.2) through the Protocol: the
// RFC's byte sequences, round trips in every configuration, and bounded inflation.
#include <catch2/catch.hpp>

#include <malloc.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/permessage_deflate.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::test;

// Live heap bytes from operator new and their peak, to bound what inflating a bomb holds at
// once (zlib's own state comes from malloc and is not counted: it is fixed by the window).
namespace {
std::atomic<std::int64_t> live_bytes{0}, peak_bytes{0};
}  // namespace

void* operator new(std::size_t size) {
  void* p = std::malloc(size != 0 ? size : 1);
  if (!p) throw std::bad_alloc();
  const std::int64_t now = live_bytes += static_cast<std::int64_t>(malloc_usable_size(p));
  if (now > peak_bytes) peak_bytes = now;
  return p;
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return operator new(size, std::nothrow);
}
void operator delete(void* p) noexcept {
  if (!p) return;
  live_bytes -= static_cast<std::int64_t>(malloc_usable_size(p));
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

DeflateConfig takeover(int bits = 15) {
  DeflateConfig c;
  c.send_window_bits = c.receive_window_bits = bits;
  c.min_size = 0;
  return c;
}

DeflateConfig no_takeover(int bits = 15) {
  DeflateConfig c = takeover(bits);
  c.send_no_context_takeover = c.receive_no_context_takeover = true;
  return c;
}

// One endpoint: its Protocol and the permessage-deflate in it.
struct Endpoint {
  FixedMaskKeys keys;
  std::unique_ptr<Protocol> protocol;
  // Asked each time: the connection's own state, once made, is not the configuration's.
  DeflateView deflate() const { return protocol->deflate(); }

  Endpoint(Role role, const DeflateConfig& config, std::size_t max_message = 65535,
           SharedDeflateStreams* shared = nullptr, std::size_t fragment = 0) {
    ProtocolConfig pc;
    pc.role = role;
    pc.max_message_size = max_message;
    pc.max_fragment_bytes_per_frame = fragment;
    pc.deflate = DeflateSlot(config);
    pc.deflate_streams = shared;
    pc.mask_keys = &keys;
    protocol = std::make_unique<Protocol>(std::move(pc));
  }
  Protocol& p() { return *protocol; }
  std::string take_output() {
    std::string out(p().pending_output());
    p().consume_output(out.size());
    return out;
  }
};

std::vector<std::string> messages(const std::vector<ProtocolEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.type == ProtocolEventType::message) out.push_back(e.payload);
  }
  return out;
}

int queued_close_code(Protocol& p) {
  const auto frames = parse_output(p.pending_output());
  REQUIRE(!frames.empty());
  REQUIRE(frames.back().b0 == kClose);
  return (std::uint8_t(frames.back().payload[0]) << 8) | std::uint8_t(frames.back().payload[1]);
}

std::string json_like(std::size_t size, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  static const char* names[] = {"id", "user", "price", "quantity", "status", "timestamp", "tags"};
  std::string s = "[";
  while (s.size() < size) {
    s += "{\"" + std::string(names[rng() % 7]) + "\":" + std::to_string(rng() % 100000) +
         ",\"status\":\"" + (rng() % 2 ? "open" : "filled") + "\"},";
  }
  s.resize(size);
  return s;
}

std::string random_bytes(std::size_t size, std::uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Sends each message from a client to a server (or back) and returns what arrived.
std::vector<std::string> round_trip(Endpoint& from, Endpoint& to, const std::vector<std::string>& sent,
                                    bool text, std::size_t chunk = 0) {
  for (const std::string& m : sent) {
    REQUIRE(from.p().send_message(text, reinterpret_cast<const std::uint8_t*>(m.data()), m.size()));
  }
  const auto events = feed(to.p(), from.take_output(), chunk);
  CHECK(to.p().failed_code() == 0);
  return messages(events);
}

}  // namespace

// ---- RFC 7692 §7.2.3: the examples, byte for byte ----------------------------------------

TEST_CASE("RFC 7692 7.2.3.1: \"Hello\" in one compressed frame and in two fragments inflates to Hello") {
  Endpoint client(Role::client, takeover());
  CHECK(messages(feed(client.p(), bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}))) ==
        std::vector<std::string>{"Hello"});
  Endpoint other(Role::client, takeover());
  CHECK(messages(feed(other.p(), bytes({0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00}))) ==
        std::vector<std::string>{"Hello"});
}

TEST_CASE("RFC 7692 7.2.3.2: with context takeover the second Hello refers back to the first") {
  Endpoint client(Role::client, takeover());
  CHECK(messages(feed(client.p(), bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
                                         0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00}))) ==
        std::vector<std::string>{"Hello", "Hello"});
}

TEST_CASE("RFC 7692 7.2.3.2: our compressor sends Hello twice as the RFC's bytes") {
  Endpoint server(Role::server, takeover());
  const std::string hello = "Hello";
  for (int i = 0; i < 2; ++i)
    server.p().send_message(true, reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size());
  CHECK(server.take_output() == bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
                                       0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST_CASE("without context takeover a Hello that would not shrink goes uncompressed") {
  // RFC 7692 7.2.3.1's 7 bytes for 5: a sender may leave any message uncompressed (§6).
  Endpoint server(Role::server, no_takeover());
  const std::string hello = "Hello";
  for (int i = 0; i < 2; ++i)
    server.p().send_message(true, reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size());
  CHECK(server.take_output() == raw_frame(kText, hello, false) + raw_frame(kText, hello, false));
}

TEST_CASE("RFC 7692 7.2.3.3: a DEFLATE block with no compression inflates to Hello") {
  Endpoint client(Role::client, takeover());
  CHECK(messages(feed(client.p(), bytes({0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c,
                                         0x6c, 0x6f, 0x00}))) == std::vector<std::string>{"Hello"});
}

TEST_CASE("RFC 7692 7.2.3.4: a block with BFINAL set inflates, and the window carries over") {
  Endpoint client(Role::client, takeover());
  // The second message is 7.2.3.2's back-reference to the first Hello.
  CHECK(messages(feed(client.p(), bytes({0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00,
                                         0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00}))) ==
        std::vector<std::string>{"Hello", "Hello"});
}

TEST_CASE("RFC 7692 7.2.3.5: two DEFLATE blocks in one message inflate to Hello") {
  Endpoint client(Role::client, takeover());
  CHECK(messages(feed(client.p(), bytes({0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff,
                                         0xca, 0xc9, 0xc9, 0x07, 0x00}))) == std::vector<std::string>{"Hello"});
}

TEST_CASE("RFC 7692 7.2.3.6: an empty last fragment of one 0x00 octet ends the message") {
  Endpoint client(Role::client, takeover());
  CHECK(messages(feed(client.p(), bytes({0x41, 0x0b, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00,
                                         0x00, 0xff, 0xff, 0x80, 0x01, 0x00}))) ==
        std::vector<std::string>{"Hello"});
}

TEST_CASE("an empty message compresses to one 0x00 octet and inflates back to nothing") {
  Endpoint server(Role::server, takeover());
  server.p().send_message(false, nullptr, 0);
  CHECK(server.take_output() == bytes({0xc2, 0x01, 0x00}));
  Endpoint client(Role::client, takeover());
  CHECK(messages(feed(client.p(), bytes({0xc2, 0x01, 0x00, 0xc2, 0x00}))) ==
        std::vector<std::string>{"", ""});
}

// ---- framing rules ------------------------------------------------------------------------

TEST_CASE("a frame with RSV1 when no extension was negotiated closes with 1002") {
  Protocol p = make(Role::client);
  feed(p, bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  CHECK(p.failed_code() == 1002);
}

TEST_CASE("with deflate, RSV1 on a continuation or a control frame closes with 1002") {
  Endpoint a(Role::client, takeover());
  feed(a.p(), bytes({0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00}));
  CHECK(a.p().failed_code() == 1002);
  Endpoint b(Role::client, takeover());
  feed(b.p(), bytes({0xc9, 0x00}));
  CHECK(b.p().failed_code() == 1002);
}

TEST_CASE("control frames are never compressed, messages under min_size go uncompressed") {
  DeflateConfig c = takeover();
  c.min_size = 64;
  Endpoint server(Role::server, c);
  const std::string small(63, 'a'), large(64, 'a');
  server.p().send_ping("ping ping ping ping ping ping ping ping ping ping ping ping ping ping");
  server.p().send_message(true, reinterpret_cast<const std::uint8_t*>(small.data()), small.size());
  server.p().send_message(true, reinterpret_cast<const std::uint8_t*>(large.data()), large.size());
  server.p().send_close(1000, "bye bye bye bye bye bye bye bye bye bye bye bye bye bye bye bye");
  const auto frames = parse_output(server.take_output());
  REQUIRE(frames.size() == 4);
  CHECK(frames[0].b0 == kPing);
  CHECK(frames[1].b0 == kText);
  CHECK(frames[1].payload == small);
  CHECK(frames[2].b0 == 0xc1);  // FIN, RSV1, text
  CHECK(frames[2].payload.size() < large.size());
  CHECK(frames[3].b0 == kClose);
  CHECK(server.deflate().dedicated_streams() == 1);  // the compressor, made for the large one
}

TEST_CASE("a compressed message is fragmented with RSV1 on its first frame only") {
  Endpoint client(Role::client, takeover(), 65535, nullptr, 16);
  const std::string text = json_like(2000);
  client.p().send_message(true, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  const std::string wire = client.take_output();
  const auto frames = parse_output(wire);
  REQUIRE(frames.size() > 2);
  CHECK(frames[0].b0 == 0x41);
  for (std::size_t i = 1; i + 1 < frames.size(); ++i) CHECK(frames[i].b0 == 0x00);
  CHECK(frames.back().b0 == 0x80);
  Endpoint server(Role::server, takeover());
  CHECK(messages(feed(server.p(), wire)) == std::vector<std::string>{text});
}

TEST_CASE("invalid DEFLATE data closes with 1007") {
  Endpoint client(Role::client, takeover());
  feed(client.p(), bytes({0xc1, 0x02, 0xff, 0xff}));  // block type 11 is reserved
  CHECK(client.p().failed_code() == 1007);
  CHECK(queued_close_code(client.p()) == 1007);
}

TEST_CASE("compressed text that inflates to invalid UTF-8 closes with 1007") {
  DeflateConfig c = takeover();
  PerMessageDeflate compressor(c, nullptr);
  std::string out;
  const std::string bad = "abc\xff\xfe";
  REQUIRE(compressor.compress(reinterpret_cast<const std::uint8_t*>(bad.data()), bad.size(), out));
  Endpoint client(Role::client, takeover());
  feed(client.p(), raw_frame(0xc1, out, false));
  CHECK(client.p().failed_code() == 1007);
}

// ---- round trips ----------------------------------------------------------------------------

TEST_CASE("round trips: empty, 1 byte, incompressible, highly compressible, text and binary") {
  const std::vector<std::string> sent = {"", "x", random_bytes(5000), std::string(60000, 'z'),
                                         json_like(3000), random_bytes(70, 3)};
  for (const DeflateConfig& config : {takeover(), no_takeover()}) {
    CAPTURE(config.send_no_context_takeover);
    Endpoint client(Role::client, config), server(Role::server, config);
    CHECK(round_trip(client, server, sent, false) == sent);
    CHECK(round_trip(server, client, sent, false) == sent);
    const std::vector<std::string> texts = {"", "h", json_like(100), json_like(20000, 5)};
    CHECK(round_trip(client, server, texts, true) == texts);
    CHECK(round_trip(server, client, texts, true, 7) == texts);  // read 7 bytes at a time
  }
}

TEST_CASE("without context takeover an incompressible message goes uncompressed") {
  Endpoint server(Role::server, no_takeover());
  const std::string noise = random_bytes(1000);
  server.p().send_message(false, reinterpret_cast<const std::uint8_t*>(noise.data()), noise.size());
  const auto frames = parse_output(server.take_output());
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].b0 == kBinary);
  CHECK(frames[0].payload == noise);
}

TEST_CASE("a 16 MiB message round-trips compressed, whole and fragmented") {
  const std::string big = json_like(16 << 20, 11);
  for (std::size_t fragment : {std::size_t{0}, std::size_t{65536}}) {
    CAPTURE(fragment);
    Endpoint client(Role::client, takeover(), 0, nullptr, fragment), server(Role::server, takeover(), 32 << 20);
    const auto got = round_trip(client, server, {big}, true);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == big);
    CHECK(client.deflate().stats().bytes_after_compression < big.size() / 3);
  }
}

TEST_CASE("context takeover makes repeated messages smaller; without it each costs the same") {
  const std::string m = json_like(500, 9);
  Endpoint with(Role::server, takeover()), without(Role::server, no_takeover());
  for (int i = 0; i < 3; ++i) {
    with.p().send_message(true, reinterpret_cast<const std::uint8_t*>(m.data()), m.size());
    without.p().send_message(true, reinterpret_cast<const std::uint8_t*>(m.data()), m.size());
  }
  const auto a = parse_output(with.take_output()), b = parse_output(without.take_output());
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == 3);
  CHECK(a[1].payload.size() < b[1].payload.size() / 4);
  CHECK(b[0].payload == b[1].payload);
  CHECK(b[1].payload == b[2].payload);
}

TEST_CASE("every window size from 8 to 15 round-trips with context takeover") {
  // Messages that repeat content further back than small windows reach.
  std::vector<std::string> sent;
  for (int i = 0; i < 6; ++i) sent.push_back(json_like(3000 + i * 1000, 20 + i % 2));
  for (int bits = 8; bits <= 15; ++bits) {
    CAPTURE(bits);
    // The sender compresses with max(bits, 9) (zlib); the receiver inflates with exactly that.
    const int send_bits = std::max(bits, 9);
    DeflateConfig sender = takeover(send_bits), receiver = takeover(send_bits);
    Endpoint client(Role::client, sender), server(Role::server, receiver);
    CHECK(round_trip(client, server, sent, true) == sent);
    CHECK(round_trip(server, client, sent, true) == sent);
  }
}

TEST_CASE("shared streams serve interleaved connections and a connection keeps no zlib state") {
  SharedDeflateStreams shared;
  DeflateConfig config = no_takeover();
  config.shared = true;
  Endpoint a(Role::server, config, 65535, &shared), b(Role::server, config, 65535, &shared);
  Endpoint peer_a(Role::client, no_takeover()), peer_b(Role::client, no_takeover());
  for (int i = 0; i < 5; ++i) {
    const std::string ma = json_like(800, i), mb = json_like(900, 100 + i);
    CHECK(round_trip(a, peer_a, {ma}, true) == std::vector<std::string>{ma});
    CHECK(round_trip(peer_b, b, {mb}, true) == std::vector<std::string>{mb});
    CHECK(round_trip(b, peer_b, {mb}, true) == std::vector<std::string>{mb});
    CHECK(round_trip(peer_a, a, {ma}, true) == std::vector<std::string>{ma});
  }
  CHECK(a.deflate().dedicated_streams() == 0);
  CHECK(b.deflate().dedicated_streams() == 0);
  CHECK(shared.streams() == 2);  // one compressor (15 bits), one decompressor
}

TEST_CASE("dedicated zlib streams are made on first use, one per direction") {
  Endpoint server(Role::server, takeover()), client(Role::client, takeover());
  CHECK(server.deflate().dedicated_streams() == 0);
  const std::string m = json_like(200);
  round_trip(server, client, {m}, true);
  CHECK(server.deflate().dedicated_streams() == 1);
  round_trip(client, server, {m}, true);
  CHECK(server.deflate().dedicated_streams() == 2);
}

// ---- bombs ----------------------------------------------------------------------------------

TEST_CASE("a small compressed message inflating past the limit closes with 1009, allocating little") {
  // 10 MiB of zeros compress to about 10 KiB.
  const std::string zeros(10 << 20, '\0');
  PerMessageDeflate compressor(takeover(), nullptr);
  std::string compressed;
  REQUIRE(compressor.compress(reinterpret_cast<const std::uint8_t*>(zeros.data()), zeros.size(), compressed));
  REQUIRE(compressed.size() < 20000);
  const std::string wire = raw_frame(0xc2, compressed, true);

  for (DeflateConfig config : {takeover(), no_takeover()}) {
    Endpoint server(Role::server, config, 65536);
    const std::int64_t before = live_bytes;
    peak_bytes = before;
    feed(server.p(), wire);
    const std::int64_t peak = peak_bytes - before;
    CHECK(server.p().failed_code() == 1009);
    CHECK(queued_close_code(server.p()) == 1009);
    // At most: the compressed message with its 4-byte tail, the output buffer (never past 64
    // KiB) and, while it grows, the smaller one it is copied from; the close frame.
    CHECK(peak < static_cast<std::int64_t>(2 * 65536 + compressed.size() + 4096));
    CHECK(live_bytes - before < static_cast<std::int64_t>(compressed.size() + 4096));
  }
}

TEST_CASE("a message that inflates to exactly the limit is accepted") {
  const std::string m(65536, 'q');
  Endpoint client(Role::client, takeover()), server(Role::server, takeover(), 65536);
  CHECK(round_trip(client, server, {m}, false) == std::vector<std::string>{m});
}

TEST_CASE("a compressed wire size far above the limit closes with 1009 from the frame header") {
  Endpoint server(Role::server, takeover(), 1000);
  feed(server.p(), raw_frame(0xc2, random_bytes(2000), true).substr(0, 8));
  CHECK(server.p().failed_code() == 1009);
}

TEST_CASE("DeflateSlot keeps a configuration in one word and gives every field back exactly") {
  static_assert(sizeof(DeflateSlot) == sizeof(void*));
  std::vector<DeflateConfig> configs;
  for (int bits = 8; bits <= 15; ++bits) {
    for (int level = -1; level <= 9; ++level) {
      DeflateConfig c;
      c.shared = level % 2 == 0;
      c.send_no_context_takeover = bits % 2 == 0;
      c.receive_no_context_takeover = bits % 3 == 0;
      c.send_window_bits = bits;
      c.receive_window_bits = 23 - bits;
      c.mem_level = 1 + (bits + level + 1) % 9;
      c.level = level;
      c.min_size = static_cast<std::size_t>(bits * 1000 + level + 1);
      c.per_connection_stats = (bits + level) % 2 == 0;
      configs.push_back(c);
    }
  }
  DeflateConfig largest = takeover();
  largest.min_size = DeflateSlot::kMaxPackedMinSize;
  configs.push_back(largest);
  for (const DeflateConfig& c : configs) {
    DeflateSlot slot(c);
    CHECK(slot.negotiated());
    CHECK(slot.config() == c);
    CHECK(slot.made() == nullptr);
  }
  DeflateConfig beyond = takeover();
  beyond.min_size = ~std::size_t{0};  // past 43 bits: kept as the largest packed value
  CHECK(DeflateSlot(beyond).config().min_size == DeflateSlot::kMaxPackedMinSize);
  CHECK_FALSE(DeflateSlot().negotiated());
  CHECK_FALSE(DeflateSlot().should_compress(1 << 20));
}

TEST_CASE("DeflateSlot: should_compress is size >= min_size, before and after the state is made") {
  DeflateConfig c = takeover();
  c.min_size = 100;
  DeflateSlot slot(c);
  CHECK_FALSE(slot.should_compress(99));
  CHECK(slot.should_compress(100));
  REQUIRE(slot.get(nullptr) != nullptr);
  CHECK(slot.made() != nullptr);
  CHECK_FALSE(slot.should_compress(99));
  CHECK(slot.should_compress(100));
  CHECK(slot.config() == c);
}

TEST_CASE("a Protocol makes its PerMessageDeflate on the first compressed message, not before") {
  Endpoint server(Role::server, no_takeover()), client(Role::client, no_takeover());
  CHECK(server.deflate().made() == nullptr);
  CHECK(server.deflate().stats().messages_compressed == 0);
  // Under min_size nothing is compressed: still nothing made.
  DeflateConfig small = no_takeover();
  small.min_size = 64;
  Endpoint quiet(Role::server, small);
  REQUIRE(quiet.p().send_message(true, reinterpret_cast<const std::uint8_t*>("short"), 5));
  CHECK(quiet.deflate().made() == nullptr);
  // A compressed message from the peer makes it on the receiving side.
  const std::string text = json_like(500);
  CHECK(round_trip(client, server, {text}, true) == std::vector<std::string>{text});
  CHECK(client.deflate().made() != nullptr);
  CHECK(server.deflate().made() != nullptr);
  CHECK(server.deflate().stats().messages_inflated == 1);
}

TEST_CASE("a Protocol idle between compressed messages holds no scratch, and keeps its zlib state and counters") {
  Endpoint server(Role::server, takeover()), client(Role::client, takeover());
  const std::string text = json_like(500);
  // As a Connection does: the output taken whole (take_output), which lets an idle scratch go.
  auto send = [&](Endpoint& from, Endpoint& to) {
    REQUIRE(from.p().send_message(true, reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    std::string wire;
    from.p().take_output(wire);
    return messages(feed(to.p(), wire));
  };
  const PerMessageDeflate* first_made = nullptr;
  for (int i = 1; i <= 3; ++i) {
    CHECK(send(client, server) == std::vector<std::string>{text});
    CHECK(send(server, client) == std::vector<std::string>{text});
    // Each side took its messages and its output: nothing of the scratch is left.
    CHECK(server.p().buffer_capacity() == 0);
    CHECK(client.p().buffer_capacity() == 0);
    REQUIRE(server.deflate().made() != nullptr);
    if (i == 1) first_made = server.deflate().made();
    CHECK(server.deflate().made() == first_made);  // the same state, kept while idle
    CHECK(server.deflate().stats().messages_inflated == static_cast<std::uint64_t>(i));
    CHECK(server.deflate().stats().messages_compressed == static_cast<std::uint64_t>(i));
    CHECK(server.deflate().dedicated_streams() == 2);
  }
}

TEST_CASE("copying a DeflateSlot copies the configuration, never the zlib state") {
  DeflateSlot slot(takeover());
  REQUIRE(slot.get(nullptr) != nullptr);
  DeflateSlot copy(slot);
  CHECK(copy.config() == takeover());
  CHECK(copy.made() == nullptr);
  DeflateSlot moved(std::move(slot));
  CHECK(moved.made() != nullptr);
  CHECK_FALSE(slot.negotiated());
}

TEST_CASE("shared without per-connection counters: no connection ever holds a PerMessageDeflate") {
  SharedDeflateStreams streams;
  DeflateConfig shared = no_takeover();
  shared.shared = true;
  shared.per_connection_stats = false;
  Endpoint a(Role::server, shared, 65535, &streams), b(Role::server, shared, 65535, &streams);
  Endpoint client(Role::client, no_takeover());
  const std::string text = json_like(2000);

  for (Endpoint* server : {&a, &b}) {
    CHECK(round_trip(client, *server, {text}, true) == std::vector<std::string>{text});
    CHECK(round_trip(*server, client, {text}, true) == std::vector<std::string>{text});
    CHECK(server->deflate().made() == nullptr);
    CHECK(server->deflate().stats().messages_compressed == 0);
  }
  // Both connections used the thread's one object for their configuration: the counts are
  // the thread's.
  const DeflateStats totals = streams.stats();
  CHECK(totals.messages_compressed == 2);
  CHECK(totals.messages_inflated == 2);
  CHECK(totals.bytes_before_compression == 2 * text.size());
  CHECK(totals.bytes_after_inflation == 2 * text.size());
  // A third connection with the same configuration uses the same object.
  Endpoint c(Role::server, shared, 65535, &streams);
  CHECK(round_trip(client, c, {text}, true) == std::vector<std::string>{text});
  CHECK(c.deflate().made() == nullptr);
  CHECK(streams.stats().messages_inflated == 3);

  // With the counters (the default) the connection makes its own on first use.
  DeflateConfig counted = shared;
  counted.per_connection_stats = true;
  Endpoint d(Role::server, counted, 65535, &streams);
  CHECK(round_trip(client, d, {text}, true) == std::vector<std::string>{text});
  CHECK(d.deflate().made() != nullptr);
  CHECK(d.deflate().stats().messages_inflated == 1);
  CHECK(streams.stats().messages_inflated == 3);
}

TEST_CASE("per_connection_stats is negotiated into the configuration, and only the shared mode drops it") {
  std::string response;
  DeflateOptions options;
  options.mode = DeflateOptions::Mode::shared;
  options.per_connection_stats = false;
  const std::vector<Extension> offer = parse_extensions("permessage-deflate");
  std::optional<DeflateConfig> shared = accept_deflate_offer(offer, options, response);
  REQUIRE(shared);
  CHECK_FALSE(shared->per_connection_stats);
  options.mode = DeflateOptions::Mode::dedicated;
  std::optional<DeflateConfig> dedicated = accept_deflate_offer(offer, options, response);
  REQUIRE(dedicated);
  CHECK(dedicated->per_connection_stats);
}
