// Connection over an in-memory stream (io/testing/memory_stream.h): scripted read splits,
// partial writes, injected errors, and a manual clock for every timer. Nothing sleeps and
// nothing waits for real time: the reactor is driven with poll() until nothing is ready.
// The test plays the peer on the other end of the stream and checks the exact bytes the
// Connection wrote.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/manual_clock.h"
#include "io/reactor.h"
#include "io/testing/memory_stream.h"
#include "tests/wsp/protocol/wire.h"
#include "wsp/engine/connection.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using namespace std::string_view_literals;
using io::test::MemoryStream;
using io::test::ReadSplit;
using wsp::Connection;
using wsp::ConnectionLimits;
using wsp::Role;
using wsp::SendResult;
using wsp::test::close_payload;
using wsp::test::kBinary;
using wsp::test::kClose;
using wsp::test::kCont;
using wsp::test::kContFin;
using wsp::test::kPing;
using wsp::test::kPong;
using wsp::test::kText;
using wsp::test::kTextStart;
using wsp::test::raw_frame;

namespace {

io::Reactor::Options manual_clock() {
  io::Reactor::Options options;
  options.manual_clock = true;
  return options;
}

// A frame as a client sends it (masked with wire.h's known key) and as a server does.
std::string from_client(std::uint8_t b0, const std::string& payload) { return raw_frame(b0, payload, true); }
std::string from_server(std::uint8_t b0, const std::string& payload) { return raw_frame(b0, payload, false); }

struct Popped {
  std::string data;
  bool text;
  bool operator==(const Popped&) const = default;
};

}  // namespace

template <>
struct Catch::StringMaker<Popped> {
  static std::string convert(const Popped& p) {
    return (p.text ? "text " : "binary ") + Catch::Detail::stringify(p.data);
  }
};

namespace {

// A Connection on one end of a memory stream (`ours`, owned by the connection) and the
// test's hand on the other (`peer`), on a reactor with a manual clock.
struct Harness {
  io::Reactor reactor{manual_clock()};
  MemoryStream* ours = nullptr;
  std::unique_ptr<MemoryStream> peer;
  std::unique_ptr<Connection> connection;
  std::unique_ptr<wsp::WebSocket> socket;  // instead, for the coroutine face (Face::websocket)

  enum class Face { connection, websocket };
  explicit Harness(ConnectionLimits limits = {}, MemoryStream::Options our_end = {},
                   Role role = Role::server, std::string leftover = {},
                   Face face = Face::connection) {
    auto [a, b] = MemoryStream::pair(reactor, std::move(our_end));
    ours = a.get();
    peer = std::move(b);
    if (face == Face::websocket) {
      socket = std::make_unique<wsp::WebSocket>(wsp::WebSocketParts{
          .stream = std::move(a), .role = role, .limits = limits, .leftover = std::move(leftover)});
    } else {
      connection = std::make_unique<Connection>(std::move(a), role, limits, std::move(leftover));
    }
  }
  Connection& c() { return connection ? *connection : socket->connection(); }

  void settle() { REQUIRE(io::test::settle(reactor)); }
  // The peer sends `bytes`; the connection has read them when this returns.
  void receive(const std::string& bytes) {
    peer->write_now(bytes);
    settle();
  }
  void advance(io::Duration d) {
    reactor.advance_clock(d);
    settle();
  }
  std::size_t timers() { return reactor.manual_clock()->pending(); }
  std::vector<Popped> pop_all() {
    std::vector<Popped> out;
    while (c().has_message()) {
      Popped p;
      p.text = c().pop_message(p.data);
      out.push_back(std::move(p));
    }
    return out;
  }
  std::size_t frames_written(std::uint8_t b0) {
    std::size_t n = 0;
    for (const auto& f : wsp::test::parse_output(ours->written())) n += f.b0 == b0;
    return n;
  }
};

std::vector<Popped> texts(std::initializer_list<const char*> list) {
  std::vector<Popped> out;
  for (const char* s : list) out.push_back({s, true});
  return out;
}

}  // namespace

// --- reading: splits and fragmentation ----------------------------------------------------

TEST_CASE("a fragmented message with a ping inside arrives whole at every read split") {
  const std::string stream = from_client(kTextStart, "Héllo, ") + from_client(kPing, "p") +
                             from_client(kCont, "w") + from_client(kContFin, "örld") +
                             from_client(kBinary, std::string("\0\1\2", 3));
  for (std::size_t split = 1; split < stream.size(); ++split) {
    CAPTURE(split);
    Harness t({}, {.reads = ReadSplit::script({split})});
    t.receive(stream);
    CHECK(t.ours->stats().reads == 2);
    CHECK(t.pop_all() == std::vector<Popped>{{"Héllo, wörld", true}, {std::string("\0\1\2", 3), false}});
    CHECK(t.ours->written() == from_server(kPong, "p"));
    CHECK(t.c().state() == Connection::State::open);
  }
}

TEST_CASE("a text message fragmented at every payload offset arrives whole") {
  const std::string payload = "Grüße, 世界!";  // fragments may split a code point (RFC 6455 §5.6)
  for (std::size_t at = 0; at <= payload.size(); ++at) {
    CAPTURE(at);
    Harness t;
    t.receive(from_client(kTextStart, payload.substr(0, at)) + from_client(kContFin, payload.substr(at)));
    CHECK(t.pop_all() == std::vector<Popped>{{payload, true}});
    CHECK(t.ours->written().empty());
  }
}

TEST_CASE("messages read one byte at a time arrive in order") {
  Harness t({}, {.reads = ReadSplit::at_most(1)});
  std::string stream;
  for (int i = 0; i < 20; ++i) stream += from_client(kText, "message " + std::to_string(i));
  t.receive(stream);
  CHECK(t.ours->stats().reads == stream.size());
  std::vector<Popped> expected;
  for (int i = 0; i < 20; ++i) expected.push_back({"message " + std::to_string(i), true});
  CHECK(t.pop_all() == expected);
}

