// A Connection with permessage-deflate negotiated, over an in-memory stream: received
// compressed messages are inflated before they are queued (and counted inflated against
// inbound_buffer_size), sent ones are compressed, zlib state is made on first use.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>

#include "io/reactor.h"
#include "io/testing/memory_stream.h"
#include "tests/wsp/protocol/wire.h"
#include "wsp/engine/connection.h"
#include "wsp/engine/per_thread.h"
#include "wsp/protocol/permessage_deflate.h"

using io::test::MemoryStream;
using wsp::Connection;
using wsp::ConnectionLimits;
using wsp::DeflateConfig;
using wsp::PerMessageDeflate;
using wsp::Role;
using wsp::SendResult;
using wsp::test::parse_output;
using wsp::test::raw_frame;

namespace {

DeflateConfig shared_config() {
  DeflateConfig c;
  c.shared = true;
  c.send_no_context_takeover = c.receive_no_context_takeover = true;
  return c;
}

DeflateConfig dedicated_config() { return DeflateConfig{}; }

std::string text_of(std::size_t size) {
  std::string s;
  while (s.size() < size) s += "{\"symbol\":\"ABC\",\"price\":" + std::to_string(s.size() % 997) + "},";
  s.resize(size);
  return s;
}

// What the client side compresses with (the mirror of the server's configuration).
std::string compressed(const std::string& message, DeflateConfig config) {
  PerMessageDeflate compressor(config, nullptr);
  std::string out;
  REQUIRE(compressor.compress(reinterpret_cast<const std::uint8_t*>(message.data()), message.size(), out));
  return out;
}

struct Harness {
  io::Reactor reactor;
  MemoryStream* ours = nullptr;
  std::unique_ptr<MemoryStream> peer;
  std::unique_ptr<Connection> connection;

  Harness(const DeflateConfig& deflate, ConnectionLimits limits = {}) {
    auto [a, b] = MemoryStream::pair(reactor, {});
    ours = a.get();
    peer = std::move(b);
    connection = std::make_unique<Connection>(std::move(a), Role::server, limits, std::string(), &deflate);
  }
  void receive(const std::string& bytes) {
    peer->write_now(bytes);
    REQUIRE(io::test::settle(reactor));
  }
  void settle() { REQUIRE(io::test::settle(reactor)); }
};

}  // namespace

TEST_CASE("a compressed message from the peer is queued inflated") {
  for (const DeflateConfig& config : {shared_config(), dedicated_config()}) {
    Harness t(config);
    const std::string message = text_of(3000);
    t.receive(raw_frame(0xc1, compressed(message, config), true));
    REQUIRE(t.connection->has_message());
    std::string got;
    CHECK(t.connection->pop_message(got));
    CHECK(got == message);
    CHECK(t.connection->deflate()->stats().bytes_after_inflation == message.size());
  }
}

TEST_CASE("messages sent through the connection go out compressed, both send paths") {
  for (const DeflateConfig& config : {shared_config(), dedicated_config()}) {
    Harness t(config, {.inbound_buffer_size = 1 << 20, .outbound_buffer_size = 1 << 20});
    const std::string small = text_of(100), large = text_of(40000);
    CHECK(t.connection->send(true, std::string_view(small)) == SendResult::ok);
    CHECK(t.connection->send(true, std::string(large)) == SendResult::ok);  // zero-copy size
    t.settle();
    const auto frames = parse_output(t.ours->written());
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].b0 == 0xc1);
    CHECK(frames[1].b0 == 0xc1);
    CHECK(frames[1].payload.size() < large.size() / 4);
    PerMessageDeflate inflater(config, &wsp::thread_deflate_streams());
    std::string in = frames[1].payload, out;
    if (config.shared) {
      // Each message on its own: the second inflates without the first.
      CHECK(inflater.inflate(in, out, 0) == PerMessageDeflate::InflateResult::ok);
      CHECK(out == large);
    }
  }
}

TEST_CASE("a given-away message sent compressed is left to the caller as it was") {
  for (const DeflateConfig& config : {shared_config(), dedicated_config()}) {
    Harness t(config, {.inbound_buffer_size = 1 << 20, .outbound_buffer_size = 1 << 20});
    std::string large = text_of(40000);  // past the zero-copy size: its own buffer is offered
    const std::string original = large;
    const char* const buffer = large.data();
    CHECK(t.connection->send(true, std::move(large)) == SendResult::ok);
    t.settle();
    // The compressed copy went out; the caller keeps its buffer and bytes for reuse.
    CHECK(large.data() == buffer);
    CHECK(large == original);
  }
}

TEST_CASE("an idle deflate connection holds no deflate state of its own; a dedicated one makes "
          "its zlib streams on use") {
  Harness shared(shared_config()), dedicated(dedicated_config());
  // Nothing but the negotiated configuration, packed into the protocol's slot.
  CHECK(shared.connection->deflate()->made() == nullptr);
  CHECK(dedicated.connection->deflate()->made() == nullptr);
  CHECK(shared.connection->deflate()->config() == shared_config());
  CHECK(shared.connection->deflate()->dedicated_streams() == 0);
  CHECK(dedicated.connection->deflate()->dedicated_streams() == 0);
  const std::string message = text_of(500);
  for (Harness* t : {&shared, &dedicated}) {
    CHECK(t->connection->send(true, std::string_view(message)) == SendResult::ok);
    t->receive(raw_frame(0xc1, compressed(message, t->connection->deflate()->config()), true));
  }
  CHECK(shared.connection->deflate()->made() != nullptr);
  CHECK(shared.connection->deflate()->dedicated_streams() == 0);
  CHECK(dedicated.connection->deflate()->dedicated_streams() == 2);
}

TEST_CASE("the inflated size counts against inbound_buffer_size: past it the connection closes with 1009") {
  Harness t(dedicated_config(), {.inbound_buffer_size = 1000});
  t.receive(raw_frame(0xc2, compressed(std::string(5000, 'x'), dedicated_config()), true));
  CHECK_FALSE(t.connection->has_message());
  CHECK(t.connection->close_code() == 1009);
  const auto frames = parse_output(t.ours->written());
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].payload.substr(0, 2) == std::string("\x03\xf1", 2));
}

TEST_CASE("invalid compressed data from the peer closes the connection with 1007") {
  Harness t(shared_config());
  t.receive(raw_frame(0xc1, std::string("\xff\xff\xff", 3), true));
  CHECK(t.connection->close_code() == 1007);
  CHECK(t.connection->close_reason() == "Invalid frame payload data");
}
