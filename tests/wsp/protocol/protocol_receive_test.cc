// Receiving frames: RFC 6455 §5 rules, each with the exact close code the Protocol sends.
#include <catch2/catch.hpp>

#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::test;

// Heap bytes handed out by operator new and given back to operator delete, to see a buffer
// allocated and freed: this test binary replaces the global operator new and delete (all but
// the over-aligned ones, which pair among themselves) with malloc and free plus these counts.
namespace {
std::atomic<std::uint64_t> bytes_allocated{0}, bytes_freed{0};
}  // namespace

void* operator new(std::size_t size) {
  void* p = std::malloc(size != 0 ? size : 1);
  if (!p) throw std::bad_alloc();
  bytes_allocated += malloc_usable_size(p);
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
  bytes_freed += malloc_usable_size(p);
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }

namespace {

// The single close frame a failed Protocol queued, decoded.
int queued_close_code(const Protocol& p, std::string* reason = nullptr) {
  const auto frames = parse_output(p.pending_output());
  REQUIRE(frames.size() == 1);
  REQUIRE(frames[0].b0 == kClose);
  REQUIRE(frames[0].payload.size() >= 2);
  if (reason) *reason = frames[0].payload.substr(2);
  return (std::uint8_t(frames[0].payload[0]) << 8) | std::uint8_t(frames[0].payload[1]);
}

void require_failed(Protocol& p, int code, const char* reason) {
  CHECK(p.failed_code() == code);
  CHECK(p.close_handshake() == Protocol::CloseHandshake::done);
  CHECK(p.close_sent());
  CHECK_FALSE(p.close_received());
  std::string r;
  CHECK(queued_close_code(p, &r) == code);
  CHECK(r == reason);
}

}  // namespace

TEST_CASE("an unmasked text frame reaches the client as one text message") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, from_peer(Role::client, kText, "Hello"));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::message);
  CHECK(ev[0].text);
  CHECK(ev[0].payload == "Hello");
  CHECK(p.failed_code() == 0);
  CHECK(p.close_handshake() == Protocol::CloseHandshake::none);
  CHECK(p.pending_output_size() == 0);
}

TEST_CASE("a masked binary frame reaches the server unmasked") {
  Protocol p = make(Role::server);
  const std::string data("\x00\xff\x10\x80\x7f", 5);
  const auto ev = feed(p, from_peer(Role::server, kBinary, data));
  REQUIRE(ev.size() == 1);
  CHECK_FALSE(ev[0].text);
  CHECK(ev[0].payload == data);
}

TEST_CASE("the RFC 6455 §5.7 example frames decode as the RFC says") {
  Protocol client = make(Role::client);
  auto ev = feed(client, std::string("\x81\x05\x48\x65\x6c\x6c\x6f", 7));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "Hello");
  Protocol server = make(Role::server);
  ev = feed(server, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "Hello");
  // Fragmented unmasked text message "Hel" + "lo".
  Protocol c2 = make(Role::client);
  ev = feed(c2, std::string("\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f", 9));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "Hello");
}

TEST_CASE("16-bit and 64-bit lengths are decoded") {
  Protocol p = make(Role::client, 0);
  const std::string mid(300, 'a'), big(70000, 'b');
  auto ev = feed(p, from_peer(Role::client, kBinary, mid) + from_peer(Role::client, kBinary, big));
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].payload == mid);
  CHECK(ev[1].payload == big);
}

TEST_CASE("a short payload in a non-minimal 64-bit length form is accepted") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kText, "abc", false, 8));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "abc");
}

TEST_CASE("zero-length frames and messages are valid") {
  Protocol p = make(Role::server);
  const auto ev = feed(p, from_peer(Role::server, kText, "") +
                              from_peer(Role::server, kBinaryStart, "") +
                              from_peer(Role::server, kCont, "") +
                              from_peer(Role::server, kContFin, "") +
                              from_peer(Role::server, kPing, ""));
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].type == ProtocolEventType::message);
  CHECK(ev[0].text);
  CHECK(ev[0].payload.empty());
  CHECK(ev[1].type == ProtocolEventType::message);
  CHECK_FALSE(ev[1].text);
  CHECK(ev[1].payload.empty());
  CHECK(ev[2].type == ProtocolEventType::ping);
  CHECK(p.failed_code() == 0);
}