TEST_CASE("random read splits from many seeds yield the same messages in order") {
  std::string stream;
  std::vector<Popped> expected;
  for (int i = 0; i < 12; ++i) {
    std::string payload(i * 37 % 300, static_cast<char>('a' + i));  // 7-bit and 16-bit lengths
    stream += from_client(i % 2 ? kBinary : kText, payload);
    expected.push_back({payload, i % 2 == 0});
  }
  for (std::uint64_t seed = 1; seed <= 25; ++seed) {
    CAPTURE(seed);
    Harness t({}, {.reads = ReadSplit::random(seed, 9)});
    t.receive(stream);
    CHECK(t.pop_all() == expected);
  }
}

TEST_CASE("bytes that came with the handshake are parsed before what the stream reads") {
  Harness t({}, {}, Role::server, from_client(kText, "first"));
  t.receive(from_client(kText, "second"));
  CHECK(t.pop_all() == texts({"first", "second"}));
}

// --- inbound limits: pausing and resuming ----------------------------------------------------

TEST_CASE("receiving pauses when queued bytes would pass inbound_buffer_size and resumes as the application pops") {
  Harness t({.inbound_buffer_size = 10});
  std::string stream;
  for (const char* m : {"m1aa", "m2bb", "m3cc", "m4dd", "m5ee"}) stream += from_client(kText, m);
  t.receive(stream);
  // m1 and m2 (8 bytes) are queued; m3 would make 12: receiving pauses, m3 waits.
  CHECK(t.c().queued_messages() == 2);
  CHECK(t.ours->stats().pauses == 1);
  CHECK(t.ours->paused());

  std::vector<Popped> popped;
  while (t.c().has_message()) {
    Popped p;
    p.text = t.c().pop_message(p.data);
    popped.push_back(std::move(p));
    CHECK(t.c().queued_messages() <= 2);
    t.settle();
  }
  CHECK(popped == texts({"m1aa", "m2bb", "m3cc", "m4dd", "m5ee"}));
  // Everything was read in the first delivery: the one pause ends with one resume.
  CHECK(t.ours->stats().pauses == 1);
  CHECK(t.ours->stats().resumes == 1);
  CHECK_FALSE(t.ours->paused());
  CHECK(t.ours->stats().bytes_delivered == stream.size());
}

TEST_CASE("read one byte at a time, every pause at the inbound limit is resumed and nothing is lost") {
  Harness t({.inbound_buffer_size = 10}, {.reads = ReadSplit::at_most(1)});
  std::string stream;
  for (const char* m : {"m1aa", "m2bb", "m3cc", "m4dd", "m5ee"}) stream += from_client(kText, m);
  t.receive(stream);
  CHECK(t.c().queued_messages() == 2);
  CHECK(t.ours->unread() > 0);  // the stream keeps what was not read while paused

  std::vector<Popped> popped;
  while (t.c().has_message()) {
    Popped p;
    p.text = t.c().pop_message(p.data);
    popped.push_back(std::move(p));
    t.settle();
  }
  CHECK(popped == texts({"m1aa", "m2bb", "m3cc", "m4dd", "m5ee"}));
  // m3, m4 and m5 each found the queue full as their last byte arrived.
  CHECK(t.ours->stats().pauses == 3);
  CHECK(t.ours->stats().resumes == 3);
  CHECK(t.ours->stats().bytes_delivered == stream.size());
}

TEST_CASE("receiving pauses at max_queued_packets and resumes as the application pops") {
  Harness t({.max_queued_packets = 2});
  std::string stream;
  for (const char* m : {"a", "b", "c", "d"}) stream += from_client(kText, m);
  t.receive(stream);
  CHECK(t.c().queued_messages() == 2);
  CHECK(t.ours->stats().pauses == 1);

  std::vector<Popped> popped;
  while (t.c().has_message()) {
    Popped p;
    p.text = t.c().pop_message(p.data);
    popped.push_back(std::move(p));
    t.settle();
  }
  CHECK(popped == texts({"a", "b", "c", "d"}));
  CHECK(t.ours->stats().pauses == 1);
  CHECK(t.ours->stats().resumes == 1);
}

TEST_CASE("bytes still arriving after receiving paused are kept and parsed once the queue has room") {
  // TCP delivers the rest of a batch of reaped completions after a pause: three late reads.
  std::vector<std::string> frames;
  std::vector<std::size_t> sizes;
  for (const char* m : {"a", "b", "c", "d"}) {
    frames.push_back(from_client(kText, m));
    sizes.push_back(frames.back().size());
  }
  Harness t({.max_queued_packets = 1}, {.reads = ReadSplit::script(sizes), .late_reads = 2});
  t.receive(frames[0] + frames[1] + frames[2] + frames[3]);
  CHECK(t.ours->stats().reads == 4);  // "b" paused; "c" and "d" came late
  CHECK(t.ours->unread() == 0);
  CHECK(t.c().queued_messages() == 1);

  std::vector<Popped> popped;
  while (t.c().has_message()) {
    Popped p;
    p.text = t.c().pop_message(p.data);
    popped.push_back(std::move(p));
    t.settle();
  }
  CHECK(popped == texts({"a", "b", "c", "d"}));
  CHECK(t.ours->stats().resumes == 1);
  CHECK_FALSE(t.ours->paused());
  CHECK(t.c().buffer_capacity() == 0);  // the held message and the late bytes are gone
}

// --- outbound limits ------------------------------------------------------------------------

TEST_CASE("readable() and writable() are made set on first need; then a message and a write set them") {
  Harness t;
  // Made set: what came before anyone asked is not known (a waiter resets and checks first).
  CHECK(t.c().readable().is_set());
  CHECK(t.c().writable().is_set());
  t.c().readable().reset();
  t.c().writable().reset();
  t.receive(from_client(kText, "hi"));
  CHECK(t.c().readable().is_set());
  CHECK_FALSE(t.c().writable().is_set());
  CHECK(t.c().send(true, "back"sv) == SendResult::ok);
  t.settle();
  CHECK(t.c().writable().is_set());
  CHECK(t.pop_all() == texts({"hi"}));
}

