// Task<T>, spawn, sync_wait, cancellation and the reactor's drive modes.
#include <catch2/catch.hpp>

#include <malloc.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/event.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_stream.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Task;

namespace {

Task<int> value_of(int v) { co_return v; }

Task<int> sum_of_nested(int depth) {
  if (depth == 0) co_return 0;
  int below = co_await sum_of_nested(depth - 1);
  co_return below + depth;
}

Task<int> throws_logic_error() {
  throw std::logic_error("boom");
  co_return 0;
}

Task<void> append(std::vector<int>& log, int v) {
  log.push_back(v);
  co_return;
}

// A connected pair of stream sockets owned by the test.
struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
};

// Kept on a coroutine's frame, sets `*destroyed` when that frame is destroyed: tells that a
// frame was freed without relying on LeakSanitizer.
// A receive nothing answers: while it is pending, a blocking turn has something to wait for.
Task<void> receive_never_answered(Reactor& reactor, int fd) {
  std::uint8_t buffer[16];
  co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, buffer, sizeof buffer, 0); });
}

struct DestructionFlag {
  bool* destroyed;
  ~DestructionFlag() { *destroyed = true; }
};

}  // namespace

TEST_CASE("a task is lazy and returns its value to sync_wait") {
  Reactor reactor;
  bool started = false;
  auto body = [&]() -> Task<int> {
    started = true;
    co_return 42;
  };
  auto task = body();
  CHECK_FALSE(started);
  CHECK(reactor.sync_wait(std::move(task)) == 42);
  CHECK(started);
}

TEST_CASE("nested awaits return results in order") {
  Reactor reactor;
  CHECK(reactor.sync_wait(sum_of_nested(100)) == 5050);
  CHECK(reactor.sync_wait(sum_of_nested(2000)) == 2001000);
}

TEST_CASE("an exception thrown in a task reaches its awaiter") {
  Reactor reactor;
  auto outer = []() -> Task<std::string> {
    try {
      co_await throws_logic_error();
    } catch (const std::logic_error& e) {
      co_return std::string("caught ") + e.what();
    }
    co_return std::string("not caught");
  };
  CHECK(reactor.sync_wait(outer()) == "caught boom");
  CHECK_THROWS_AS(reactor.sync_wait(throws_logic_error()), std::logic_error);
}

TEST_CASE("awaited tasks run in program order") {
  Reactor reactor;
  std::vector<int> log;
  reactor.sync_wait([&]() -> Task<void> {
    co_await append(log, 1);
    co_await append(log, 2);
    log.push_back(co_await value_of(3));
  }());
  CHECK(log == std::vector<int>{1, 2, 3});
}

TEST_CASE("spawned tasks start on the next turn and the reactor tracks them until they end") {
  Reactor reactor;
  std::vector<int> log;
  reactor.spawn(append(log, 1));
  reactor.spawn(append(log, 2));
  CHECK(log.empty());
  CHECK(reactor.detached_count() == 2);
  reactor.run();
  CHECK(log == std::vector<int>{1, 2});
  CHECK(reactor.detached_count() == 0);
}

TEST_CASE("a task cancelled before its first turn never runs") {
  Reactor reactor;
  std::vector<int> log;
  Reactor::TaskId id = reactor.spawn(append(log, 1));
  CHECK(reactor.cancel(id));
  CHECK(reactor.detached_count() == 0);
  reactor.run();
  CHECK(log.empty());
  CHECK_FALSE(reactor.cancel(id));
}

TEST_CASE("the id of a task that ended never cancels a later task in its slot") {
  Reactor reactor;
  std::vector<int> log;
  Reactor::TaskId finished = reactor.spawn(append(log, 1));
  reactor.run();
  REQUIRE(reactor.detached_count() == 0);
  io::Event never(reactor);
  auto waiter = [&]() -> Task<void> { co_await never.wait(); };
  Reactor::TaskId waiting = reactor.spawn(waiter());
  reactor.poll();
  CHECK(static_cast<std::uint32_t>(waiting) == static_cast<std::uint32_t>(finished));  // reused
  CHECK(waiting != finished);
  CHECK_FALSE(reactor.cancel(finished));
  CHECK(reactor.detached_count() == 1);
  CHECK(reactor.cancel(waiting));
  CHECK(reactor.detached_count() == 0);
}

