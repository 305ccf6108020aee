// The pool of small buffers, and the protocol using it for messages and output.
#include <catch2/catch.hpp>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/buffer_pool.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::test;

namespace {

std::string buffer_of(std::size_t capacity) {
  std::string s;
  s.reserve(capacity);
  return s;
}

}  // namespace

TEST_CASE("take gives an empty buffer of at least the asked capacity") {
  BufferPool pool;
  std::string a = pool.take(10);
  CHECK(a.empty());
  CHECK(a.capacity() >= 64);  // never smaller than is worth pooling
  std::string b = pool.take(3000);
  CHECK(b.capacity() >= 3000);
  CHECK(pool.pooled() == 0);
}

TEST_CASE("a buffer given back is the next one taken, emptied") {
  BufferPool pool;
  std::string s = buffer_of(1000);
  s = "leftover";
  const char* storage = s.data();
  pool.give_back(std::move(s));
  CHECK(pool.pooled() == 1);
  std::string again = pool.take(500);
  CHECK(again.data() == storage);
  CHECK(again.empty());
  CHECK(pool.pooled() == 0);
}

TEST_CASE("tiny and large buffers are not pooled") {
  BufferPool pool;
  pool.give_back(std::string("short"));                              // inline, 15 bytes
  pool.give_back(buffer_of(BufferPool::kMaxPooledCapacity + 1));  // a huge buffer
  CHECK(pool.pooled() == 0);
  pool.give_back(buffer_of(BufferPool::kMaxPooledCapacity));
  CHECK(pool.pooled() == 1);
}

TEST_CASE("a class of large buffers holds at most 1 MiB") {
  BufferPool pool;
  for (int i = 0; i < 40; ++i) pool.give_back(buffer_of(65536));
  CHECK(pool.pooled() == 16);  // 16 x 64 KiB
  std::string big = pool.take(65536);
  CHECK(big.capacity() >= 65536);
  CHECK(pool.pooled() == 15);
}

TEST_CASE("take skips a pooled buffer that is too small and leaves it pooled") {
  BufferPool pool;
  pool.give_back(buffer_of(100));
  std::string big = pool.take(2000);
  CHECK(big.capacity() >= 2000);
  CHECK(pool.pooled() == 1);
  CHECK(pool.take(100).capacity() >= 100);
  CHECK(pool.pooled() == 0);
}

TEST_CASE("a class of small buffers holds at most 128 KiB") {
  BufferPool pool;
  for (int i = 0; i < 3000; ++i) pool.give_back(buffer_of(64));
  CHECK(pool.pooled() == 2048);  // 128 KiB of 64-byte buffers
  for (int i = 0; i < 100; ++i) pool.give_back(buffer_of(4096));
  CHECK(pool.pooled() == 2048 + 32);  // another class, its own 128 KiB
  // A request is served from its class or a larger one, never a smaller one.
  CHECK(pool.take(3000).capacity() >= 3000);
  CHECK(pool.pooled() == 2048 + 31);
  CHECK(pool.take(100).capacity() >= 100);
  CHECK(pool.pooled() == 2048 + 30);  // no class-6 buffer fits 100 bytes: a 4 KiB one did
}

// A protocol whose buffers come from `pool`, as the engine makes it.
Protocol pooled(Role role, BufferPool& pool) {
  ProtocolConfig config = config_for(role);
  config.buffers = &pool;
  return Protocol(config);
}

TEST_CASE("the protocol assembles the next small message in a buffer given back") {
  BufferPool pool;
  Protocol p = pooled(Role::client, pool);
  const std::string frames = raw_frame(kBinary, std::string(64, 'a'), false) +
                             raw_frame(kBinary, std::string(64, 'b'), false);
  ProtocolEvent ev;
  std::size_t used = p.receive(reinterpret_cast<const std::uint8_t*>(frames.data()), frames.size(), ev);
  REQUIRE(ev.type == ProtocolEventType::message);
  std::string first = std::move(ev.payload);
  const char* storage = first.data();
  pool.give_back(std::move(first));  // what an echo does once the message was sent
  p.receive(reinterpret_cast<const std::uint8_t*>(frames.data()) + used, frames.size() - used, ev);
  REQUIRE(ev.type == ProtocolEventType::message);
  CHECK(ev.payload == std::string(64, 'b'));
  CHECK(ev.payload.data() == storage);
}