TEST_CASE("with outbound_buffer_size 0 (unlimited) the outbound queue still holds at most 4 GiB - 1") {
  Harness t({.outbound_buffer_size = 0, .max_queued_packets = std::size_t{1} << 40});
  constexpr std::size_t kMost = 0xFFFFFFFF;
  CHECK(t.c().can_send(kMost) == SendResult::ok);
  CHECK(t.c().can_send(kMost + 1) == SendResult::buffer_full);
  t.ours->hold_writes();  // the peer does not read
  CHECK(t.c().send(false, "0123456789"sv) == SendResult::ok);
  t.settle();
  CHECK(t.c().buffered_amount() == 10);
  CHECK(t.c().can_send(kMost - 10) == SendResult::ok);
  CHECK(t.c().can_send(kMost - 9) == SendResult::buffer_full);
  t.ours->release_writes();
  t.settle();
  CHECK(t.c().buffered_amount() == 0);
  CHECK(t.c().can_send(kMost) == SendResult::ok);
}

TEST_CASE("a full outbound buffer refuses with buffer_full until the queued output is written") {
  Harness t({.outbound_buffer_size = 10});
  t.ours->hold_writes();  // the peer does not read
  CHECK(t.c().send(false, "123456"sv) == SendResult::ok);
  t.settle();
  CHECK(t.c().buffered_amount() == 6);
  CHECK(t.c().can_send(4) == SendResult::ok);
  CHECK(t.c().can_send(5) == SendResult::buffer_full);
  CHECK(t.c().send(false, "12345"sv) == SendResult::buffer_full);
  CHECK(t.c().send(false, std::string(5, 'x')) == SendResult::buffer_full);
  CHECK(t.c().buffered_amount() == 6);
  CHECK(t.c().queued_outbound() == 1);

  t.c().writable().reset();
  t.ours->release_writes();
  t.settle();
  CHECK(t.c().writable().is_set());
  CHECK(t.c().buffered_amount() == 0);
  CHECK(t.c().can_send(10) == SendResult::ok);
  CHECK(t.ours->written() == from_server(kBinary, "123456"));
}

TEST_CASE("a full outbound queue refuses with too_many_queued") {
  Harness t({.max_queued_packets = 2});
  t.ours->hold_writes();
  CHECK(t.c().send(true, "a"sv) == SendResult::ok);
  CHECK(t.c().send(true, "b"sv) == SendResult::ok);
  CHECK(t.c().can_send(0) == SendResult::too_many_queued);
  CHECK(t.c().send(true, "c"sv) == SendResult::too_many_queued);
  t.ours->release_writes();
  t.settle();
  CHECK(t.c().queued_outbound() == 0);
  CHECK(t.c().send(true, "c"sv) == SendResult::ok);
  t.settle();
  CHECK(t.ours->written() == from_server(kText, "a") + from_server(kText, "b") + from_server(kText, "c"));
}

TEST_CASE("the coroutine face's send suspends while the outbound buffer is full and resumes once written") {
  Harness t({.outbound_buffer_size = 10}, {}, Role::server, {}, Harness::Face::websocket);
  wsp::WebSocket& ws = *t.socket;
  t.ours->hold_writes();
  std::vector<std::string> log;
  auto sender = [&]() -> io::Task<void> {
    auto first = co_await ws.send_text("123456");
    log.push_back(first ? "first queued" : first.error().message());
    auto second = co_await ws.send_text("abcdef");  // 12 bytes would be queued: waits
    log.push_back(second ? "second queued" : second.error().message());
  };
  t.reactor.spawn(sender());
  t.settle();
  CHECK(log == std::vector<std::string>{"first queued"});
  CHECK(ws.connection().buffered_amount() == 6);

  t.ours->release_writes();
  t.settle();
  CHECK(log == std::vector<std::string>{"first queued", "second queued"});
  CHECK(t.ours->written() == from_server(kText, "123456") + from_server(kText, "abcdef"));
  CHECK(ws.connection().buffered_amount() == 0);
}

TEST_CASE("the coroutine face fails a message larger than outbound_buffer_size at once") {
  Harness t({.outbound_buffer_size = 10}, {}, Role::server, {}, Harness::Face::websocket);
  wsp::WebSocket& ws = *t.socket;
  std::error_code error;
  auto sender = [&]() -> io::Task<void> {
    auto sent = co_await ws.send_binary(std::string(11, 'x'));
    error = sent.error();
  };
  t.reactor.spawn(sender());
  t.settle();
  CHECK(error == wsp::Errc::message_too_big);
  CHECK(t.ours->written().empty());
}

TEST_CASE("a write taken a few bytes per step completes only once every byte was taken") {
  Harness t({}, {.write_step = 5});
  const std::string payload(40, 'w');
  const std::string frame = from_server(kBinary, payload);  // 42 bytes: 9 steps
  t.c().writable().reset();
  CHECK(t.c().send(false, std::string_view(payload)) == SendResult::ok);
  for (int turn = 0; turn < 100 && !t.c().writable().is_set(); ++turn) {
    CHECK(t.c().buffered_amount() == 40);  // counted until the write completes
    t.reactor.poll();
  }
  CHECK(t.c().writable().is_set());
  CHECK(t.ours->written() == frame);
  CHECK(t.ours->stats().write_steps == 9);
  CHECK(t.ours->stats().writes == 1);
  CHECK(t.c().buffered_amount() == 0);
}

// --- zero-copy sends ------------------------------------------------------------------------

TEST_CASE("a large message given away is written from its own buffer between small copied ones") {
  Harness t;
  std::string large(20000, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 7);
  const std::string expected_large = large;
  const char* large_buffer = large.data();

  CHECK(t.c().send(true, "a"sv) == SendResult::ok);
  CHECK(t.c().send(false, std::move(large)) == SendResult::ok);
  CHECK(t.c().send(true, "b"sv) == SendResult::ok);
  CHECK(t.c().buffered_amount() == 20002);
  t.settle();

  CHECK(t.ours->written() ==
        from_server(kText, "a") + from_server(kBinary, expected_large) + from_server(kText, "b"));
  REQUIRE(t.ours->write_calls().size() == 1);
  const auto& parts = t.ours->write_calls()[0];
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].iov_len == 3 + 4);  // "a" and the large frame's header (126 + 16-bit length)
  CHECK(parts[1].iov_base == large_buffer);
  CHECK(parts[1].iov_len == 20000);
  CHECK(parts[2].iov_len == 3);
}