TEST_CASE("receive stops right after each complete event") {
  Protocol p = make(Role::client);
  const std::string a = from_peer(Role::client, kText, "one");
  const std::string b = from_peer(Role::client, kText, "two");
  const std::string both = a + b;
  ProtocolEvent ev;
  std::size_t n = p.receive(reinterpret_cast<const std::uint8_t*>(both.data()), both.size(), ev);
  CHECK(n == a.size());
  CHECK(ev.payload == "one");
  n = p.receive(reinterpret_cast<const std::uint8_t*>(both.data()) + n, both.size() - n, ev);
  CHECK(n == b.size());
  CHECK(ev.payload == "two");
}

TEST_CASE("receive consumes a partial frame and reports no event") {
  Protocol p = make(Role::client);
  const std::string f = from_peer(Role::client, kText, "hello");
  ProtocolEvent ev;
  CHECK(p.receive(reinterpret_cast<const std::uint8_t*>(f.data()), 4, ev) == 4);
  CHECK(ev.type == ProtocolEventType::none);
  CHECK(p.receive(reinterpret_cast<const std::uint8_t*>(f.data()) + 4, f.size() - 4, ev) ==
        f.size() - 4);
  CHECK(ev.type == ProtocolEventType::message);
  CHECK(ev.payload == "hello");
}

TEST_CASE("every byte split of a multi-frame stream yields the same events") {
  for (Role role : {Role::client, Role::server}) {
    const std::string stream =
        from_peer(role, kTextStart, "Hel") + from_peer(role, kPing, "p1") +
        from_peer(role, kContFin, "lo \xc3\xa9t\xc3\xa9") +
        from_peer(role, kBinary, std::string(200, '\x01')) + from_peer(role, kPong, "") +
        from_peer(role, kBinaryStart, std::string(70000, 'z')) +
        from_peer(role, kContFin, "end") + from_peer(role, kClose, close_payload(1000, "bye"));
    for (std::size_t split = 1; split < stream.size(); split += (split < 300 ? 1 : 997)) {
      Protocol p = make(role, 0);
      // Two pieces split at `split`, then the same stream one byte at a time below.
      std::vector<ProtocolEvent> ev;
      for (auto part : {stream.substr(0, split), stream.substr(split)}) {
        auto e = feed(p, part);
        ev.insert(ev.end(), e.begin(), e.end());
      }
      REQUIRE(ev.size() == 6);
      CHECK(ev[0].type == ProtocolEventType::ping);
      CHECK(ev[0].payload == "p1");
      CHECK(ev[1].payload == "Hello \xc3\xa9t\xc3\xa9");
      CHECK(ev[1].text);
      CHECK(ev[2].payload == std::string(200, '\x01'));
      CHECK(ev[3].type == ProtocolEventType::pong);
      CHECK(ev[4].payload == std::string(70000, 'z') + "end");
      CHECK(ev[5].type == ProtocolEventType::close);
      CHECK(ev[5].close_code == 1000);
      CHECK(ev[5].close_reason == "bye");
      CHECK(p.failed_code() == 0);
    }
    Protocol p = make(role, 0);
    const auto ev = feed(p, stream, 1);
    REQUIRE(ev.size() == 6);
    CHECK(ev[4].payload.size() == 70003);
    CHECK(ev[5].close_code == 1000);
  }
}