TEST_CASE("an exception escaping a spawned task is contained") {
  Reactor reactor;
  reactor.spawn([]() -> Task<void> {
    co_await throws_logic_error();
  }());
  REQUIRE_NOTHROW(reactor.run());
  CHECK(reactor.detached_count() == 0);
}

TEST_CASE("sleep_for resumes after the delay") {
  Reactor reactor;
  auto start = std::chrono::steady_clock::now();
  reactor.sync_wait([&]() -> Task<void> { co_await io::sleep_for(reactor, 20ms); }());
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
}

TEST_CASE("more operations in one turn than the queues hold: all complete, none is lost") {
  // 8 SQ slots (a full queue is submitted early) and 16 CQ slots (the rest wait in the
  // kernel's overflow list): 200 no-ops started in one turn.
  Reactor::Options options;
  options.entries = 8;
  options.completion_entries = 16;
  Reactor reactor(options);
  int completed = 0;
  auto nop = [&]() -> Task<void> {
    const int rc = co_await io::uring_op(reactor, [](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
    if (rc == 0) ++completed;
  };
  for (int i = 0; i < 200; ++i) reactor.spawn(nop());
  for (int turn = 0; turn < 1000 && completed < 200; ++turn) reactor.run_once(100ms);
  CHECK(completed == 200);
  CHECK_FALSE(reactor.has_work());
}

TEST_CASE("a receive with a deadline fails with ETIMEDOUT when nothing arrives") {
  Reactor reactor;
  SocketPair pair;
  std::uint8_t buffer[16];
  int rc = reactor.sync_wait([&]() -> Task<int> {
    co_return co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, pair.fds[0], buffer, sizeof buffer, 0);
    }, 20ms);
  }());
  CHECK(rc == -ETIMEDOUT);
  CHECK_FALSE(reactor.has_work());
}

TEST_CASE("cancelling a spawned task cancels its pending receive and frees its frame") {
  Reactor reactor;
  SocketPair pair;
  bool resumed = false;
  auto body1 = [&]() -> Task<void> {
    std::uint8_t buffer[64];
    co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, pair.fds[0], buffer, sizeof buffer, 0);
    });
    resumed = true;
  };
  auto id = reactor.spawn(body1());
  reactor.poll();  // starts the task; its receive is now in the kernel
  reactor.poll();
  REQUIRE(reactor.has_work());
  CHECK(reactor.cancel(id));
  CHECK_FALSE(reactor.has_work());
  CHECK_FALSE(reactor.cancel(id));
  // Data arriving afterwards must not be written into the freed frame (ASan would tell).
  REQUIRE(::write(pair.fds[1], "late", 4) == 4);
  reactor.poll();
  CHECK_FALSE(resumed);
}

TEST_CASE("destroying a task object mid-await cancels the nested I/O") {
  Reactor reactor;
  SocketPair pair;
  bool frame_destroyed = false, resumed = false;
  auto reader = [&]() -> Task<int> {
    DestructionFlag flag{&frame_destroyed};
    std::uint8_t buffer[64];
    int received = co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, pair.fds[0], buffer, sizeof buffer, 0);
    });
    resumed = true;
    co_return received;
  };
  // The test owns the task object; a spawned task only awaits it, which starts it.
  Task<int> nested = reader();
  auto awaiting = [&]() -> Task<void> { (void)co_await std::move(nested); };
  auto id = reactor.spawn(awaiting());
  for (int i = 0; i < 3; ++i) reactor.poll();
  REQUIRE(reactor.has_work());  // the receive is in the kernel
  REQUIRE_FALSE(frame_destroyed);
  nested = Task<int>();  // destroys the task object, and with it its frame, mid-await
  CHECK(frame_destroyed);
  CHECK_FALSE(reactor.has_work());  // the receive was cancelled and its completion reaped
  // Data arriving afterwards must not be written into the freed frame (ASan would tell).
  REQUIRE(::write(pair.fds[1], "late", 4) == 4);
  reactor.poll();
  CHECK_FALSE(resumed);
  // The awaiting task is never resumed; cancelling it frees its frame.
  CHECK(reactor.cancel(id));
  CHECK(reactor.detached_count() == 0);
}