TEST_CASE("a large message given away during a write goes out in the next write, from its own buffer") {
  Harness t({.outbound_buffer_size = 0}, {.write_step = 4096});
  t.ours->hold_writes();
  CHECK(t.c().send(true, "first"sv) == SendResult::ok);
  t.settle();  // the first write has started and waits
  REQUIRE(t.ours->write_calls().size() == 1);

  std::string large(70000, 'L');  // a 64-bit length header
  const char* large_buffer = large.data();
  CHECK(t.c().send(false, std::move(large)) == SendResult::ok);
  CHECK(t.c().send(true, "last"sv) == SendResult::ok);
  t.ours->release_writes();
  t.settle();

  CHECK(t.ours->written() == from_server(kText, "first") + from_server(kBinary, std::string(70000, 'L')) +
                                 from_server(kText, "last"));
  REQUIRE(t.ours->write_calls().size() == 2);
  const auto& parts = t.ours->write_calls()[1];
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].iov_len == 10);  // the header alone
  CHECK(parts[1].iov_base == large_buffer);
  CHECK(parts[1].iov_len == 70000);
  CHECK(t.c().buffered_amount() == 0);
}

TEST_CASE("a large message given away by a client is masked in place and written from its own buffer") {
  Harness t({}, {}, Role::client);
  std::string large(17000, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>('a' + i % 26);
  const std::string expected = large;
  const char* large_buffer = large.data();
  CHECK(t.c().send(true, std::move(large)) == SendResult::ok);
  t.settle();
  REQUIRE(t.ours->write_calls().size() == 1);
  const auto& parts = t.ours->write_calls()[0];
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].iov_len == 8);  // 2 + 16-bit length + masking key (RFC 6455 §5.2)
  CHECK(parts[1].iov_base == large_buffer);
  const auto frames = wsp::test::parse_output(t.ours->written());
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].b0 == kText);
  CHECK(frames[0].masked);
  CHECK(frames[0].payload == expected);
}

// The soak's server grew to 400 MB when each connection kept its largest buffer for life.
TEST_CASE("after echoing a message over 1 MiB given away, the connection holds no buffer") {
  Harness t({.inbound_buffer_size = 4 << 20, .outbound_buffer_size = 4 << 20});
  const std::string message(1536 * 1024, 'm');
  t.receive(from_client(wsp::test::kBinaryStart, message.substr(0, 1000)) +
            from_client(kCont, message.substr(1000, 600000)) +
            from_client(kContFin, message.substr(601000)));
  std::string data;
  REQUIRE_FALSE(t.c().pop_message(data));
  REQUIRE(data == message);
  CHECK(t.c().send(false, std::move(data)) == SendResult::ok);
  t.settle();
  CHECK(t.ours->written() == from_server(kBinary, message));
  CHECK(t.c().buffered_amount() == 0);
  CHECK(t.c().buffer_capacity() == 0);
}

TEST_CASE("after writing a copied message over 1 MiB, the connection holds no buffer") {
  Harness t({.inbound_buffer_size = 4 << 20, .outbound_buffer_size = 4 << 20});
  const std::string message(1536 * 1024, 'c');
  CHECK(t.c().send(true, std::string_view(message)) == SendResult::ok);
  CHECK(t.c().buffer_capacity() >= message.size());
  t.settle();
  CHECK(t.ours->written() == from_server(kText, message));
  CHECK(t.c().buffer_capacity() == 0);
}

TEST_CASE("a small message given away is copied into the output") {
  Harness t;
  std::string small(100, 's');
  const char* small_buffer = small.data();
  CHECK(t.c().send(true, std::move(small)) == SendResult::ok);
  t.settle();
  REQUIRE(t.ours->write_calls().size() == 1);
  REQUIRE(t.ours->write_calls()[0].size() == 1);
  CHECK(t.ours->write_calls()[0][0].iov_base != small_buffer);
  CHECK(t.ours->written() == from_server(kText, std::string(100, 's')));
  // Copied, so the caller keeps its buffer and bytes (an echo reuses it for the next message).
  CHECK(small.data() == small_buffer);
  CHECK(small == std::string(100, 's'));
}

// --- sending refused ------------------------------------------------------------------------

TEST_CASE("send refuses text that is not UTF-8 with invalid_utf8 and writes nothing") {
  Harness t;
  CHECK(t.c().send(true, "\xff\xfe"sv) == SendResult::invalid_utf8);
  std::string large(20000, 'x');
  large[19999] = '\xc3';  // a code point cut short
  CHECK(t.c().send(true, std::move(large)) == SendResult::invalid_utf8);
  t.settle();
  CHECK(t.ours->written().empty());
  CHECK(t.c().queued_outbound() == 0);
}

TEST_CASE("after close, send and can_send refuse with not_open") {
  Harness t;
  REQUIRE(t.c().close(1000, ""));
  CHECK(t.c().can_send(1) == SendResult::not_open);
  CHECK(t.c().send(true, "late"sv) == SendResult::not_open);
  t.settle();
  CHECK(t.ours->written() == from_server(kClose, close_payload(1000)));
}

TEST_CASE("close with a code or reason the RFC forbids queues nothing and leaves the connection open") {
  Harness t;
  CHECK_FALSE(t.c().close(1006, ""));   // RFC 6455 §7.4.1: never sent in a close frame
  CHECK_FALSE(t.c().close(999, ""));
  CHECK_FALSE(t.c().close(1000, "\xff"));  // §5.5.1: the reason is UTF-8
  t.settle();
  CHECK(t.c().state() == Connection::State::open);
  CHECK(t.ours->written().empty());
  CHECK(t.timers() == 0);
}

// --- the close handshake --------------------------------------------------------------------