TEST_CASE("a frame received whole and the same frame byte by byte give the same result") {
  // Whole frames take the parser's fast path, split ones the general path: every rule must
  // come out the same (events, failure code, queued answer).
  struct Case {
    std::uint8_t b0;
    std::string payload;
    int force_len_bytes = 0;
    std::size_t max_message = 65535;
  };
  const std::string invalid_utf8 = "ab\xc3\x28";
  const std::vector<Case> cases = {
      {kText, ""}, {kText, "h\xc3\xa9llo"}, {kText, invalid_utf8}, {kText, "\xe2\x82"},
      {kBinary, std::string(125, 'b')}, {kBinary, std::string(126, 'b')},
      {kBinary, std::string(65535, 'b')}, {kBinary, std::string(65536, 'b'), 0, 0},
      {kBinary, "short", 2}, {kBinary, "short", 8},
      {kBinary, std::string(100, 'x'), 0, 99}, {kBinary, std::string(100, 'x'), 0, 100},
      {0xC2, "rsv1"}, {0xA2, "rsv2"}, {0x92, "rsv3"}, {0x83, "opcode 3"}, {0x8B, "opcode 11"},
      {kBinaryStart, "first fragment"}, {kContFin, "no message"}, {kPing, "p"},
      {kClose, close_payload(1000, "bye")},
  };
  for (Role role : {Role::client, Role::server}) {
    for (bool masked : {false, true}) {
      for (const Case& c : cases) {
        CAPTURE(int(role), masked, int(c.b0), c.payload.size(), c.force_len_bytes, c.max_message);
        const std::string frame = raw_frame(c.b0, c.payload, masked, c.force_len_bytes) +
                                  raw_frame(kBinary, "next", masked);
        Protocol whole = make(role, c.max_message);
        Protocol split = make(role, c.max_message);
        const auto a = feed(whole, frame);
        const auto b = feed(split, frame, 1);
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
          CHECK(a[i].type == b[i].type);
          CHECK(a[i].text == b[i].text);
          CHECK(a[i].payload == b[i].payload);
          CHECK(a[i].close_code == b[i].close_code);
        }
        CHECK(whole.failed_code() == split.failed_code());
        // Compared decoded: a client masks each frame with a fresh random key.
        const auto answer_a = parse_output(whole.pending_output());
        const auto answer_b = parse_output(split.pending_output());
        REQUIRE(answer_a.size() == answer_b.size());
        for (std::size_t i = 0; i < answer_a.size(); ++i) {
          CHECK(answer_a[i].b0 == answer_b[i].b0);
          CHECK(answer_a[i].payload == answer_b[i].payload);
        }
        // The frames that break no rule here are delivered, with the one after them.
        if (masked == (role == Role::server) && (c.b0 == kText || c.b0 == kBinary) &&
            c.payload != invalid_utf8 && c.payload != "\xe2\x82" &&
            (c.max_message == 0 || c.payload.size() <= c.max_message)) {
          REQUIRE(a.size() == 2);
          CHECK(a[0].payload == c.payload);
          CHECK(a[1].payload == "next");
        }
      }
    }
  }
}

TEST_CASE("a server closes with 1002 on an unmasked client frame") {
  Protocol p = make(Role::server);
  CHECK(feed(p, raw_frame(kText, "hi", false)).empty());
  require_failed(p, 1002, "Protocol error");
}

TEST_CASE("a client closes with 1002 on a masked server frame") {
  Protocol p = make(Role::client);
  CHECK(feed(p, raw_frame(kText, "hi", true)).empty());
  require_failed(p, 1002, "Protocol error");
}

TEST_CASE("a frame with RSV1, RSV2 or RSV3 set closes with 1002") {
  for (std::uint8_t rsv : {0x40, 0x20, 0x10}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(kText | rsv, "hi", false)).empty());
    require_failed(p, 1002, "Protocol error");
  }
}

TEST_CASE("RSV1 is accepted on a first data frame when an extension negotiated it") {
  ProtocolConfig c = config_for(Role::client);
  c.allow_rsv1 = true;
  Protocol p(c);
  const auto ev = feed(p, raw_frame(kTextStart | 0x40, "\xff", false) + raw_frame(kContFin, "x", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].compressed);
  CHECK(ev[0].payload == "\xffx");  // compressed bytes are not UTF-8 checked here
}