TEST_CASE("the protocol serializes into a written output buffer given back") {
  BufferPool pool;
  Protocol p = pooled(Role::server, pool);
  const std::string data(100, 'x');
  REQUIRE(p.send_message(false, reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  std::string written;
  p.take_output(written);
  CHECK(written.size() == 102);
  CHECK(written.capacity() >= 512);  // room for a few more small frames
  const char* storage = written.data();
  pool.give_back(std::move(written));  // what the connection does after the write
  REQUIRE(p.send_message(false, reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  CHECK(p.pending_output().data() == storage);
  CHECK(p.pending_output_size() == 102);
}

TEST_CASE("blocks of the first size asked for are kept for the next take; other sizes are not") {
  BufferPool pool;
  void* a = pool.take_block(104);
  pool.give_back_block(a, 104);
  CHECK(pool.take_block(104) == a);  // the same block again
  void* other = pool.take_block(64);
  pool.give_back_block(other, 64);  // freed, not kept
  void* b = pool.take_block(104);
  CHECK(b != a);  // a is still out
  pool.give_back_block(a, 104);
  pool.give_back_block(b, 104);
}

TEST_CASE("release_all frees every buffer and block the pool holds; it keeps working after") {
  BufferPool pool;
  pool.give_back(pool.take(100));
  pool.give_back(pool.take(70000));
  void* block = pool.take_block(104);
  pool.give_back_block(block, 104);
  CHECK(pool.pooled() == 2);
  CHECK(pool.pooled_blocks() == 1);
  pool.release_all();
  CHECK(pool.pooled() == 0);
  CHECK(pool.pooled_blocks() == 0);
  std::string again = pool.take(100);
  CHECK(again.capacity() >= 100);
  pool.give_back(std::move(again));
  CHECK(pool.pooled() == 1);
}

TEST_CASE("a protocol with a pool takes its buffers' holder from it and gives it back when idle") {
  BufferPool pool;
  Protocol p = pooled(Role::server, pool);
  CHECK(pool.pooled_blocks() == 0);
  REQUIRE(p.send_message(true, reinterpret_cast<const std::uint8_t*>("hi"), 2));
  std::string output;
  p.take_output(output);
  CHECK(p.buffer_capacity() == 0);
  CHECK(pool.pooled_blocks() == 1);  // given back once idle
  REQUIRE(p.send_message(true, reinterpret_cast<const std::uint8_t*>("ho"), 2));
  CHECK(pool.pooled_blocks() == 0);  // taken again
  p.take_output(output);
  CHECK(pool.pooled_blocks() == 1);
}

TEST_CASE("output grows by half, from a pooled buffer, where a string would double") {
  // Sixteen echoed 64-byte messages (1,056 bytes) took 2 KiB per connection when the output
  // doubled: 512, 1,024, 2,048. By half: 512, 768, 1,152.
  BufferPool pool;
  Protocol p = pooled(Role::server, pool);
  const std::string payload(64, 'x');
  for (int i = 0; i < 16; ++i) {
    REQUIRE(p.send_message(false, reinterpret_cast<const std::uint8_t*>(payload.data()), 64));
  }
  CHECK(p.pending_output_size() == 16 * 66);
  std::string output;
  p.take_output(output);
  CHECK(output.size() == 16 * 66);
  CHECK(output.capacity() == 1152);
  CHECK(parse_output(output).size() == 16);
  // The buffers it outgrew were freed: the next burst, once this one is back in the pool (as
  // after its write), takes it and grows no more.
  CHECK(pool.pooled() == 0);
  pool.give_back(std::move(output));
  for (int i = 0; i < 16; ++i) {
    REQUIRE(p.send_message(false, reinterpret_cast<const std::uint8_t*>(payload.data()), 64));
  }
  p.take_output(output);
  CHECK(output.capacity() == 1152);
  CHECK(pool.pooled() == 0);
}

TEST_CASE("a spare is given back and taken with a move, one per use, small ones only") {
  BufferPool pool;
  using Use = BufferPool::Use;
  std::string into;
  pool.take_spare(Use::payload, into);
  CHECK(heap_capacity(into) == 0);  // none yet
  std::string small = buffer_of(1000);
  small = "leftover";
  const char* storage = small.data();
  pool.give_back_spare(Use::payload, std::move(small));
  CHECK(pool.pooled() == 1);
  pool.take_spare(Use::output, into);
  CHECK(heap_capacity(into) == 0);  // the other use's spare is apart
  pool.take_spare(Use::payload, into);
  CHECK(into.data() == storage);
  CHECK(into.empty());
  CHECK(pool.pooled() == 0);
  // A second buffer while the spare is held goes to its class; so does one too large to keep.
  pool.give_back_spare(Use::output, buffer_of(2000));
  pool.give_back_spare(Use::output, buffer_of(3000));
  pool.give_back_spare(Use::payload, buffer_of(BufferPool::kMaxSpareCapacity + 1));
  CHECK(pool.pooled() == 3);
  std::string output;
  pool.take_spare(Use::output, output);
  CHECK(output.capacity() >= 2000);
  CHECK(output.capacity() < 3000);
  pool.release_all();
  CHECK(pool.pooled() == 0);
}

TEST_CASE("a reused event's buffer goes back to the pool, not into the protocol, when a message is read in pieces") {
  // The parser's general path swaps the reassembled message into the event: the buffer the
  // event held must not stay in the protocol's scratch, which would then stay too.
  BufferPool pool;
  Protocol p = pooled(Role::server, pool);
  const std::string payload(100, 'm');
  const std::string bytes = from_peer(Role::server, 0x82, payload);
  for (const bool too_small : {false, true}) {
    ProtocolEvent event;
    event.payload = pool.take(too_small ? 64 : 200);  // a buffer from an earlier message
    const char* earlier = event.payload.data();
    std::size_t used = p.receive(reinterpret_cast<const std::uint8_t*>(bytes.data()), 10, event);
    CHECK(used == 10);
    CHECK(event.type == ProtocolEventType::none);
    used = p.receive(reinterpret_cast<const std::uint8_t*>(bytes.data()) + 10, bytes.size() - 10,
                     event);
    CHECK(used == bytes.size() - 10);
    REQUIRE(event.type == ProtocolEventType::message);
    CHECK(event.payload == payload);
    CHECK(p.buffer_capacity() == 0);  // no scratch kept
    CHECK(pool.pooled() == 1);        // the earlier buffer, given back
    std::string again = pool.take(64);
    CHECK(again.data() == earlier);
  }
  // The one-step path, with a buffer too small for the frame: the same.
  ProtocolEvent event;
  event.payload = pool.take(64);
  p.receive(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), event);
  REQUIRE(event.type == ProtocolEventType::message);
  CHECK(event.payload == payload);
  CHECK(p.buffer_capacity() == 0);
}
