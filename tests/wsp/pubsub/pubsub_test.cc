// PubSub over in-memory streams (io/testing/memory_stream.h): on one reactor, exact bytes,
// shared frames, the slow-subscriber policies, automatic unsubscribe and the bridge hook; and
// across the reactors of a ReactorPool, both doorbells (MSG_RING and the eventfd fallback).
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/reactor.h"
#include "io/reactor_pool.h"
#include "io/testing/memory_stream.h"
#include "tests/wsp/protocol/wire.h"
#include "wsp/engine/connection.h"
#include "wsp/pubsub/pubsub.h"

using io::test::MemoryStream;
using wsp::Connection;
using wsp::ConnectionLimits;
using wsp::PubSub;
using wsp::test::kBinary;
using wsp::test::kClose;
using wsp::test::kText;
using wsp::test::raw_frame;

namespace {

std::string from_server(std::uint8_t b0, const std::string& payload) { return raw_frame(b0, payload, false); }

// A server connection on a memory stream; the test reads what it wrote from `ours`.
struct Member {
  MemoryStream* ours = nullptr;
  std::unique_ptr<MemoryStream> peer;
  std::unique_ptr<Connection> connection;

  explicit Member(io::Reactor& reactor, ConnectionLimits limits = {}) {
    auto [a, b] = MemoryStream::pair(reactor);
    ours = a.get();
    peer = std::move(b);
    connection = std::make_unique<Connection>(std::move(a), wsp::Role::server, limits);
  }
  const std::string& written() const { return ours->written(); }
};

struct RecordingBridge final : wsp::PubSubBridge {
  std::vector<std::string> published, activity;
  void on_local_publish(std::string_view topic, std::string_view data, bool text) override {
    published.push_back(std::string(topic) + "|" + std::string(data) + (text ? "|text" : "|binary"));
  }
  void on_topic_active(std::string_view topic) override { activity.push_back("+" + std::string(topic)); }
  void on_topic_idle(std::string_view topic) override { activity.push_back("-" + std::string(topic)); }
};

void settle(io::Reactor& reactor) { REQUIRE(io::test::settle(reactor)); }

}  // namespace

TEST_CASE("every subscriber of a topic gets a published message once, all from one shared frame") {
  io::Reactor reactor;
  PubSub pubsub({&reactor});
  Member a(reactor), b(reactor), other(reactor);
  REQUIRE(pubsub.subscribe(*a.connection, "rooms/x"));
  REQUIRE(pubsub.subscribe(*b.connection, "rooms/x"));
  REQUIRE(pubsub.subscribe(*b.connection, "rooms/x"));  // twice: one subscription
  REQUIRE(pubsub.subscribe(*other.connection, "rooms/y"));
  CHECK(pubsub.local_subscribers("rooms/x") == 2);
  REQUIRE(pubsub.publish("rooms/x", "hello", true));
  REQUIRE(pubsub.publish("rooms/x", std::string("\0\1", 2), false));
  settle(reactor);
  const std::string expected = from_server(kText, "hello") + from_server(kBinary, std::string("\0\1", 2));
  CHECK(a.written() == expected);
  CHECK(b.written() == expected);
  CHECK(other.written().empty());
  REQUIRE(a.ours->write_calls().size() == 1);
  REQUIRE(b.ours->write_calls().size() == 1);
  // The same bytes, not copies: both writes point into the shared frames.
  CHECK(a.ours->write_calls()[0][0].iov_base == b.ours->write_calls()[0][0].iov_base);
  const wsp::PubSubStats stats = pubsub.stats();
  CHECK(stats.published == 2);
  CHECK(stats.frames_encoded == 2);
  CHECK(stats.delivered == 4);
  CHECK(stats.dropped == 0);
}

TEST_CASE("text that is not UTF-8 is refused and reaches no one, not even the bridge") {
  io::Reactor reactor;
  PubSub pubsub({&reactor});
  RecordingBridge bridge;
  pubsub.set_bridge(&bridge);
  Member a(reactor);
  REQUIRE(pubsub.subscribe(*a.connection, "t"));
  CHECK_FALSE(pubsub.publish("t", "\xff", true));
  CHECK_FALSE(pubsub.deliver_from_elsewhere("t", "\xc3", true));
  settle(reactor);
  CHECK(a.written().empty());
  CHECK(bridge.published.empty());
  CHECK(pubsub.stats().published == 0);
}