TEST_CASE("RSV1 on a continuation or control frame closes with 1002 even when negotiated") {
  ProtocolConfig c = config_for(Role::client);
  c.allow_rsv1 = true;
  Protocol p(c);
  feed(p, raw_frame(kTextStart | 0x40, "a", false) + raw_frame(kContFin | 0x40, "b", false));
  CHECK(p.failed_code() == 1002);
  Protocol q(c);
  feed(q, raw_frame(kPing | 0x40, "", false));
  CHECK(q.failed_code() == 1002);
}

TEST_CASE("reserved opcodes close with 1002") {
  for (std::uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(0x80 | op, "", false)).empty());
    require_failed(p, 1002, "Protocol error");
  }
}

TEST_CASE("a control frame with a 126-byte payload closes with 1002") {
  for (std::uint8_t op : {kPing, kPong, kClose}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(op, std::string(126, 'a'), false)).empty());
    require_failed(p, 1002, "Protocol error");
  }
}

TEST_CASE("a control frame with a 125-byte payload is accepted") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kPing, std::string(125, 'a'), false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload.size() == 125);
}

TEST_CASE("a fragmented control frame closes with 1002") {
  for (std::uint8_t op : {0x09, 0x0A, 0x08}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(op, "x", false)).empty());
    require_failed(p, 1002, "Protocol error");
  }
}

TEST_CASE("control frames may arrive between the fragments of a message") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kTextStart, "ab", false) + raw_frame(kPing, "x", false) +
                              raw_frame(kCont, "cd", false) + raw_frame(kPong, "y", false) +
                              raw_frame(kContFin, "ef", false));
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].type == ProtocolEventType::ping);
  CHECK(ev[1].type == ProtocolEventType::pong);
  CHECK(ev[2].payload == "abcdef");
}

TEST_CASE("a continuation frame without a started message closes with 1002") {
  for (std::uint8_t b0 : {kCont, kContFin}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(b0, "x", false)).empty());
    require_failed(p, 1002, "Protocol error");
  }
}

TEST_CASE("a new data frame while a fragmented message is open closes with 1002") {
  for (std::uint8_t b0 : {kText, kBinary, kTextStart, kBinaryStart}) {
    Protocol p = make(Role::client);
    CHECK(feed(p, raw_frame(kBinaryStart, "x", false) + raw_frame(b0, "y", false)).empty());
    require_failed(p, 1002, "Protocol error");
  }
}

TEST_CASE("a 64-bit length with the top bit set closes with 1002") {
  Protocol p = make(Role::client, 0);
  std::string f("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  CHECK(feed(p, f).empty());
  require_failed(p, 1002, "Protocol error");
}

TEST_CASE("a message over the size limit closes with 1009 as soon as its header arrives") {
  Protocol p = make(Role::client, 100);
  // Only the header of a 101-byte frame: no payload needed to decide.
  CHECK(feed(p, std::string("\x82\x65", 2)).empty());
  require_failed(p, 1009, "Message too big");
}

TEST_CASE("a message of exactly the size limit is accepted") {
  Protocol p = make(Role::client, 100);
  const auto ev = feed(p, raw_frame(kBinaryStart, std::string(60, 'a'), false) +
                              raw_frame(kContFin, std::string(40, 'b'), false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload.size() == 100);
}

TEST_CASE("fragments adding up over the size limit close with 1009") {
  Protocol p = make(Role::client, 100);
  CHECK(feed(p, raw_frame(kBinaryStart, std::string(60, 'a'), false) +
                    raw_frame(kCont, std::string(41, 'b'), false))
            .empty());
  require_failed(p, 1009, "Message too big");
}

TEST_CASE("a huge announced length does not allocate the announced size") {
  Protocol p = make(Role::client, 0);
  // 2^62 bytes announced, 10 delivered: the parser must just wait for more.
  std::string f("\x82\x7f\x40\x00\x00\x00\x00\x00\x00\x00", 10);
  CHECK(feed(p, f + std::string(10, 'x')).empty());
  CHECK(p.failed_code() == 0);
}

TEST_CASE("control frames are not counted against the message size limit") {
  Protocol p = make(Role::client, 10);
  const auto ev = feed(p, raw_frame(kPing, std::string(125, 'a'), false));
  REQUIRE(ev.size() == 1);
  CHECK(p.failed_code() == 0);
}

TEST_CASE("invalid UTF-8 in a text message closes with 1007") {
  Protocol p = make(Role::client);
  CHECK(feed(p, raw_frame(kText, "ab\xc0\xaf", false)).empty());
  require_failed(p, 1007, "Invalid frame payload data");
}

TEST_CASE("invalid UTF-8 closes with 1007 in the first fragment, before the message ends") {
  Protocol p = make(Role::client);
  CHECK(feed(p, raw_frame(kTextStart, "\xed\xa0\x80", false)).empty());  // a surrogate
  require_failed(p, 1007, "Invalid frame payload data");
}

TEST_CASE("invalid UTF-8 closes with 1007 before the rest of the frame arrives") {
  Protocol p = make(Role::client);
  const std::string f = raw_frame(kText, "abc\xf8" + std::string(100, 'a'), false);
  CHECK(feed(p, f.substr(0, 6)).empty());
  CHECK(p.failed_code() == 1007);
}

TEST_CASE("a code point split across fragments is valid") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kTextStart, "\xf0\x9f", false) +
                              raw_frame(kCont, "\x98", false) + raw_frame(kContFin, "\x80!", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "\xf0\x9f\x98\x80!");
}