TEST_CASE("a close we start ends cleanly with the peer's code and reason once it answers") {
  Harness t;
  REQUIRE(t.c().close(1000, "bye"));
  CHECK(t.c().state() == Connection::State::closing);
  t.settle();
  CHECK(t.ours->written() == from_server(kClose, close_payload(1000, "bye")));
  CHECK(t.timers() == 1);  // close_timeout
  CHECK_FALSE(t.ours->shut_down());

  t.receive(from_client(kClose, close_payload(1000, "see you")));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1000);
  CHECK(t.c().close_reason() == "see you");
  CHECK(t.c().clean());
  // RFC 6455 §7.1.1: our direction ends in order (the peer reads an end), then the stream closes.
  CHECK(t.ours->shut_down());
  CHECK(t.ours->closed());
  CHECK(t.peer->peer_ended());
  CHECK(t.timers() == 0);
  CHECK(t.ours->written() == from_server(kClose, close_payload(1000, "bye")));  // nothing after
}

TEST_CASE("a close from the peer is echoed with its code and the connection ends cleanly") {
  Harness t;
  t.receive(from_client(kClose, close_payload(1001, "going away")));
  // RFC 6455 §5.5.1: the echo carries the code received.
  CHECK(t.ours->written() == from_server(kClose, close_payload(1001)));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1001);
  CHECK(t.c().close_reason() == "going away");
  CHECK(t.c().clean());
  CHECK(t.ours->shut_down());
  CHECK(t.ours->closed());
}

TEST_CASE("an empty close from the peer gives close code 1005 and an empty echo") {
  Harness t;
  t.receive(from_client(kClose, ""));
  CHECK(t.ours->written() == from_server(kClose, ""));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1005);
  CHECK(t.c().close_reason().empty());
}

TEST_CASE("the peer's close is answered only once the messages before it were taken") {
  Harness t;
  t.receive(from_client(kText, "one") + from_client(kText, "two") + from_client(kClose, close_payload(1000)));
  // Still open: the application may read them and reply before our close frame goes out.
  CHECK(t.c().state() == Connection::State::open);
  CHECK(t.ours->written().empty());
  CHECK(t.pop_all() == texts({"one", "two"}));
  REQUIRE(t.c().send(true, std::string_view("reply")) == SendResult::ok);
  t.settle();
  CHECK(t.ours->written() == from_server(kText, "reply") + from_server(kClose, close_payload(1000)));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1000);
}

TEST_CASE("messages the peer sends before answering our close are still delivered") {
  Harness t;
  REQUIRE(t.c().close(1000, ""));
  t.settle();
  t.receive(from_client(kText, "in flight"));
  CHECK(t.c().state() == Connection::State::closing);
  CHECK(t.pop_all() == texts({"in flight"}));
  t.receive(from_client(kClose, close_payload(1000)));
  CHECK(t.c().state() == Connection::State::closed);
}

TEST_CASE("closes crossing on the wire: ours is the only close frame we send, and the code is the peer's") {
  Harness t;
  t.ours->hold_writes();
  REQUIRE(t.c().close(1000, "mine"));
  t.receive(from_client(kClose, close_payload(1001, "theirs")));
  t.ours->release_writes();
  t.settle();
  CHECK(t.ours->written() == from_server(kClose, close_payload(1000, "mine")));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1001);
  CHECK(t.c().close_reason() == "theirs");
  CHECK(t.c().clean());
}

TEST_CASE("close_timeout elapsing without the peer's close drops the connection with code -1") {
  Harness t({.close_timeout = 2000ms});
  REQUIRE(t.c().close(1000, "bye"));
  t.settle();
  REQUIRE(t.timers() == 1);
  t.advance(1999ms);
  CHECK(t.c().state() == Connection::State::closing);
  t.advance(1ms);
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == -1);
  CHECK(t.c().close_reason().empty());
  CHECK_FALSE(t.c().clean());
  CHECK(t.ours->closed());
  CHECK(t.peer->peer_ended());
  CHECK(t.timers() == 0);
}

TEST_CASE("close_timeout 0 starts no timer: the close waits for the peer as long as it takes") {
  Harness t({.close_timeout = 0ms});
  REQUIRE(t.c().close(1000, ""));
  t.settle();
  CHECK(t.timers() == 0);
  t.advance(24h);
  CHECK(t.c().state() == Connection::State::closing);
  t.receive(from_client(kClose, close_payload(1000)));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1000);
}

TEST_CASE("abort drops the connection without a close frame") {
  Harness t;
  t.c().abort();
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == -1);
  t.settle();
  CHECK(t.ours->written().empty());
  CHECK(t.ours->closed());
  CHECK(t.peer->peer_ended());
}

TEST_CASE("destroying a connection removes its timers from the clock") {
  Harness t({.heartbeat_interval = 1, .close_timeout = 5000ms});
  t.settle();
  REQUIRE(t.c().close(1000, ""));
  t.settle();
  CHECK(t.timers() == 2);  // the heartbeat and the close timeout
  t.connection.reset();
  CHECK(t.timers() == 0);
  t.advance(10s);  // nothing fires into freed frames (ASan would tell)
  CHECK(t.peer->peer_ended());
}

// --- failures -------------------------------------------------------------------------------

TEST_CASE("an error in the middle of a write closes the connection with code -1") {
  Harness t({}, {.write_step = 3, .fail_write = 2, .write_error = std::errc::connection_reset});
  t.c().readable().reset();
  t.c().writable().reset();
  CHECK(t.c().send(true, "0123456789"sv) == SendResult::ok);
  t.settle();
  CHECK(t.ours->written() == from_server(kText, "0123456789").substr(0, 3));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == -1);
  CHECK_FALSE(t.c().clean());
  CHECK(t.ours->closed());
  CHECK(t.c().readable().is_set());
  CHECK(t.c().writable().is_set());
}

TEST_CASE("an error in the middle of a read closes with code -1 and keeps the messages before it") {
  const std::string one = from_client(kText, "one");
  Harness t({}, {.reads = ReadSplit::script({one.size() + 3}), .fail_read = 2});
  t.receive(one + from_client(kText, "two, cut short"));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == -1);
  CHECK(t.ours->stats().reads == 2);
  CHECK(t.pop_all() == texts({"one"}));
  CHECK(t.ours->written().empty());
}

