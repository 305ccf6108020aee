// io::ShardInbox, the hand-over of TcpServerPool::Accept::one_acceptor: a connection accepted
// on one reactor arrives on another as a TcpStream of that reactor, or is closed when that
// reactor stopped taking connections or ended first. A socketpair stands in for the accepted
// connection: its other end sees EOF once the handed-over end is closed. And the whole
// server, stopped while clients keep connecting, leaves no descriptor open.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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

int open_descriptors() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

// Keeps what it is given until shut_down(), which closes it all.
struct HoldingShard final : io::ServerShard {
  void accepted(io::TcpStream stream) override { streams.push_back(std::move(stream)); }
  io::Task<void> shut_down() override {
    streams.clear();
    co_return;
  }
  std::vector<io::TcpStream> streams;
};

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

TEST_CASE("one acceptor stopped while clients keep connecting leaves no descriptor open") {
  const int before = open_descriptors();
  io::TcpServerPool server({.host = "127.0.0.1",
                            .port = 0,
                            .threads = 2,
                            .reactor = {},
                            .backlog = 4096,
                            .accept = io::TcpServerPool::Accept::one_acceptor});
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> served_ok{false};
  std::thread serving([&] {
    auto served = server.serve([](std::size_t, io::Reactor&) { return std::make_unique<HoldingShard>(); },
                               [&](std::uint16_t p) { port = p; });
    served_ok = served && *served == 0;
  });
  for (int i = 0; i < 500 && port == 0; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(port != 0);
  // 400 connections; stop() after the first 200, so the rest meet a server that is stopping.
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> clients;
  for (int i = 0; i < 400; ++i) {
    if (i == 200) server.stop();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    clients.push_back(fd);
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);  // may be refused
  }
  serving.join();
  CHECK(served_ok);
  for (int fd : clients) ::close(fd);
  // Accepted, handed over, closed on arrival, discarded with a reactor, or never accepted:
  // whichever way each went, nothing of the server's is open any more.
  CHECK(server.connections_per_reactor().size() == 2);
  CHECK(open_descriptors() == before);
}