TEST_CASE("cancelling a spawned task destroys the task it awaits and cancels that task's I/O") {
  Reactor reactor;
  SocketPair pair;
  bool nested_frame_destroyed = false;
  auto reader = [&]() -> Task<int> {
    DestructionFlag flag{&nested_frame_destroyed};
    std::uint8_t buffer[64];
    co_return co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, pair.fds[0], buffer, sizeof buffer, 0);
    });
  };
  auto outer = [&]() -> Task<void> { co_await reader(); };
  auto id = reactor.spawn(outer());
  for (int i = 0; i < 3; ++i) reactor.poll();
  REQUIRE(reactor.has_work());
  REQUIRE_FALSE(nested_frame_destroyed);
  CHECK(reactor.cancel(id));
  CHECK(nested_frame_destroyed);
  CHECK_FALSE(reactor.has_work());
  CHECK(reactor.detached_count() == 0);
}

TEST_CASE("the reactor's destructor destroys detached tasks still waiting") {
  SocketPair pair;
  bool frame_destroyed = false;
  {
    Reactor reactor;
    auto body2 = [&]() -> Task<void> {
      DestructionFlag flag{&frame_destroyed};
      std::uint8_t buffer[64];
      co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) {
        io_uring_prep_recv(sqe, pair.fds[0], buffer, sizeof buffer, 0);
      });
    };
    reactor.spawn(body2());
    reactor.poll();
    REQUIRE(reactor.detached_count() == 1);
    REQUIRE_FALSE(frame_destroyed);
  }
  CHECK(frame_destroyed);  // and LeakSanitizer finds nothing left of it
}

TEST_CASE("poll() returns at once while operations are pending") {
  Reactor reactor;
  SocketPair pair;
  std::uint8_t buffer[16];
  int result = 1;
  auto body3 = [&]() -> Task<void> {
    result = co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, pair.fds[0], buffer, sizeof buffer, 0);
    });
  };
  reactor.spawn(body3());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) reactor.poll();
  // Not a speed claim: a blocking poll() would sit here forever; 1000 calls in under 5 s
  // shows none of them waited for the pending receive.
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(result == 1);
  REQUIRE(::write(pair.fds[1], "hi", 2) == 2);
  for (int i = 0; i < 100 && result == 1; ++i) reactor.poll();
  CHECK(result == 2);
}

TEST_CASE("run_once with a timeout returns after the timeout when nothing completes") {
  Reactor reactor;
  SocketPair pair;
  reactor.spawn(receive_never_answered(reactor, pair.fds[0]));
  reactor.poll();
  auto start = std::chrono::steady_clock::now();
  CHECK(reactor.run_once(30ms));
  CHECK(std::chrono::steady_clock::now() - start >= 25ms);
}

TEST_CASE("after trim_heap_when_quiet, a blocking turn waits only until the trim is due; it trims once") {
  Reactor::Options options;
  options.heap_trim_after = 30ms;
  Reactor reactor(options);
  SocketPair pair;
  reactor.spawn(receive_never_answered(reactor, pair.fds[0]));
  reactor.poll();
  reactor.trim_heap_when_quiet();
  const auto start = std::chrono::steady_clock::now();
  // Nothing completes: the turn ends because the trim comes due, not after 10 s.
  CHECK(reactor.run_once(10s));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 30ms);
  CHECK(waited < 10s);
  CHECK(reactor.stats().heap_trims == 0);
  // The next turn that would block trims first.
  CHECK(reactor.run_once(10ms));
  CHECK(reactor.stats().heap_trims == 1);
  // No new request: a later quiet turn trims nothing.
  CHECK(reactor.run_once(40ms));
  CHECK(reactor.stats().heap_trims == 1);
}

#ifndef WSP_SANITIZED  // glibc's malloc; the sanitizers bring their own
TEST_CASE("empty_malloc_thread_cache hands the chunks malloc cached for this thread to the heap") {
  // Seven chunks of the largest cached size land in this thread's cache (emptied of that size
  // first), where mallinfo2 counts them as in use.
  constexpr std::size_t kRequest = 1024, kChunk = 1040, kCached = 7;
  std::vector<void*> earlier, cached;
  for (std::size_t i = 0; i < kCached; ++i) earlier.push_back(std::malloc(kRequest));
  for (std::size_t i = 0; i < kCached; ++i) cached.push_back(std::malloc(kRequest));
  for (void* p : cached) std::free(p);
  for (void* p : earlier) std::free(p);  // the cache is full: these go to the heap
  const std::size_t in_use_before = mallinfo2().uordblks;
  io::empty_malloc_thread_cache();
  const std::size_t in_use_after = mallinfo2().uordblks;
  // Free now: no longer counted (a few hundred bytes of the helper thread's may be).
  CHECK(in_use_before >= in_use_after + kCached * kChunk - 1024);
}