TEST_CASE("the peer's end of stream without a close frame closes with code -1") {
  Harness t;
  t.c().readable().reset();
  t.peer->shutdown_now();
  t.settle();
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == -1);
  CHECK(t.c().close_reason().empty());
  CHECK(t.c().readable().is_set());
  CHECK(t.ours->closed());
}

TEST_CASE("an unmasked frame from a client fails with a 1002 close frame on the wire, then closes") {
  Harness t;
  t.receive(from_server(kText, "not masked"));
  CHECK(t.ours->written() == from_server(kClose, close_payload(1002, "Protocol error")));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1002);
  CHECK(t.c().close_reason() == "Protocol error");
  CHECK_FALSE(t.c().has_message());
  CHECK(t.ours->shut_down());  // the close frame went out before the end of our direction
  CHECK(t.peer->peer_ended());
}

TEST_CASE("messages before a protocol error are delivered and their replies go out before the 1002") {
  // Autobahn 3.2 (strict): a text message, a frame with RSV bits set, then a ping, in one read.
  Harness t;
  t.receive(from_client(kText, "Hello") + from_client(kText | 0x30, "bad") + from_client(kPing, ""));
  CHECK(t.ours->written().empty());  // the close waits for the application's turn
  REQUIRE(t.pop_all() == texts({"Hello"}));
  REQUIRE(t.c().send(true, std::string_view("Hello")) == SendResult::ok);
  t.settle();
  CHECK(t.ours->written() ==
        from_server(kText, "Hello") + from_server(kClose, close_payload(1002, "Protocol error")));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1002);
}

TEST_CASE("close() after an undelivered protocol error sends the error's close frame") {
  Harness t;
  t.receive(from_client(kText, "first") + from_client(0x83, "reserved opcode"));
  REQUIRE(t.c().close(1000, "bye"));
  t.settle();
  CHECK(t.ours->written() == from_server(kClose, close_payload(1002, "Protocol error")));
  CHECK(t.c().close_code() == 1002);
}

TEST_CASE("a message larger than inbound_buffer_size fails with 1009") {
  Harness t({.inbound_buffer_size = 10});
  t.receive(from_client(kText, "01234567890"));
  CHECK(t.ours->written() == from_server(kClose, close_payload(1009, "Message too big")));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1009);
}

TEST_CASE("a text message that is not UTF-8 fails with 1007") {
  Harness t;
  t.receive(from_client(kText, "ok \xff"));
  CHECK(t.ours->written() == from_server(kClose, close_payload(1007, "Invalid frame payload data")));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1007);
  CHECK_FALSE(t.c().has_message());
}

// --- ping, pong and the heartbeat -----------------------------------------------------------

TEST_CASE("a ping from the peer is answered with a pong carrying its payload") {
  Harness t;
  t.receive(from_client(kPing, "abc"));
  CHECK(t.ours->written() == from_server(kPong, "abc"));
  CHECK_FALSE(t.c().has_message());
  CHECK(t.c().state() == Connection::State::open);
}

TEST_CASE("a ping flood from a peer that does not read stops our reading: bounded, and every ping answered") {
  Harness t({}, {.reads = ReadSplit::at_most(16384)});  // reads of at most 16 KiB, as from TCP
  t.ours->hold_writes();  // the peer reads nothing
  constexpr int kPings = 100000;
  std::string flood;
  for (int i = 0; i < kPings; ++i) flood += from_client(kPing, "0123456789");
  t.receive(flood);
  // Our owed pongs are bounded (64 KiB beyond our own output), so reading stopped well
  // before the flood was read: the rest waits in the peer's direction (TCP back-pressure).
  CHECK(t.ours->stats().pauses >= 1);
  CHECK(t.ours->stats().bytes_delivered < flood.size() / 4);
  CHECK(t.ours->unread() > 0);
  t.ours->release_writes();
  t.settle();
  std::string pongs;
  for (int i = 0; i < kPings; ++i) pongs += from_server(kPong, "0123456789");
  CHECK(t.ours->written().size() == pongs.size());
  CHECK(t.ours->written() == pongs);
  CHECK(t.c().state() == Connection::State::open);
}

TEST_CASE("heartbeat pings go out at each interval while pongs come back") {
  Harness t({.heartbeat_interval = 2});
  t.settle();
  REQUIRE(t.timers() == 1);
  for (std::size_t tick = 1; tick <= 5; ++tick) {
    CAPTURE(tick);
    t.advance(1999ms);
    CHECK(t.frames_written(kPing) == tick - 1);
    t.advance(1ms);
    CHECK(t.frames_written(kPing) == tick);
    t.receive(from_client(kPong, ""));
    CHECK(t.c().state() == Connection::State::open);
  }
  std::string five_pings;
  for (int i = 0; i < 5; ++i) five_pings += from_server(kPing, "");
  CHECK(t.ours->written() == five_pings);
}

TEST_CASE("a heartbeat ping unanswered by the next tick drops the connection with code -1") {
  Harness t({.heartbeat_interval = 1});
  t.settle();
  t.advance(1s);
  CHECK(t.ours->written() == from_server(kPing, ""));
  CHECK(t.c().state() == Connection::State::open);
  t.advance(1s);
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == -1);
  CHECK(t.ours->written() == from_server(kPing, ""));  // no second ping, no close frame
  CHECK(t.ours->closed());
  CHECK(t.timers() == 0);
}

TEST_CASE("the heartbeat sends no ping while the connection is closing") {
  Harness t({.heartbeat_interval = 1, .close_timeout = 0ms});
  t.settle();
  REQUIRE(t.c().close(1000, ""));
  for (int i = 0; i < 3; ++i) t.advance(1s);
  CHECK(t.ours->written() == from_server(kClose, close_payload(1000)));
  CHECK(t.c().state() == Connection::State::closing);
}

// --- roles and faces ------------------------------------------------------------------------

