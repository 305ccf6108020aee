// The manual clock: sleep_for() on a reactor made with Options::manual_clock waits for
// advance_clock(), never for the kernel or real time.
#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "io/manual_clock.h"
#include "io/operation.h"
#include "io/reactor.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Task;

namespace {

Reactor::Options manual() {
  Reactor::Options options;
  options.manual_clock = true;
  return options;
}

// Sleeps `d`, then appends `tag` to `log`.
Task<void> sleep_then_log(Reactor& reactor, io::Duration d, std::vector<int>& log, int tag) {
  co_await io::sleep_for(reactor, d);
  log.push_back(tag);
}

// Kept on a coroutine's frame: tells that the frame was destroyed.
struct DestructionFlag {
  bool* destroyed;
  ~DestructionFlag() { *destroyed = true; }
};

}  // namespace

TEST_CASE("a reactor without the option has no manual clock and refuses to advance one") {
  Reactor reactor;
  CHECK(reactor.manual_clock() == nullptr);
  CHECK_THROWS_AS(reactor.advance_clock(1s), std::logic_error);
}

TEST_CASE("a sleep on a manual clock waits until the clock passes its deadline") {
  Reactor reactor(manual());
  std::vector<int> log;
  reactor.spawn(sleep_then_log(reactor, 1s, log, 1));
  reactor.poll();  // starts the task: it now sleeps
  REQUIRE(reactor.manual_clock()->pending() == 1);
  CHECK(reactor.manual_clock()->next_due() == io::Duration(1s));
  CHECK_FALSE(reactor.has_work());  // only advance_clock() can end it

  CHECK(reactor.advance_clock(999ms) == 0);
  for (int i = 0; i < 3; ++i) reactor.poll();
  CHECK(log.empty());
  CHECK(reactor.manual_clock()->next_due() == io::Duration(1ms));

  CHECK(reactor.advance_clock(1ms) == 1);
  CHECK(log.empty());  // readied, not resumed inside advance_clock()
  CHECK(reactor.has_work());
  reactor.poll();
  CHECK(log == std::vector<int>{1});
  CHECK(reactor.manual_clock()->pending() == 0);
  CHECK_FALSE(reactor.manual_clock()->next_due());
  CHECK(reactor.manual_clock()->now() == io::Duration(1s));
}

TEST_CASE("one advance fires every due sleep in deadline order, equal deadlines in start order") {
  Reactor reactor(manual());
  std::vector<int> log;
  reactor.spawn(sleep_then_log(reactor, 30ms, log, 30));
  reactor.spawn(sleep_then_log(reactor, 10ms, log, 10));
  reactor.spawn(sleep_then_log(reactor, 20ms, log, 21));
  reactor.spawn(sleep_then_log(reactor, 20ms, log, 22));
  reactor.spawn(sleep_then_log(reactor, 40ms, log, 40));
  reactor.poll();
  REQUIRE(reactor.manual_clock()->pending() == 5);

  CHECK(reactor.advance_clock(30ms) == 4);
  reactor.poll();
  CHECK(log == std::vector<int>{10, 21, 22, 30});
  CHECK(reactor.manual_clock()->pending() == 1);
  CHECK(reactor.manual_clock()->next_due() == io::Duration(10ms));
}

TEST_CASE("a sleep begun after an advance counts from the advanced time") {
  Reactor reactor(manual());
  int ticks = 0;
  auto ticker = [&]() -> Task<void> {  // named: the frame refers to its captures
    for (;;) {
      co_await io::sleep_for(reactor, 100ms);
      ++ticks;
    }
  };
  reactor.spawn(ticker());
  reactor.poll();
  // A long jump fires the one sleep due; the next one starts when the loop runs again.
  CHECK(reactor.advance_clock(350ms) == 1);
  reactor.poll();
  CHECK(ticks == 1);
  CHECK(reactor.manual_clock()->next_due() == io::Duration(100ms));
  CHECK(reactor.advance_clock(99ms) == 0);
  CHECK(reactor.advance_clock(1ms) == 1);
  reactor.poll();
  CHECK(ticks == 2);
  CHECK(reactor.manual_clock()->now() == io::Duration(450ms));
}

TEST_CASE("a sleep of zero on a manual clock resumes on the next turn without an advance") {
  Reactor reactor(manual());
  std::vector<int> log;
  reactor.spawn(sleep_then_log(reactor, 0ms, log, 1));
  reactor.poll();
  CHECK(log == std::vector<int>{1});
  CHECK(reactor.manual_clock()->pending() == 0);
}

TEST_CASE("destroying a sleeping task removes its timer from the manual clock") {
  Reactor reactor(manual());
  bool destroyed = false;
  bool resumed = false;
  auto sleeper = [&]() -> Task<void> {
    DestructionFlag flag{&destroyed};
    co_await io::sleep_for(reactor, 1s);
    resumed = true;
  };
  auto id = reactor.spawn(sleeper());
  std::vector<int> log;
  reactor.spawn(sleep_then_log(reactor, 2s, log, 2));
  reactor.poll();
  REQUIRE(reactor.manual_clock()->pending() == 2);

  CHECK(reactor.cancel(id));
  CHECK(destroyed);
  CHECK(reactor.manual_clock()->pending() == 1);
  // Its deadline passes: nothing touches the freed frame (ASan would tell).
  CHECK(reactor.advance_clock(2s) == 1);
  reactor.poll();
  CHECK_FALSE(resumed);
  CHECK(log == std::vector<int>{2});
}

TEST_CASE("a sleep destroyed after it fired but before it resumed is not resumed") {
  Reactor reactor(manual());
  bool resumed = false;
  auto sleeper = [&]() -> Task<void> {
    co_await io::sleep_for(reactor, 1s);
    resumed = true;
  };
  auto id = reactor.spawn(sleeper());
  reactor.poll();
  CHECK(reactor.advance_clock(1s) == 1);
  CHECK(reactor.cancel(id));  // leaves the ready list with its frame
  CHECK_FALSE(reactor.has_work());
  reactor.poll();
  CHECK_FALSE(resumed);
}

TEST_CASE("sync_wait on a manual sleep reports that nothing will end it") {
  Reactor reactor(manual());
  auto sleeper = [&]() -> Task<void> { co_await io::sleep_for(reactor, 1s); };
  CHECK_THROWS_AS(reactor.sync_wait(sleeper()), std::logic_error);
  CHECK(reactor.manual_clock()->pending() == 0);  // the abandoned sleep went with its frame
}

TEST_CASE("a reactor destroyed with sleeping tasks removes their timers first") {
  bool destroyed = false;
  {
    Reactor reactor(manual());
    auto sleeper = [&]() -> Task<void> {
      DestructionFlag flag{&destroyed};
      co_await io::sleep_for(reactor, 1s);
    };
    reactor.spawn(sleeper());
    reactor.poll();
    REQUIRE(reactor.manual_clock()->pending() == 1);
  }
  CHECK(destroyed);
}