TEST_CASE("empty_malloc_thread_cache takes the cached chunks, not seven of every size") {
  // Taking 7 of every size whatever the cache held carved up to 236 KB from the heap, all of it
  // resident for a moment: the peak RSS of a server that trims after a few handshakes.
  constexpr std::size_t kRequest = 1024, kChunk = 1040, kCached = 3, kSizes = 64;
  io::empty_malloc_thread_cache();
  std::vector<void*> cached;
  for (std::size_t i = 0; i < kCached; ++i) cached.push_back(std::malloc(kRequest));
  for (void* p : cached) std::free(p);
  const std::size_t in_use_before = mallinfo2().uordblks;
  const std::size_t taken = io::empty_malloc_thread_cache();
  const std::size_t in_use_after = mallinfo2().uordblks;
  CHECK(in_use_before >= in_use_after + kCached * kChunk - 1024);  // the cached three are free
  CHECK(taken >= kCached);
  // A size stops at the first chunk that did not come from the cache, unless old bytes in it
  // read as links: about one probe of each size, not seven.
  INFO("taken " << taken);
  CHECK(taken <= 2 * kSizes + kCached);
}
#endif

TEST_CASE("with heap_trim_after 0 the reactor never trims the heap") {
  Reactor::Options options;
  options.heap_trim_after = 0ms;
  Reactor reactor(options);
  reactor.trim_heap_when_quiet();
  reactor.sync_wait([&]() -> Task<void> { co_await io::sleep_for(reactor, 20ms); }());
  CHECK(reactor.stats().heap_trims == 0);
}

TEST_CASE("stop() ends run() even with work pending") {
  Reactor reactor;
  SocketPair pair;
  reactor.spawn(receive_never_answered(reactor, pair.fds[0]));
  auto body6 = [&]() -> Task<void> {
    co_await io::sleep_for(reactor, 10ms);
    reactor.stop();
  };
  reactor.spawn(body6());
  reactor.run();
  CHECK(reactor.stopped());
  CHECK(reactor.has_work());
}

TEST_CASE("sync_wait on a task that can never finish throws instead of hanging") {
  Reactor reactor;
  io::Event never(reactor);
  CHECK_THROWS_AS(reactor.sync_wait([&]() -> Task<void> { co_await never.wait(); }()),
                  std::logic_error);
}

TEST_CASE("an event wakes every waiter once set") {
  Reactor reactor;
  io::Event event(reactor);
  int woken = 0;
  auto body7 = [&]() -> Task<void> {
    co_await event.wait();
    ++woken;
  };
  for (int i = 0; i < 3; ++i) reactor.spawn(body7());
  reactor.poll();
  CHECK(woken == 0);
  event.set();
  reactor.poll();
  CHECK(woken == 3);
}

TEST_CASE("submissions are batched: many operations, one io_uring_enter per turn") {
  Reactor reactor;
  std::vector<SocketPair> pairs(50);
  int done = 0;
  auto read_one = [&](int fd) -> Task<void> {
    std::uint8_t b;
    co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, &b, 1, 0); });
    ++done;
  };
  for (auto& p : pairs) {
    REQUIRE(::write(p.fds[1], "x", 1) == 1);
    reactor.spawn(read_one(p.fds[0]));
  }
  auto before = reactor.stats();
  reactor.poll();  // starts all 50 tasks, submits 50 receives in one enter
  auto after = reactor.stats();
  CHECK(after.enter_calls - before.enter_calls == 1);
  CHECK(after.sqes_submitted - before.sqes_submitted == 50);
  while (done < 50) reactor.run_once(100ms);
  CHECK(done == 50);
}

namespace {

int callback_calls = 0;
constexpr io::ReadyNode::Callback kCount{[](io::ReadyNode*) { ++callback_calls; }};

// Suspends into `node` (a coroutine waiter) and counts its resumptions.
struct ParkIn {
  io::ReadyNode& node;
  bool await_ready() const { return false; }
  void await_suspend(std::coroutine_handle<> h) { node.set_waiter(h); }
  void await_resume() const {}
};

}  // namespace