TEST_CASE("a client connection masks every frame it sends and reads unmasked frames") {
  Harness t({}, {}, Role::client);
  CHECK(t.c().send(true, "hi"sv) == SendResult::ok);
  REQUIRE(t.c().close(1000, "done"));
  t.settle();
  const auto frames = wsp::test::parse_output(t.ours->written());
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].b0 == kText);
  CHECK(frames[0].masked);
  CHECK(frames[0].payload == "hi");
  CHECK(frames[1].b0 == kClose);
  CHECK(frames[1].masked);
  CHECK(frames[1].payload == close_payload(1000, "done"));
  t.receive(from_server(kText, "late but fine") + from_server(kClose, close_payload(1000)));
  CHECK(t.pop_all() == texts({"late but fine"}));
  CHECK(t.c().state() == Connection::State::closed);
  CHECK(t.c().close_code() == 1000);
}

TEST_CASE("the coroutine face receives the messages in order, then the close with its code") {
  Harness t({}, {}, Role::server, {}, Harness::Face::websocket);
  wsp::WebSocket& ws = *t.socket;
  std::vector<std::string> log;
  auto receiver = [&]() -> io::Task<void> {
    for (;;) {
      wsp::Received r = co_await ws.receive();
      if (r.closed) {
        log.push_back("closed " + std::to_string(r.close_code) + " " + r.close_reason);
        co_return;
      }
      log.push_back((r.text ? "text " : "binary ") + r.data);
    }
  };
  t.reactor.spawn(receiver());
  t.settle();
  CHECK(log.empty());
  t.receive(from_client(kText, "hello") + from_client(kBinary, "world"));
  CHECK(log == std::vector<std::string>{"text hello", "binary world"});
  t.receive(from_client(kClose, close_payload(1000, "done")));
  CHECK(log == std::vector<std::string>{"text hello", "binary world", "closed 1000 done"});
}

// --- CLOSING is bounded on every path; an end of stream waits for the bytes before it -----

TEST_CASE("after the peer's close, an echo the peer never reads is dropped at close_timeout") {
  // ConnectionLimits::close_timeout: "How long CLOSING may last", whoever began the close.
  Harness t({.close_timeout = 1000ms});
  t.ours->hold_writes();
  t.receive(from_client(kClose, close_payload(1000)));
  REQUIRE(t.c().state() == Connection::State::closing);
  t.advance(1000ms);
  CHECK(t.c().state() == Connection::State::closed);
}

TEST_CASE("after a protocol error, a close frame the peer never reads is dropped at close_timeout") {
  Harness t({.close_timeout = 1000ms});
  t.ours->hold_writes();
  t.receive(from_server(kText, "unmasked"));  // 1002 queued, state closing
  REQUIRE(t.c().state() == Connection::State::closing);
  t.advance(1000ms);
  CHECK(t.c().state() == Connection::State::closed);
}

TEST_CASE("an end of stream that arrives while receiving is paused loses no message and no close") {
  // As TcpPushIo does: after a pause it still delivers the rest of the reaped batch, the end of
  // stream included. The end waits until the bytes kept for later ("c" and the close frame)
  // were parsed, so the clean close still reads 1000.
  const std::string a = from_client(kText, "a"), b = from_client(kText, "b"),
                    c = from_client(kText, "c"), close = from_client(kClose, close_payload(1000, "bye"));
  Harness t({.max_queued_packets = 1},
            {.reads = ReadSplit::script({a.size(), b.size(), c.size(), close.size()}), .late_reads = 3});
  t.peer->write_now(a + b + c + close);
  t.peer->shutdown_now();
  t.settle();
  std::vector<Popped> popped;
  while (t.c().has_message()) {
    Popped p;
    p.text = t.c().pop_message(p.data);
    popped.push_back(std::move(p));
    t.settle();
  }
  CHECK(popped == texts({"a", "b", "c"}));
  CHECK(t.c().close_code() == 1000);
  CHECK(t.c().close_reason() == "bye");
}

// --- shared frames (publish/subscribe) ------------------------------------------------------

TEST_CASE("a shared frame is written from its own bytes, and released once written") {
  Harness t;
  wsp::SharedFrameRef frame = wsp::SharedFrame::encode(true, "to everyone");
  REQUIRE(t.c().send_shared(frame) == SendResult::ok);
  CHECK(frame->references() == 2);
  t.settle();
  CHECK(t.ours->written() == from_server(kText, "to everyone"));
  REQUIRE(t.ours->write_calls().size() == 1);
  REQUIRE(t.ours->write_calls()[0].size() == 1);
  CHECK(t.ours->write_calls()[0][0].iov_base == frame->bytes().data());
  CHECK(frame->references() == 1);
  CHECK(t.c().buffered_amount() == 0);
}

TEST_CASE("a shared frame between copied messages keeps its place in the output") {
  Harness t;
  wsp::SharedFrameRef frame = wsp::SharedFrame::encode(false, std::string("\0\1", 2));
  REQUIRE(t.c().send(true, std::string_view("before")) == SendResult::ok);
  REQUIRE(t.c().send_shared(frame) == SendResult::ok);
  REQUIRE(t.c().send(true, std::string_view("after")) == SendResult::ok);
  CHECK(t.c().queued_outbound() == 3);
  CHECK(t.c().buffered_amount() == 6 + 2 + 5);
  t.settle();
  CHECK(t.ours->written() == from_server(kText, "before") + from_server(kBinary, std::string("\0\1", 2)) +
                                 from_server(kText, "after"));
  REQUIRE(t.ours->write_calls().size() == 1);
  CHECK(t.ours->write_calls()[0].size() == 3);
}

TEST_CASE("a shared frame that would pass outbound_buffer_size is refused with buffer_full") {
  Harness t({.outbound_buffer_size = 10});
  wsp::SharedFrameRef frame = wsp::SharedFrame::encode(true, "eleven byte");
  CHECK(t.c().send_shared(frame) == SendResult::buffer_full);
  CHECK(frame->references() == 1);
  t.settle();
  CHECK(t.ours->written().empty());
}

TEST_CASE("a shared frame after the close was sent is refused with not_open") {
  Harness t;
  REQUIRE(t.c().close(1000, ""));
  CHECK(t.c().send_shared(wsp::SharedFrame::encode(true, "late")) == SendResult::not_open);
}

