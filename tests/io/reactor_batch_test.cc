// Reactor::Options::batch_*: a blocking turn waits a while for several completions.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <thread>

#include "io/file_descriptor.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/task.h"
#include "tests/skip.h"

using namespace std::chrono_literals;
using io::Reactor;

namespace {

Reactor::Options batching(unsigned completions, std::chrono::microseconds wait) {
  Reactor::Options options;
  options.batch_completions = completions;
  options.batch_wait = wait;
  return options;
}

// Socket pairs whose far ends a thread writes to. (Not timers: an IORING_OP_TIMEOUT that
// fires wakes every waiter by design, batch or not.)
struct Pairs {
  std::array<io::FileDescriptor, 4> near, far;
  Pairs() {
    for (std::size_t i = 0; i < near.size(); ++i) {
      int fds[2];
      REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
      near[i].reset(fds[0]);
      far[i].reset(fds[1]);
    }
  }
};

io::Task<void> read_then_count(Reactor& reactor, int fd, int& done) {
  char byte;
  const int n = co_await io::uring_op(reactor, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, &byte, 1, 0); });
  if (n == 1) ++done;
}

// Runs turns until `done` reaches `goal`; the time it took.
std::chrono::steady_clock::duration run_until_done(Reactor& reactor, const int& done, int goal) {
  const auto start = std::chrono::steady_clock::now();
  for (int turns = 0; done < goal && turns < 100; ++turns) reactor.run_once(5s);
  return std::chrono::steady_clock::now() - start;
}

}  // namespace

TEST_CASE("without batch options, or with one completion per batch, turns do not batch") {
  CHECK_FALSE(Reactor().batches_waits());
  CHECK_FALSE(Reactor(batching(1, 100us)).batches_waits());
  CHECK_FALSE(Reactor(batching(8, 0us)).batches_waits());
}

TEST_CASE("a batched turn that gets fewer completions than asked returns with them after the wait") {
  Reactor reactor(batching(8, 300ms));
  if (!reactor.batches_waits()) WSP_SKIP("this kernel has no IORING_FEAT_MIN_TIMEOUT (Linux 6.12)");
  Pairs pairs;
  int done = 0;
  reactor.spawn(read_then_count(reactor, pairs.near[0].get(), done));
  reactor.poll();  // the receive is armed
  std::thread writer([&] {
    std::this_thread::sleep_for(1ms);
    REQUIRE(write(pairs.far[0].get(), "x", 1) == 1);
  });
  const auto took = run_until_done(reactor, done, 1);
  writer.join();
  CHECK(done == 1);
  // The byte came after about 1 ms, but the turn waited for more until its 300 ms were over.
  CHECK(took >= 250ms);
}

TEST_CASE("a batched turn returns as soon as the completions it asked for came") {
  Reactor reactor(batching(4, 2s));
  if (!reactor.batches_waits()) WSP_SKIP("this kernel has no IORING_FEAT_MIN_TIMEOUT (Linux 6.12)");
  Pairs pairs;
  int done = 0;
  for (io::FileDescriptor& fd : pairs.near) reactor.spawn(read_then_count(reactor, fd.get(), done));
  reactor.poll();
  const std::uint64_t enters_before = reactor.stats().enter_calls;
  std::thread writer([&] {
    std::this_thread::sleep_for(1ms);
    for (io::FileDescriptor& fd : pairs.far) REQUIRE(write(fd.get(), "x", 1) == 1);
  });
  const auto took = run_until_done(reactor, done, 4);
  writer.join();
  CHECK(done == 4);
  // All four in one wake-up, long before the 2 s wait was over.
  CHECK(reactor.stats().enter_calls - enters_before == 1);
  CHECK(took < 1500ms);
}