TEST_CASE("unsubscribe stops delivery; a second unsubscribe and one from a topic never joined say false") {
  io::Reactor reactor;
  PubSub pubsub({&reactor});
  Member a(reactor);
  REQUIRE(pubsub.subscribe(*a.connection, "t"));
  CHECK(pubsub.unsubscribe(*a.connection, "t"));
  CHECK_FALSE(pubsub.unsubscribe(*a.connection, "t"));
  CHECK_FALSE(pubsub.unsubscribe(*a.connection, "never"));
  pubsub.publish("t", "x", true);
  settle(reactor);
  CHECK(a.written().empty());
  CHECK(pubsub.local_subscribers("t") == 0);
  CHECK(pubsub.stats().frames_encoded == 0);  // no subscriber here: nothing encoded
}

TEST_CASE("a connection that ends or is destroyed leaves every topic by itself") {
  io::Reactor reactor;
  PubSub pubsub({&reactor});
  auto a = std::make_unique<Member>(reactor);
  Member b(reactor);
  REQUIRE(pubsub.subscribe(*a->connection, "t1"));
  REQUIRE(pubsub.subscribe(*a->connection, "t2"));
  REQUIRE(pubsub.subscribe(*b.connection, "t1"));
  b.connection->abort();
  CHECK(pubsub.local_subscribers("t1") == 1);
  CHECK_FALSE(pubsub.subscribe(*b.connection, "t1"));  // ended: refused
  a->connection.reset();                                  // destroyed while open
  CHECK(pubsub.local_subscribers("t1") == 0);
  CHECK(pubsub.local_subscribers("t2") == 0);
  pubsub.publish("t1", "x", true);  // nobody left to write to freed memory
  settle(reactor);
}

TEST_CASE("a slow subscriber under drop_message misses the message, is counted, and stays subscribed") {
  io::Reactor reactor;
  PubSub pubsub({&reactor}, {.slow_subscriber = wsp::SlowSubscriberPolicy::drop_message});
  Member slow(reactor, {.outbound_buffer_size = 8}), fast(reactor);
  REQUIRE(pubsub.subscribe(*slow.connection, "t"));
  REQUIRE(pubsub.subscribe(*fast.connection, "t"));
  slow.ours->hold_writes();
  for (const char* m : {"12345", "67890", "abcde"}) pubsub.publish("t", m, true);
  settle(reactor);
  CHECK(fast.written() == from_server(kText, "12345") + from_server(kText, "67890") + from_server(kText, "abcde"));
  CHECK(pubsub.stats().dropped == 2);
  CHECK(pubsub.stats().delivered == 4);
  CHECK(pubsub.local_subscribers("t") == 2);
  slow.ours->release_writes();
  settle(reactor);
  CHECK(slow.written() == from_server(kText, "12345"));
  CHECK(slow.connection->state() == Connection::State::open);
}

TEST_CASE("a slow subscriber under close_1008 or close_1013 is closed with that code and unsubscribed") {
  for (auto [policy, code] : {std::pair{wsp::SlowSubscriberPolicy::close_1008, 1008},
                              std::pair{wsp::SlowSubscriberPolicy::close_1013, 1013}}) {
    CAPTURE(code);
    io::Reactor reactor({.manual_clock = true});  // the close timer waits for the test
    PubSub pubsub({&reactor}, {.slow_subscriber = policy});
    Member slow(reactor, {.outbound_buffer_size = 8}), fast(reactor);
    REQUIRE(pubsub.subscribe(*slow.connection, "t"));
    REQUIRE(pubsub.subscribe(*fast.connection, "t"));
    slow.ours->hold_writes();
    pubsub.publish("t", "12345", true);
    pubsub.publish("t", "67890", true);
    CHECK(slow.connection->state() == Connection::State::closing);
    CHECK(pubsub.local_subscribers("t") == 1);
    CHECK(pubsub.stats().closed_slow == 1);
    slow.ours->release_writes();
    settle(reactor);
    CHECK(slow.written() == from_server(kText, "12345") +
                                from_server(kClose, wsp::test::close_payload(code, "subscriber too slow")));
    CHECK(fast.written() == from_server(kText, "12345") + from_server(kText, "67890"));
  }
}

