// TimeoutList: timeouts of one length behind one sleep, expiring in the order they started.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "io/manual_clock.h"
#include "io/reactor.h"
#include "io/timeout_list.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::TimeoutEntry;

namespace {

// An entry that logs its tag when it expires.
struct Tagged : TimeoutEntry {
  int tag = 0;
  std::vector<int>* log = nullptr;
};
void log_tag(TimeoutEntry& entry) {
  auto& t = static_cast<Tagged&>(entry);
  t.log->push_back(t.tag);
}

}  // namespace

TEST_CASE("timeouts expire in the order they started, all behind one sleep") {
  Reactor reactor({.manual_clock = true});
  io::TimeoutList& list = reactor.timeouts(10s, &log_tag);
  CHECK(&reactor.timeouts(10s, &log_tag) == &list);  // one list per length and callback
  CHECK(&reactor.timeouts(5s, &log_tag) != &list);
  std::vector<int> log;
  std::vector<Tagged> entries(100);
  for (int i = 0; i < 100; ++i) {
    entries[i].tag = i;
    entries[i].log = &log;
    list.start(entries[i]);
    if (i == 49) reactor.advance_clock(1s);  // the second half starts a second later
  }
  reactor.poll();
  CHECK(list.size() == 100);
  CHECK(reactor.manual_clock()->pending() == 1);
  CHECK(reactor.detached_count() == 1);

  reactor.advance_clock(9s);  // the first half is due, the second not yet
  reactor.poll();
  REQUIRE(log.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(log[i] == i);
  CHECK_FALSE(entries[0].pending());
  CHECK(entries[50].pending());
  CHECK(reactor.manual_clock()->pending() == 1);

  reactor.advance_clock(1s);
  reactor.poll();
  REQUIRE(log.size() == 100);
  CHECK(log[99] == 99);
  CHECK(list.size() == 0);
  reactor.poll();
  CHECK(reactor.detached_count() == 0);  // the sweep ends with the list empty
  CHECK(reactor.manual_clock()->pending() == 0);
}

TEST_CASE("a stopped, restarted or destroyed timeout does not expire at its first deadline") {
  Reactor reactor({.manual_clock = true});
  io::TimeoutList& list = reactor.timeouts(10s, &log_tag);
  std::vector<int> log;
  Tagged stopped, restarted, kept;
  auto destroyed = std::make_unique<Tagged>();
  for (auto [entry, tag] :
       {std::pair{&stopped, 1}, {&restarted, 2}, {destroyed.get(), 3}, {&kept, 4}}) {
    entry->tag = tag;
    entry->log = &log;
    list.start(*entry);
  }
  reactor.poll();
  stopped.stop();
  CHECK_FALSE(stopped.pending());
  stopped.stop();  // twice: nothing
  destroyed.reset();
  CHECK(list.size() == 2);
  reactor.advance_clock(5s);
  list.start(restarted);  // due at 15 s now, after `kept`
  reactor.advance_clock(5s);
  reactor.poll();
  CHECK(log == std::vector<int>{4});
  reactor.advance_clock(5s);
  reactor.poll();
  CHECK(log == std::vector<int>{4, 2});
}

TEST_CASE("stopping the last timeout ends the sleep, unless a timeout expiring stopped it") {
  Reactor reactor({.manual_clock = true});
  std::vector<int> log;
  Tagged a, b;
  a.log = b.log = &log;
  io::TimeoutList& list = reactor.timeouts(10s, &log_tag);
  list.start(a);
  list.start(b);
  reactor.poll();
  a.stop();
  CHECK(reactor.manual_clock()->pending() == 1);
  b.stop();  // the reactor has nothing left to wait for (Reactor::run() would return)
  CHECK(reactor.manual_clock()->pending() == 0);
  CHECK(reactor.detached_count() == 0);

  // An expiring timeout stops the only other one: the sweep goes on, and ends by itself.
  static Tagged* other;
  other = &b;
  io::TimeoutList& stopping = reactor.timeouts(10s, [](TimeoutEntry&) { other->stop(); });
  stopping.start(a);
  stopping.start(b);
  reactor.advance_clock(5s);  // b starts 5 s after a
  stopping.start(b);
  reactor.poll();
  reactor.advance_clock(5s);
  reactor.poll();
  CHECK_FALSE(a.pending());
  CHECK_FALSE(b.pending());
  reactor.poll();
  CHECK(reactor.detached_count() == 0);
  CHECK(reactor.manual_clock()->pending() == 0);
}

TEST_CASE("an expiring timeout may start others, and a list starts again after cancel_all") {
  Reactor reactor({.manual_clock = true});
  static std::vector<int> log;
  log.clear();
  struct Chain : TimeoutEntry {
    io::TimeoutList* list = nullptr;
    int left = 3;
  };
  auto restart = [](TimeoutEntry& entry) {
    auto& c = static_cast<Chain&>(entry);
    log.push_back(c.left);
    if (--c.left > 0) c.list->start(c);
  };
  io::TimeoutList& list = reactor.timeouts(1s, restart);
  Chain chain;
  chain.list = &list;
  list.start(chain);
  for (int i = 0; i < 3; ++i) {
    reactor.poll();
    reactor.advance_clock(1s);
  }
  reactor.poll();
  CHECK(log == std::vector<int>{3, 2, 1});
  CHECK_FALSE(chain.pending());

  // cancel_all() ends the sweep; a timeout started afterwards still expires.
  chain.left = 1;
  list.start(chain);
  reactor.poll();
  reactor.cancel_all();
  CHECK(reactor.detached_count() == 0);
  list.start(chain);
  reactor.poll();
  reactor.advance_clock(1s);
  reactor.poll();
  CHECK(log == std::vector<int>{3, 2, 1, 1});
}

TEST_CASE("real time: a timeout of 20 ms expires between 20 ms and a few seconds later") {
  Reactor reactor;
  std::vector<int> log;
  Tagged entry;
  entry.tag = 7;
  entry.log = &log;
  reactor.timeouts(20ms, &log_tag).start(entry);
  const auto start = std::chrono::steady_clock::now();
  while (log.empty() && std::chrono::steady_clock::now() - start < 5s) reactor.run_once(100ms);
  CHECK(log == std::vector<int>{7});
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
}