TEST_CASE("a client connection sends a shared frame's message masked, as a message of its own") {
  Harness t({}, {}, Role::client);
  wsp::SharedFrameRef frame = wsp::SharedFrame::encode(true, "from a client");
  REQUIRE(t.c().send_shared(frame) == SendResult::ok);
  t.settle();
  auto frames = wsp::test::parse_output(t.ours->written());
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].b0 == kText);
  CHECK(frames[0].masked);
  CHECK(frames[0].payload == "from a client");
}

TEST_CASE("past 256 shared frames waiting, a connection copies the next ones into its output, in order") {
  Harness t({.outbound_buffer_size = 0});
  t.ours->hold_writes();
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    const std::string payload = "m" + std::to_string(i);
    REQUIRE(t.c().send_shared(wsp::SharedFrame::encode(true, payload)) == SendResult::ok);
    expected += from_server(kText, payload);
  }
  t.ours->release_writes();
  t.settle();
  CHECK(t.ours->written() == expected);
}

TEST_CASE("connections with equal limits share one copy of them") {
  Harness a({.inbound_buffer_size = 1234});
  Harness b({.inbound_buffer_size = 1234});
  Harness c({.inbound_buffer_size = 4321});
  CHECK(&a.c().limits() == &b.c().limits());
  CHECK(&a.c().limits() != &c.c().limits());
  CHECK(c.c().limits().inbound_buffer_size == 4321);
}

namespace {

// An OutboundQueue fed by a server's Protocol as a Connection feeds it, with the payloads it
// hands back.
struct GivenAwayWrites {
  static wsp::ProtocolConfig config_with(wsp::BufferPool& pool) {
    wsp::ProtocolConfig config = wsp::test::config_for(Role::server);
    config.buffers = &pool;
    return config;
  }
  // A message given away whole: written from its own buffer, after its frame header.
  void give_away(std::string payload) {
    REQUIRE(protocol.send_message_header(false, reinterpret_cast<std::uint8_t*>(payload.data()),
                                         payload.size()));
    queue.queued_owned(payload.size(), protocol.pending_output_size(), std::move(payload));
  }
  auto recycler() {
    return [this](std::string&& s) { recycled.push_back(std::move(s)); };
  }

  wsp::BufferPool pool;
  wsp::ProtocolConfig config = config_with(pool);
  wsp::Protocol protocol{config};
  wsp::OutboundQueue queue;
  std::vector<std::string> recycled;
};

}  // namespace

TEST_CASE("a write of given-away payloads hands each back as soon as the bytes up to its end went out") {
  GivenAwayWrites w;
  wsp::OutboundQueue& queue = w.queue;
  std::vector<std::string>& recycled = w.recycled;
  const auto recycle = w.recycler();
  std::vector<std::string> payloads;
  for (char c : {'a', 'b', 'c'}) payloads.emplace_back(wsp::OutboundQueue::kZeroCopyMin, c);
  for (const std::string& p : payloads) w.give_away(p);
  const std::span<const iovec> parts = queue.start_write(w.protocol);
  REQUIRE(parts.size() == 6);  // a header before each payload
  std::size_t header_and_a = parts[0].iov_len + parts[1].iov_len;
  std::size_t through_b = header_and_a + parts[2].iov_len + parts[3].iov_len;

  queue.written_some(header_and_a - 1, recycle);
  CHECK(recycled.empty());
  queue.written_some(header_and_a, recycle);
  REQUIRE(recycled.size() == 1);
  CHECK(recycled[0] == payloads[0]);
  queue.written_some(through_b + 3, recycle);  // into c's header
  REQUIRE(recycled.size() == 2);
  CHECK(recycled[1] == payloads[1]);
  CHECK(queue.count() == 3);  // the messages leave the queue when the write ends

  queue.written(true, w.pool, recycle);
  REQUIRE(recycled.size() == 3);
  CHECK(recycled[2] == payloads[2]);
  CHECK(queue.count() == 0);
  CHECK(queue.bytes() == 0);
}

TEST_CASE("a payload given away during a write goes in the next one; the write state goes once nothing waits") {
  GivenAwayWrites w;
  wsp::OutboundQueue& queue = w.queue;
  wsp::Protocol& protocol = w.protocol;
  wsp::BufferPool& pool = w.pool;
  std::vector<std::string>& recycled = w.recycled;
  const auto recycle = w.recycler();
  auto give_away = [&](char c) { w.give_away(std::string(wsp::OutboundQueue::kZeroCopyMin, c)); };

  CHECK(queue.buffer_capacity() == 0);
  give_away('a');
  REQUIRE(queue.start_write(protocol).size() == 2);  // a's header, then a
  CHECK(queue.writing());
  give_away('b');  // while a is written
  CHECK(queue.has_pieces());
  queue.written(true, pool, recycle);
  CHECK_FALSE(queue.writing());
  CHECK(queue.has_pieces());  // b waits: the state stays
  CHECK(queue.count() == 1);
  REQUIRE(recycled.size() == 1);
  CHECK(recycled[0] == std::string(wsp::OutboundQueue::kZeroCopyMin, 'a'));

  const std::span<const iovec> parts = queue.start_write(protocol);
  REQUIRE(parts.size() == 2);  // b's header, then b: nothing of a's write is left
  CHECK(parts[1].iov_len == wsp::OutboundQueue::kZeroCopyMin);
  CHECK(static_cast<const char*>(parts[1].iov_base)[0] == 'b');
  queue.written(true, pool, recycle);
  CHECK_FALSE(queue.writing());
  CHECK_FALSE(queue.has_pieces());
  CHECK(queue.count() == 0);
  CHECK(queue.buffer_capacity() == 0);  // freed
  REQUIRE(recycled.size() == 2);

  // A failed write drops its payloads (not recycled) and frees the state as well.
  give_away('c');
  REQUIRE(queue.start_write(protocol).size() == 2);
  queue.written(false, pool, recycle);
  CHECK(recycled.size() == 2);
  CHECK(queue.buffer_capacity() == 0);
}