TEST_CASE("the bridge sees every local publish once, never a delivery from elsewhere, and topic activity") {
  io::Reactor reactor;
  PubSub pubsub({&reactor});
  RecordingBridge bridge;
  pubsub.set_bridge(&bridge);
  Member a(reactor), b(reactor);
  REQUIRE(pubsub.subscribe(*a.connection, "t"));
  REQUIRE(pubsub.subscribe(*b.connection, "t"));
  CHECK(pubsub.publish("t", "mine", true));
  CHECK(pubsub.deliver_from_elsewhere("t", "theirs", true));
  CHECK(pubsub.publish("nobody", "lost", false));
  settle(reactor);
  CHECK(bridge.published == std::vector<std::string>{"t|mine|text", "nobody|lost|binary"});
  CHECK(a.written() == from_server(kText, "mine") + from_server(kText, "theirs"));
  CHECK(pubsub.stats().from_elsewhere == 1);
  a.connection->abort();
  CHECK(bridge.activity == std::vector<std::string>{"+t"});
  REQUIRE(pubsub.unsubscribe(*b.connection, "t"));
  CHECK(bridge.activity == std::vector<std::string>{"+t", "-t"});
}

TEST_CASE("subscribers on two reactors get every message of every publisher once, in each publisher's order") {
  for (bool eventfd : {false, true}) {
    CAPTURE(eventfd);
    io::ReactorPool pool({.threads = 2, .reactor = {.wake_by_eventfd = eventfd}});
    std::atomic<PubSub*> pubsub{nullptr};
    std::atomic<int> subscribed{0};
    std::vector<std::string> written(2);
    bool subscribed_ok[2] = {false, false}, settled[2] = {false, false};  // Catch2 asserts on this thread only
    constexpr int kMessages = 2000;
    pool.start([&](std::size_t index, io::Reactor& reactor) {
      while (!pubsub) std::this_thread::yield();
      Member m(reactor, {.outbound_buffer_size = 0, .max_queued_packets = 1u << 20});
      subscribed_ok[index] = pubsub.load()->subscribe(*m.connection, "t");
      ++subscribed;
      if (index == 0) {
        while (subscribed < 2) std::this_thread::yield();
        // A publisher on a reactor thread, alongside the one on the test's thread.
        for (int i = 0; i < kMessages; ++i) pubsub.load()->publish("t", "r" + std::to_string(i), true);
      }
      reactor.run_until_stopped();
      settled[index] = io::test::settle(reactor);
      written[index] = m.written();
    });
    auto owned = std::make_unique<PubSub>(pool.reactors());
    pubsub = owned.get();
    while (subscribed < 2) std::this_thread::yield();
    for (int i = 0; i < kMessages; ++i) pubsub.load()->publish("t", "m" + std::to_string(i), true);
    // Posted after the publications from this thread, so each reactor runs them first; reactor
    // 0's own publications were made before this, or are on their way to reactor 1 first.
    while (pubsub.load()->stats().frames_encoded < 4 * kMessages) std::this_thread::yield();
    pool.stop();
    pool.join();
    CHECK(subscribed_ok[0]);
    CHECK(subscribed_ok[1]);
    CHECK(settled[0]);
    CHECK(settled[1]);
    for (const std::string& bytes : written) {
      auto frames = wsp::test::parse_output(bytes);
      REQUIRE(frames.size() == 2 * kMessages);
      int next_m = 0, next_r = 0;
      for (const auto& f : frames) {
        REQUIRE(f.b0 == kText);
        if (f.payload[0] == 'm') {
          REQUIRE(f.payload == "m" + std::to_string(next_m++));
        } else {
          REQUIRE(f.payload == "r" + std::to_string(next_r++));
        }
      }
      CHECK(next_m == kMessages);
      CHECK(next_r == kMessages);
    }
    CHECK(pubsub.load()->stats().delivered == 4 * kMessages);
  }
}
