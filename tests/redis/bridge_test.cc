// redis::Bridge between "servers" (bridges with their own origin ids) on one reactor, through a
// real redis-server the test starts on a free port with no persistence, kills with -9 and
// restarts on the same port.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "redis/bridge.h"
#include "redis/connection.h"
#include "tests/redis/redis_server.h"
#include "tests/ports.h"
#include "tests/stream_testing.h"

using namespace std::chrono_literals;
using testing_support::RedisServer;
using testing_support::run_until;

namespace {

struct Delivered {
  std::string topic;
  std::string message;
  bool text;
  bool operator==(const Delivered&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Delivered& d) {
  return out << d.topic << (d.text ? " text " : " binary ") << d.message;
}

// One server's side: its bridge and what the bridge delivered to it.
struct Server {
  Server(io::Reactor& reactor, redis::BridgeOptions options)
      : bridge(reactor, std::move(options),
               [this](std::string_view topic, std::string_view message, bool text) {
                 delivered.push_back({std::string(topic), std::string(message), text});
               },
               [this](const std::string& line) { log.push_back(line); }) {}

  bool up() const { return bridge.subscribed() && bridge.publisher_connected(); }
  bool down() const { return !bridge.subscribed() && !bridge.publisher_connected(); }

  std::vector<Delivered> delivered;
  std::vector<std::string> log;
  redis::Bridge bridge;
};

// Sends one command to Redis on a connection of its own; the reply.
redis::Reply command(io::Reactor& reactor, std::uint16_t port, std::initializer_list<std::string_view> arguments) {
  std::string bytes;
  redis::append_command(bytes, arguments);
  std::optional<io::Result<redis::Reply>> answer;
  reactor.spawn([](io::Reactor& r, std::uint16_t p, const std::string& b, auto* out) -> io::Task<void> {
    auto c = co_await redis::Connection::connect(r, "127.0.0.1", p, 2s);
    if (!c) {
      out->emplace(c.error());
      co_return;
    }
    io::Result<void> sent = co_await (*c)->send(b);
    if (!sent) out->emplace(sent.error());
    else out->emplace(co_await (*c)->receive());
  }(reactor, port, bytes, &answer));
  REQUIRE(run_until(reactor, [&] { return answer.has_value(); }));
  REQUIRE(answer->ok());
  return std::move(**answer);
}

redis::BridgeOptions options_for(std::uint16_t port) {
  redis::BridgeOptions o;
  o.port = port;
  o.retry_first = 20ms;
  o.retry_max = 200ms;
  o.retry_seed = 1;  // reproducible jitter
  return o;
}

}  // namespace

TEST_CASE("a message published on one server reaches the other in order, text and binary, and not itself") {
  RedisServer redis_server;
  io::Reactor reactor;
  redis::BridgeOptions a_options = options_for(redis_server.port());
  a_options.outbox_messages = 5;  // a burst while connected is not the outbox's business
  Server a(reactor, a_options);
  Server b(reactor, options_for(redis_server.port()));
  a.bridge.start();
  b.bridge.start();
  REQUIRE(run_until(reactor, [&] { return a.up() && b.up(); }));

  std::vector<Delivered> sent;
  for (int i = 0; i < 300; ++i) {
    sent.push_back({i % 3 ? "rooms/a" : "rooms/b", "message " + std::to_string(i), i % 2 == 0});
    a.bridge.publish(sent.back().topic, sent.back().message, sent.back().text);
  }
  REQUIRE(run_until(reactor, [&] { return b.delivered.size() == 300 && a.bridge.stats().own_ignored == 300; }));
  CHECK(b.delivered == sent);
  CHECK(a.delivered.empty());
  CHECK(a.bridge.stats().published == 300);
  CHECK(a.bridge.stats().dropped == 0);
  CHECK(a.bridge.outbox_size() == 0);
  CHECK(a.bridge.outbox_bytes() == 0);
  CHECK(b.bridge.stats().delivered == 300);

  b.bridge.publish("rooms/a", "reply");
  REQUIRE(run_until(reactor, [&] { return a.delivered.size() == 1; }));
  CHECK(a.delivered[0] == Delivered{"rooms/a", "reply", true});
}

TEST_CASE("kill -9 of Redis: the outbox keeps the newest messages up to its limit and sends them in order once every server is back") {
  RedisServer redis_server;
  io::Reactor reactor;
  redis::BridgeOptions a_options = options_for(redis_server.port());
  a_options.outbox_messages = 3;
  // B comes back well after A: A must wait for B's subscriber before sending what it kept.
  redis::BridgeOptions b_options = options_for(redis_server.port());
  b_options.retry_first = b_options.retry_max = 1s;
  Server a(reactor, a_options);
  Server b(reactor, b_options);
  a.bridge.start();
  b.bridge.start();
  REQUIRE(run_until(reactor, [&] { return a.up() && b.up(); }));
  a.bridge.publish("room", "before");
  REQUIRE(run_until(reactor, [&] { return b.delivered.size() == 1; }));

  redis_server.kill();
  REQUIRE(run_until(reactor, [&] { return a.down() && b.down(); }));
  for (int i = 1; i <= 5; ++i) a.bridge.publish("room", "away " + std::to_string(i));
  CHECK(a.bridge.outbox_size() == 3);
  CHECK(a.bridge.stats().dropped == 2);

  redis_server.start();
  REQUIRE(run_until(reactor, [&] { return b.delivered.size() == 4; }, 20s));
  CHECK(b.delivered == std::vector<Delivered>{{"room", "before", true},
                                              {"room", "away 3", true},
                                              {"room", "away 4", true},
                                              {"room", "away 5", true}});
  CHECK(a.bridge.stats().subscriber_connects == 2);
  CHECK(a.bridge.stats().publisher_connects == 2);
  CHECK(b.bridge.stats().subscriber_connects == 2);

  a.bridge.publish("room", "after");
  REQUIRE(run_until(reactor, [&] { return b.delivered.size() == 5; }));
  CHECK(b.delivered.back() == Delivered{"room", "after", true});
  CHECK(a.bridge.stats().published == 5);
  CHECK(a.bridge.stats().dropped == 2);
  // Delivery to the other server pauses while Redis is away, it does not end.
  b.bridge.publish("room", "from b");
  REQUIRE(run_until(reactor, [&] { return a.delivered.size() == 1; }));
}

TEST_CASE("the outbox is bounded in bytes too, and a message larger than all of it is kept alone") {
  io::Reactor reactor;
  testing_support::RefusingPort nothing_listens;
  redis::BridgeOptions options = options_for(nothing_listens.port());
  // A payload is 16 (origin) + 1 + 1 (t/b) + 1 (topic length "1") + 1 (':') + 1 (topic) + 100.
  options.outbox_bytes = 350;
  Server a(reactor, options);
  a.bridge.start();
  REQUIRE(run_until(reactor, [&] { return !a.log.empty(); }));
  for (int i = 0; i < 5; ++i) a.bridge.publish("t", std::string(100, 'a' + i));
  CHECK(a.bridge.outbox_size() == 2);
  CHECK(a.bridge.outbox_bytes() == 242);
  CHECK(a.bridge.stats().dropped == 3);
  a.bridge.publish("t", std::string(400, 'z'));
  CHECK(a.bridge.outbox_size() == 1);
  CHECK(a.bridge.outbox_bytes() == 421);
  CHECK(a.bridge.stats().dropped == 5);
  CHECK(a.log == std::vector<std::string>{
                     "redis: subscriber cannot connect to 127.0.0.1:" + std::to_string(options.port) +
                         " (Connection refused); retrying, at most every 200 ms",
                     "redis: publisher cannot connect to 127.0.0.1:" + std::to_string(options.port) +
                         " (Connection refused); keeping at most 1024 messages"});
}

TEST_CASE("a payload another program publishes on the channel is counted and not delivered") {
  RedisServer redis_server;
  io::Reactor reactor;
  Server b(reactor, options_for(redis_server.port()));
  b.bridge.start();
  REQUIRE(run_until(reactor, [&] { return b.up(); }));
  const redis::Reply answer = command(reactor, redis_server.port(), {"PUBLISH", "wsp", "hello"});
  CHECK(answer.type == redis::Reply::Type::integer);
  CHECK(answer.integer == 1);  // B's subscriber got it
  REQUIRE(run_until(reactor, [&] { return b.bridge.stats().foreign_ignored == 1; }));
  CHECK(b.delivered.empty());
}

TEST_CASE("stop ends both links: Redis sees the subscriber go, and publishes wait in the outbox") {
  RedisServer redis_server;
  io::Reactor reactor;
  Server a(reactor, options_for(redis_server.port()));
  a.bridge.start();
  REQUIRE(run_until(reactor, [&] { return a.up(); }));
  // Subscribers of the channel as Redis counts them.
  auto subscribers = [&] {
    const redis::Reply answer = command(reactor, redis_server.port(), {"PUBSUB", "NUMSUB", "wsp"});
    REQUIRE(answer.elements.size() == 2);
    return answer.elements[1].integer;
  };
  CHECK(subscribers() == 1);
  a.bridge.stop();
  CHECK(!a.bridge.subscribed());
  CHECK(!a.bridge.publisher_connected());
  REQUIRE(run_until(reactor, [&] { return subscribers() == 0; }));
  a.bridge.publish("room", "later");
  CHECK(a.bridge.outbox_size() == 1);
  CHECK(a.bridge.stats().published == 0);
}
