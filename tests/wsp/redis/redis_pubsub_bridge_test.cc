// wsp::RedisPubSubBridge: two PubSubs ("servers", on one reactor, members on in-memory streams)
// sharing a real redis-server the test starts on a free port. A publish reaches the members of
// both exactly once, from any thread, in order.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/reactor.h"
#include "io/testing/memory_stream.h"
#include "tests/redis/redis_server.h"
#include "tests/stream_testing.h"
#include "tests/wsp/protocol/wire.h"
#include "wsp/engine/connection.h"
#include "wsp/pubsub/pubsub.h"
#include "wsp/redis/redis_pubsub_bridge.h"

using io::test::MemoryStream;
using testing_support::run_until;

namespace {

// A server connection on a memory stream; what it wrote is what its client would read.
struct Member {
  MemoryStream* ours = nullptr;
  std::unique_ptr<MemoryStream> peer;
  std::unique_ptr<wsp::Connection> connection;

  explicit Member(io::Reactor& reactor) {
    auto [a, b] = MemoryStream::pair(reactor);
    ours = a.get();
    peer = std::move(b);
    connection = std::make_unique<wsp::Connection>(std::move(a), wsp::Role::server, wsp::ConnectionLimits{});
  }
  const std::string& written() const { return ours->written(); }
};

std::string text_frame(const std::string& payload) {
  return wsp::test::raw_frame(wsp::test::kText, payload, false);
}

// One server: its PubSub, its bridge (up once both links are), a member of "rooms/x".
struct Server {
  wsp::PubSub pubsub;
  wsp::RedisPubSubBridge bridge;
  Member member;
  Server(io::Reactor& reactor, std::uint16_t redis_port)
      : pubsub({&reactor}),
        bridge(pubsub, reactor, redis::BridgeOptions{.port = redis_port}),
        member(reactor) {
    bridge.start();
    REQUIRE(pubsub.subscribe(*member.connection, "rooms/x"));
  }
  bool up() const { return bridge.redis_bridge().subscribed() && bridge.redis_bridge().publisher_connected(); }
};

}  // namespace

TEST_CASE("a publish on one server reaches the members of both once, text and binary") {
  testing_support::RedisServer redis;
  io::Reactor reactor;
  Server a(reactor, redis.port()), b(reactor, redis.port());
  REQUIRE(run_until(reactor, [&] { return a.up() && b.up(); }));
  REQUIRE(a.pubsub.publish("rooms/x", "hello", true));
  REQUIRE(b.pubsub.publish("rooms/x", std::string("\0\1", 2), false));
  const std::string expected_a =
      text_frame("hello") + wsp::test::raw_frame(wsp::test::kBinary, std::string("\0\1", 2), false);
  const std::string expected_b =
      wsp::test::raw_frame(wsp::test::kBinary, std::string("\0\1", 2), false) + text_frame("hello");
  REQUIRE(run_until(reactor, [&] {
    return a.member.written().size() == expected_a.size() && b.member.written().size() == expected_b.size();
  }));
  // Its own message comes back from Redis too: dropped by origin, so each member has it once.
  REQUIRE(run_until(reactor, [&] { return a.bridge.redis_bridge().stats().own_ignored == 1 &&
                                          b.bridge.redis_bridge().stats().own_ignored == 1; }));
  CHECK(a.member.written() == expected_a);
  CHECK(b.member.written() == expected_b);
  CHECK(a.pubsub.stats().from_elsewhere == 1);
  CHECK(b.pubsub.stats().from_elsewhere == 1);
}

TEST_CASE("publishes from another thread reach the other server in order") {
  testing_support::RedisServer redis;
  io::Reactor reactor;
  Server a(reactor, redis.port()), b(reactor, redis.port());
  REQUIRE(run_until(reactor, [&] { return a.up() && b.up(); }));
  std::string expected;
  for (int i = 0; i < 500; ++i) expected += text_frame("m" + std::to_string(i));
  std::thread publisher([&] {
    for (int i = 0; i < 500; ++i) a.pubsub.publish("rooms/x", "m" + std::to_string(i), true);
  });
  const bool all = run_until(reactor, [&] { return b.member.written().size() >= expected.size(); });
  publisher.join();
  REQUIRE(all);
  CHECK(b.member.written() == expected);
  REQUIRE(run_until(reactor, [&] { return a.member.written().size() >= expected.size(); }));
  CHECK(a.member.written() == expected);
}
