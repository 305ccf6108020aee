// io::ShardInbox, the hand-over of TcpServerPool::Accept::one_acceptor: a connection accepted
// on one reactor arrives on another as a TcpStream of that reactor, or is closed when that
// reactor stopped taking connections or ended first. A socketpair stands in for the accepted
// connection: its other end sees EOF once the handed-over end is closed.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "io/file_descriptor.h"
#include "io/reactor.h"
#include "io/task.h"
#include "io/tcp_server_pool.h"
#include "io/tcp_stream.h"

using namespace std::chrono_literals;

namespace {

struct KeepingShard final : io::ServerShard {
  void accepted(io::TcpStream stream) override { streams.push_back(std::move(stream)); }
  io::Task<void> shut_down() override { co_return; }
  std::vector<io::TcpStream> streams;
};

struct Pair {
  Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
  ~Pair() { ::close(fds[1]); }
  io::FileDescriptor handed() { return io::FileDescriptor(fds[0]); }
  // What a read on the other end sees without waiting: 0 at EOF, -1 (EAGAIN) while open.
  ssize_t peek_other_end() {
    char byte;
    return ::recv(fds[1], &byte, 1, MSG_DONTWAIT);
  }
  int fds[2] = {-1, -1};
};

// Hands `fd` over from a thread that runs no reactor.
void hand_over_from_another_thread(io::ShardInbox& inbox, io::FileDescriptor fd) {
  std::thread([&inbox, &fd] { inbox.hand_over(std::move(fd)); }).join();
}

// Turns of `reactor` until `done` (at most 2 s).
template <typename Done>
void turn_until(io::Reactor& reactor, Done done) {
  for (int i = 0; i < 200 && !done(); ++i) reactor.run_once(10ms);
}

}  // namespace

TEST_CASE("a connection handed over from another thread becomes a TcpStream of the receiving reactor") {
  io::Reactor reactor;
  KeepingShard shard;
  io::ShardInbox inbox(reactor, shard);
  Pair pair;
  hand_over_from_another_thread(inbox, pair.handed());
  CHECK(shard.streams.empty());  // it waits for one of the reactor's turns
  turn_until(reactor, [&] { return !shard.streams.empty(); });
  REQUIRE(shard.streams.size() == 1);
  CHECK(&shard.streams[0].reactor() == &reactor);
  CHECK(shard.streams[0].fd() == pair.fds[0]);
  CHECK(inbox.delivered() == 1);
  CHECK(inbox.closed_on_arrival() == 0);
  CHECK(pair.peek_other_end() == -1);  // still open
}

TEST_CASE("a connection handed over on the receiving reactor's own thread reaches the shard at once") {
  io::Reactor reactor;
  KeepingShard shard;
  io::ShardInbox inbox(reactor, shard);
  Pair pair;
  inbox.hand_over(pair.handed());
  REQUIRE(shard.streams.size() == 1);
  CHECK(&shard.streams[0].reactor() == &reactor);
  CHECK(inbox.delivered() == 1);
}

TEST_CASE("a connection that arrives after the inbox closed (the server stopping) is closed, not given to the shard") {
  io::Reactor reactor;
  KeepingShard shard;
  io::ShardInbox inbox(reactor, shard);
  inbox.close();
  Pair pair;
  hand_over_from_another_thread(inbox, pair.handed());
  turn_until(reactor, [&] { return inbox.closed_on_arrival() == 1; });
  CHECK(inbox.closed_on_arrival() == 1);
  CHECK(inbox.delivered() == 0);
  CHECK(shard.streams.empty());
  CHECK(pair.peek_other_end() == 0);  // EOF: the descriptor was closed
}

TEST_CASE("a connection handed to a reactor that ends before its next turn is closed") {
  auto reactor = std::make_unique<io::Reactor>();
  KeepingShard shard;
  io::ShardInbox inbox(*reactor, shard);
  Pair pair;
  hand_over_from_another_thread(inbox, pair.handed());
  CHECK(pair.peek_other_end() == -1);  // in flight
  reactor.reset();                     // the post is discarded
  CHECK(shard.streams.empty());
  CHECK(pair.peek_other_end() == 0);
}
