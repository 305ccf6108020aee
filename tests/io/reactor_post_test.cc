// Reactor::post across threads (MSG_RING doorbells and the eventfd fallback) and ReactorPool.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "io/reactor.h"
#include "io/reactor_pool.h"
#include "io/task.h"

using io::Reactor;
using io::ReactorPool;

namespace {

Reactor::Options wake_by(Reactor::WakeMode mode) {
  Reactor::Options options;
  options.wake_by_eventfd = mode == Reactor::WakeMode::eventfd;
  return options;
}

// Posts `count` numbered items to `target` from inside one turn of `sender`.
io::Task<void> post_numbers(Reactor& target, std::vector<int>& seen, int count) {
  for (int i = 0; i < count; ++i) target.post([&seen, i] { seen.push_back(i); });
  co_return;
}

struct Counted final : io::PostedWork {
  std::atomic<int>* runs;
  std::atomic<int>* discards;
  void run() override {
    ++*runs;
    delete this;
  }
  void discard() override {
    ++*discards;
    delete this;
  }
};

}  // namespace

TEST_CASE("a reactor made with wake_by_eventfd reports the eventfd; by default it is MSG_RING here") {
  Reactor forced(wake_by(Reactor::WakeMode::eventfd));
  CHECK(forced.wake_mode() == Reactor::WakeMode::eventfd);
  Reactor plain;
  // Linux 6.0+ has IORING_OP_MSG_RING; CI runs on the same kernel as this machine (6.18).
  CHECK(plain.wake_mode() == Reactor::WakeMode::msg_ring);
}

TEST_CASE("work posted from a thread without a reactor runs on the target's thread, once each, in order") {
  for (Reactor::WakeMode mode : {Reactor::WakeMode::msg_ring, Reactor::WakeMode::eventfd}) {
    ReactorPool pool({.threads = 1, .reactor = wake_by(mode)});
    std::vector<int> seen;
    std::thread::id ran_on;
    std::thread::id target_thread;
    pool.start([&](std::size_t, Reactor& reactor) {
      target_thread = std::this_thread::get_id();
      reactor.run_until_stopped();
    });
    constexpr int kCount = 20000;
    for (int i = 0; i < kCount; ++i) {
      pool.reactor(0).post([&seen, &ran_on, i] {
        seen.push_back(i);
        ran_on = std::this_thread::get_id();
      });
    }
    pool.stop();
    pool.join();
    REQUIRE(seen.size() == kCount);
    for (int i = 0; i < kCount; ++i) REQUIRE(seen[i] == i);
    CHECK(ran_on == target_thread);
  }
}

TEST_CASE("posts made in one turn of a reactor reach another reactor with one doorbell") {
  for (Reactor::WakeMode mode : {Reactor::WakeMode::msg_ring, Reactor::WakeMode::eventfd}) {
    ReactorPool pool({.threads = 2, .reactor = wake_by(mode)});
    std::vector<int> seen;
    std::atomic<bool> posted{false};
    std::uint64_t bells_by_ring = 0, bells_by_eventfd = 0, runs = 0;
    pool.start([&](std::size_t index, Reactor& reactor) {
      if (index == 0) {
        reactor.spawn(post_numbers(pool.reactor(1), seen, 100));
        reactor.poll();  // starts the task; the turn's posts leave at its end
        bells_by_ring = reactor.stats().bells_by_msg_ring;
        bells_by_eventfd = reactor.stats().bells_by_eventfd;
        posted = true;
        pool.reactor(1).request_stop();
      } else {
        reactor.run_until_stopped();
        runs = reactor.stats().posts_run;
      }
    });
    pool.join();
    REQUIRE(posted);
    REQUIRE(seen.size() == 100);
    for (int i = 0; i < 100; ++i) REQUIRE(seen[i] == i);
    CHECK(runs == 101);  // the numbers and the stop request
    if (mode == Reactor::WakeMode::msg_ring) {
      CHECK(bells_by_ring == 1);
      CHECK(bells_by_eventfd == 0);
    } else {
      CHECK(bells_by_ring == 0);
      CHECK(bells_by_eventfd == 1);
    }
  }
}

TEST_CASE("work still waiting when its reactor is destroyed is discarded, not run") {
  std::atomic<int> runs{0}, discards{0};
  {
    Reactor target;
    std::thread poster([&] {
      for (int i = 0; i < 3; ++i) {
        auto* work = new Counted;
        work->runs = &runs;
        work->discards = &discards;
        target.post(work);
      }
    });
    poster.join();
  }
  CHECK(runs == 0);
  CHECK(discards == 3);
}

TEST_CASE("a reactor pool of N threads makes N reactors, each on its own thread, and stops them all") {
  ReactorPool pool({.threads = 3, .reactor = {}});
  std::vector<std::thread::id> ids(3);
  std::atomic<int> ended{0};
  pool.start([&](std::size_t index, Reactor& reactor) {
    ids[index] = std::this_thread::get_id();
    reactor.run_until_stopped();
    ++ended;
  });
  REQUIRE(pool.size() == 3);
  REQUIRE(pool.reactors().size() == 3);
  pool.stop();
  pool.join();
  CHECK(ended == 3);
  CHECK(ids[0] != ids[1]);
  CHECK(ids[1] != ids[2]);
  CHECK(ids[0] != ids[2]);
}

TEST_CASE("a reactor pool with threads = 0 makes one reactor per available CPU") {
  ReactorPool pool({});
  CHECK(pool.size() == ReactorPool::available_cpus());
}