TEST_CASE("a text message ending inside a code point closes with 1007") {
  Protocol p = make(Role::client);
  CHECK(feed(p, raw_frame(kTextStart, "a\xe2\x82", false) + raw_frame(kContFin, "", false))
            .empty());
  require_failed(p, 1007, "Invalid frame payload data");
}

TEST_CASE("binary messages are not UTF-8 checked") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kBinary, "\xff\xfe\xc0", false));
  REQUIRE(ev.size() == 1);
  CHECK(p.failed_code() == 0);
}

TEST_CASE("1009 frees the partial message") {
  const std::string first = from_peer(Role::server, kBinaryStart, std::string(90000, 'a'));
  const std::string second = from_peer(Role::server, kContFin, std::string(20000, 'b'));
  Protocol p = make(Role::server, 100000);  // plain allocation: no pool keeps a freed buffer
  ProtocolEvent ev;
  const std::uint64_t allocated_before = bytes_allocated, freed_before = bytes_freed;
  const std::size_t used = p.receive(reinterpret_cast<const std::uint8_t*>(first.data()), first.size(), ev);
  const std::uint64_t allocated_first = bytes_allocated - allocated_before;
  const std::uint64_t freed_first = bytes_freed - freed_before;
  const std::uint64_t freed_before_1009 = bytes_freed;
  p.receive(reinterpret_cast<const std::uint8_t*>(second.data()), second.size(), ev);
  const std::uint64_t freed_at_1009 = bytes_freed - freed_before_1009;
  CHECK(used == first.size());
  // The first fragment is held for the rest of the message...
  CHECK(allocated_first >= 90000);
  CHECK(freed_first < 90000);
  // ...and goes back to the heap at the 1009.
  CHECK(p.failed_code() == 1009);
  CHECK(ev.type == ProtocolEventType::none);
  CHECK(freed_at_1009 >= 90000);
}

TEST_CASE("bytes after a protocol error are discarded and produce no event") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(0x83, "", false) + raw_frame(kText, "x", false));
  CHECK(ev.empty());
  CHECK(p.failed_code() == 1002);
}

TEST_CASE("a received ping is reported and answered with a pong carrying its payload") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kPing, "abc", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::ping);
  CHECK(ev[0].payload == "abc");
  const auto out = parse_output(p.pending_output());
  REQUIRE(out.size() == 1);
  CHECK(out[0].b0 == kPong);
  CHECK(out[0].masked);  // client frames are masked
  CHECK(out[0].payload == "abc");
}

TEST_CASE("a server's pong is unmasked") {
  Protocol p = make(Role::server);
  feed(p, from_peer(Role::server, kPing, "q"));
  const auto out = parse_output(p.pending_output());
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].masked);
  CHECK(out[0].payload == "q");
}

