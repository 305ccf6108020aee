// The Redis hop alone: messages from one redis::Bridge to another through a redis-server this
// program starts on a free port (no persistence), each bridge on its own reactor thread, no
// WebSocket. Deliveries per second (closed loop: at most --window messages published and not
// yet delivered) and latency at --rate messages per second (open loop, from each message's
// intended send time to its delivery: p50, p99, p99.9). It is the share of Redis in
// redis_chat_bench's figures.
//
//   bazel run --config=opt //bench:redis_bridge_bench -- [--seconds 3] [--rounds 3]
//       [--rate 20000] [--size 64] [--window 1000]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/latencies.h"
#include "io/event.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "redis/bridge.h"
#include "tests/redis/redis_server.h"
#include "tools/flags/flags.h"

using Clock = std::chrono::steady_clock;
using bench::Latencies;
using bench::median;
using bench::now_ns;
using bench::percentile;
using namespace std::chrono_literals;

namespace {

struct Config {
  double seconds = 3;
  int rounds = 3;
  int rate = 20000;
  std::size_t size = 64;
  std::uint64_t window = 1000;
};

// The receiving side, on its own thread: latency of each delivery (while `measuring`).
struct Receiver {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<bool> measuring{false};
  std::atomic<bool> up{false};
  Latencies latency;  // read once the run is over
};

void receive(std::uint16_t port, Receiver& receiver, std::atomic<bool>& stop) {
  io::Reactor reactor;
  redis::Bridge bridge(reactor, redis::BridgeOptions{.port = port},
                       [&](std::string_view, std::string_view message, bool) {
                         std::int64_t sent;
                         std::memcpy(&sent, message.data(), sizeof sent);
                         if (receiver.measuring.load(std::memory_order_relaxed))
                           receiver.latency.push_back(now_ns() - sent);
                         receiver.delivered.fetch_add(1, std::memory_order_release);
                       });
  bridge.start();
  while (!stop.load()) {
    reactor.run_once(std::chrono::milliseconds(10));
    receiver.up.store(bridge.subscribed(), std::memory_order_release);
  }
}

struct Result {
  double deliveries_per_second = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
};

io::Task<void> publish_runs(const Config& c, io::Reactor& reactor, redis::Bridge& bridge,
                            Receiver& receiver, Result& result) {
  std::string message(std::max<std::size_t>(c.size, 8), 'x');
  auto send = [&](std::int64_t intended) {
    std::memcpy(message.data(), &intended, sizeof intended);
    bridge.publish("bench", message, false);
  };
  while (!bridge.publisher_connected() || !receiver.up.load()) co_await io::sleep_for(reactor, 1ms);

  // Closed loop.
  std::uint64_t sent = 0;
  const std::uint64_t before = receiver.delivered.load();
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.seconds));
  while (Clock::now() < end) {
    while (sent - (receiver.delivered.load(std::memory_order_acquire) - before) < c.window) {
      send(now_ns());
      ++sent;
    }
    co_await io::sleep_for(reactor, 50us);
  }
  while (receiver.delivered.load() - before < sent && Clock::now() < end + 2s)
    co_await io::sleep_for(reactor, 1ms);
  result.deliveries_per_second = static_cast<double>(receiver.delivered.load() - before) /
                                 std::chrono::duration<double>(Clock::now() - start).count();

  // Open loop at --rate.
  const std::uint64_t open_before = receiver.delivered.load();
  receiver.measuring.store(true);
  const std::int64_t open_start = now_ns();
  const std::int64_t open_end = open_start + static_cast<std::int64_t>(c.seconds * 1e9);
  std::uint64_t open_sent = 0;
  for (std::int64_t now = open_start; now < open_end; now = now_ns()) {
    const auto due = static_cast<std::uint64_t>(static_cast<double>(now - open_start) * c.rate / 1e9);
    for (; open_sent < due; ++open_sent)
      send(open_start + static_cast<std::int64_t>(static_cast<double>(open_sent) * 1e9 / c.rate));
    co_await io::sleep_for(reactor, 200us);
  }
  const auto drain_until = Clock::now() + 2s;
  while (receiver.delivered.load() - open_before < open_sent && Clock::now() < drain_until)
    co_await io::sleep_for(reactor, 1ms);
  receiver.measuring.store(false);
  co_await io::sleep_for(reactor, 10ms);  // the receiver's last record is done
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  flags::Flags f("redis_bridge_bench", "One redis::Bridge to another through redis-server: deliveries/s and latency.");
  f.add("--seconds", &c.seconds, 0.1, 600.0, "length of each phase (default 3)");
  f.add("--rounds", &c.rounds, 1, 100, "runs (default 3)");
  f.add("--rate", &c.rate, 1, 10'000'000, "messages per second of the latency phase (default 20000)");
  f.add("--size", &c.size, std::size_t{8}, std::size_t{1} << 20, "message size in bytes (default 64)");
  std::size_t window = c.window;
  f.add("--window", &window, std::size_t{1}, std::size_t{10'000'000}, "closed loop: messages in flight (default 1000)");
  f.parse(argc, argv);
  c.window = window;

  testing_support::RedisServer redis;
  std::printf("bridge A -> redis-server %s -> bridge B, %zu-byte messages, window %llu, latency at %d msg/s, %.1f s each\n",
              redis.address().c_str(), c.size, static_cast<unsigned long long>(c.window), c.rate, c.seconds);
  std::printf("%5s %14s %10s %10s %10s\n", "round", "deliveries/s", "p50 us", "p99 us", "p99.9 us");
  std::vector<double> rates, p50s, p99s;
  for (int round = 1; round <= c.rounds; ++round) {
    Receiver receiver;
    std::atomic<bool> stop{false};
    std::thread b(receive, redis.port(), std::ref(receiver), std::ref(stop));
    Result r;
    {
      io::Reactor reactor;
      redis::Bridge a(reactor, redis::BridgeOptions{.port = redis.port()}, [](auto, auto, bool) {});
      a.start();
      reactor.sync_wait(publish_runs(c, reactor, a, receiver, r));
    }
    stop.store(true);
    b.join();
    r.p50_us = static_cast<double>(percentile(receiver.latency, 0.50)) / 1e3;
    r.p99_us = static_cast<double>(percentile(receiver.latency, 0.99)) / 1e3;
    r.p999_us = static_cast<double>(percentile(receiver.latency, 0.999)) / 1e3;
    std::printf("%5d %14.0f %10.0f %10.0f %10.0f\n", round, r.deliveries_per_second, r.p50_us, r.p99_us, r.p999_us);
    std::fflush(stdout);
    rates.push_back(r.deliveries_per_second);
    p50s.push_back(r.p50_us);
    p99s.push_back(r.p99_us);
  }
  std::printf("median: %.0f deliveries/s, p50 %.0f us, p99 %.0f us\n", median(rates), median(p50s), median(p99s));
  return 0;
}