TEST_CASE("a ready node holds a coroutine or a callback in one word: the one set last runs") {
  io::ReadyNode node;
  int resumed = 0;
  auto parked = [&]() -> Task<void> {
    for (;;) {
      co_await ParkIn{node};
      ++resumed;
    }
  };
  Reactor reactor;
  const auto id = reactor.spawn(parked());
  reactor.run_once(0ms);  // started: parked in the node
  node.run();
  CHECK(resumed == 1);
  node.set_callback(kCount);
  node.run();
  CHECK(callback_calls == 1);
  CHECK(resumed == 1);
  reactor.cancel(id);
}

namespace {

// A ReadyBase owner that records the order it ran in.
struct Recorder : io::ReadyBase<Recorder> {
  explicit Recorder(std::vector<int>& log, int id) : log(log), id(id) {}
  void run_ready() { log.push_back(id); }
  void forget_last() { log.pop_back(); }
  std::vector<int>& log;
  int id;
};

}  // namespace

TEST_CASE("ReadyBase entries carry no target word and run their owners in order with ready nodes") {
  static_assert(sizeof(io::ReadyBase<Recorder>) == 2 * sizeof(void*));
  static_assert(sizeof(io::ReadyNode) == 3 * sizeof(void*));
  std::vector<int> log;
  Recorder first(log, 1), second(log, 2);
  io::CallbackNode<Recorder, &Recorder::forget_last> drop_last(&first);
  Reactor reactor;
  reactor.schedule(&first);
  reactor.schedule(&drop_last);
  reactor.schedule(&second);
  reactor.schedule(&first);  // already linked: once
  CHECK(first.linked());
  reactor.run_once(0ms);
  CHECK(log == std::vector<int>{2});  // 1, then the node dropped it, then 2
  CHECK(!first.linked());

  // Unlinked before its turn (as when its owner goes away), then scheduled again: the entry
  // keeps its kind through the unlink.
  reactor.schedule(&second);
  reactor.schedule(&first);
  second.unlink();
  reactor.run_once(0ms);
  CHECK(log == std::vector<int>{2, 1});
  reactor.schedule(&second);
  reactor.run_once(0ms);
  CHECK(log == std::vector<int>{2, 1, 2});
}

namespace {

// Two requests on one Completion: each CQE reaches the handler of the request it belongs to.
struct TwoRequests final : io::Completion {
  std::vector<std::string> seen;
  void on_complete(int result, std::uint32_t) override { seen.push_back("first " + std::to_string(result)); }
  void on_second_complete(int result, std::uint32_t) override {
    seen.push_back("second " + std::to_string(result));
  }
};

}  // namespace

TEST_CASE("a completion's second request completes and cancels apart from its first") {
  Reactor reactor;
  TwoRequests c;
  using Request = io::Completion::Request;
  // The first: a timeout far away; the second: a NOP, done at once.
  __kernel_timespec far{60, 0};
  io_uring_sqe* sqe = reactor.get_sqe();
  io_uring_prep_timeout(sqe, &far, 0, 0);
  reactor.submit_tracked(sqe, &c, Request::first);
  sqe = reactor.get_sqe();
  io_uring_prep_nop(sqe);
  reactor.submit_tracked(sqe, &c, Request::second);
  CHECK(c.in_flight(Request::first));
  CHECK(c.in_flight(Request::second));
  for (int i = 0; i < 100 && c.in_flight(Request::second); ++i) reactor.run_once(10ms);
  CHECK(c.seen == std::vector<std::string>{"second 0"});
  CHECK(c.in_flight(Request::first));

  // A second timeout as the second request, cancelled alone: the first stays in flight.
  sqe = reactor.get_sqe();
  io_uring_prep_timeout(sqe, &far, 0, 0);
  reactor.submit_tracked(sqe, &c, Request::second);
  reactor.run_once(0ms);
  reactor.cancel_and_wait(&c, Request::second);
  CHECK(!c.in_flight(Request::second));
  CHECK(c.in_flight(Request::first));
  CHECK(c.seen == std::vector<std::string>{"second 0", "second " + std::to_string(-ECANCELED)});

  reactor.cancel_and_wait(&c, Request::first);
  CHECK(!c.in_flight(Request::first));
  CHECK(c.seen.back() == "first " + std::to_string(-ECANCELED));
}