TEST_CASE("a received pong is reported and not answered") {
  Protocol p = make(Role::client);
  const auto ev = feed(p, raw_frame(kPong, "z", false));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == ProtocolEventType::pong);
  CHECK(ev[0].payload == "z");
  CHECK(p.pending_output_size() == 0);
}

TEST_CASE("a reused ProtocolEvent recycles its payload buffer") {
  Protocol p = make(Role::client);
  const std::string a = raw_frame(kBinary, std::string(1000, 'a'), false);
  const std::string b = raw_frame(kBinary, std::string(1000, 'b'), false);
  ProtocolEvent ev;
  p.receive(reinterpret_cast<const std::uint8_t*>(a.data()), a.size(), ev);
  const char* first = ev.payload.data();
  p.receive(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), ev);
  p.receive(reinterpret_cast<const std::uint8_t*>(a.data()), a.size(), ev);
  CHECK(ev.payload == std::string(1000, 'a'));
  CHECK(ev.payload.data() == first);
}

TEST_CASE("a buffer given back is reused for the next message") {
  Protocol p = make(Role::client);
  std::string spare;
  spare.reserve(4096);
  const char* storage = spare.data();
  p.give_back_buffer(std::move(spare));
  ProtocolEvent ev;
  const std::string f = raw_frame(kBinary, std::string(100, 'x'), false);
  p.receive(reinterpret_cast<const std::uint8_t*>(f.data()), f.size(), ev);
  CHECK(ev.payload == std::string(100, 'x'));
  CHECK(ev.payload.data() == storage);
}

// Thousands of idle connections each hold a Protocol: its buffers exist only while in use.
TEST_CASE("an idle protocol holds no buffers; a partial message, a pong or a reply does until done") {
  Protocol p = make(Role::server);
  CHECK(p.buffer_capacity() == 0);
  const std::string first = from_peer(Role::server, kTextStart, "hello ");
  const std::string last = from_peer(Role::server, kContFin, "world");
  CHECK(feed(p, first).empty());
  CHECK(p.buffer_capacity() > 0);  // the message being reassembled
  const std::vector<ProtocolEvent> message = feed(p, last);
  REQUIRE(message.size() == 1);
  CHECK(message[0].payload == "hello world");
  CHECK(p.buffer_capacity() == 0);

  REQUIRE(p.send_message(true, reinterpret_cast<const std::uint8_t*>("hi"), 2));
  CHECK(p.buffer_capacity() > 0);  // output not taken yet
  std::string output;
  p.take_output(output);
  CHECK(output == raw_frame(kText, "hi", false));
  CHECK(p.buffer_capacity() == 0);

  const std::vector<ProtocolEvent> ping = feed(p, from_peer(Role::server, kPing, "p"));
  REQUIRE(ping.size() == 1);
  CHECK(ping[0].type == ProtocolEventType::ping);
  CHECK(p.pending_output() == raw_frame(kPong, "p", false));
  p.take_output(output);
  CHECK(p.buffer_capacity() == 0);
  CHECK(p.pending_output().empty());

  // The parser's state between receives: one byte of a header, then a ping's whole header
  // without its payload. Each is kept until its frame ends, then nothing is.
  const std::string ping_frame = from_peer(Role::server, kPing, "xyz");
  CHECK(feed(p, ping_frame.substr(0, 1)).empty());
  CHECK(p.buffer_capacity() > 0);
  CHECK(feed(p, ping_frame.substr(1, 5)).empty());  // the rest of the 6-byte header
  CHECK(p.buffer_capacity() > 0);
  const std::vector<ProtocolEvent> split_ping = feed(p, ping_frame.substr(6));
  REQUIRE(split_ping.size() == 1);
  CHECK(split_ping[0].type == ProtocolEventType::ping);
  CHECK(split_ping[0].payload == "xyz");
  p.take_output(output);
  CHECK(p.buffer_capacity() == 0);
}
