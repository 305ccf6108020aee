// TCP listeners and streams over 127.0.0.1 / ::1 on the reactor.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io/buffer_ring.h"
#include "io/file_descriptor.h"
#include "io/reactor.h"
#include "io/resolver.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_push_io.h"
#include "io/tcp_stream.h"
#include "tests/ports.h"
#include "tests/skip.h"
#include "tests/stream_testing.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Result;
using io::Task;
using io::TcpListener;
using io::TcpStream;

namespace {

using testing_support::read_exactly;
using testing_support::run_until;

// Opens `n` connections to `listener`, each client with the server side it was accepted as.
Task<void> connect_pairs(Reactor& reactor, TcpListener& listener, int n, std::vector<TcpStream>& clients,
                         std::vector<TcpStream>& servers) {
  for (int i = 0; i < n; ++i) {
    auto client = co_await TcpStream::connect(reactor, "127.0.0.1", listener.local_port());
    auto server = co_await listener.accept();
    REQUIRE(client);
    REQUIRE(server);
    clients.push_back(std::move(*client));
    servers.push_back(std::move(*server));
  }
}

// One connection over 127.0.0.1: its client and server ends.
std::pair<TcpStream, TcpStream> connected_pair(Reactor& reactor) {
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::vector<TcpStream> clients, servers;
  reactor.sync_wait(connect_pairs(reactor, *listener, 1, clients, servers));
  return {std::move(clients[0]), std::move(servers[0])};
}

// How many threads of this process have `name` (/proc/self/task/TID/comm).
std::size_t threads_named(const std::string& name) {
  std::size_t n = 0;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return 0;
  while (dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  ::closedir(tasks);
  return n;
}

// Echoes everything back until the peer closes.
Task<void> echo_connection(TcpStream stream) {
  std::vector<std::uint8_t> buffer(16384);
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n || *n == 0) co_return;
    if (!(co_await stream.send_all({buffer.data(), *n}))) co_return;
  }
}

Task<void> echo_server(Reactor& reactor, TcpListener& listener, int connections) {
  for (int i = 0; i < connections; ++i) {
    auto stream = co_await listener.accept();
    if (!stream) co_return;
    reactor.spawn(echo_connection(std::move(*stream)));
  }
}


std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}


}  // namespace

TEST_CASE("a TCP echo round trip over 127.0.0.1 with local and remote addresses") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::uint16_t port = listener->local_port();
  REQUIRE(port != 0);
  reactor.spawn(echo_server(reactor, *listener, 1));
  auto client = [&]() -> Task<std::string> {
    auto stream = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
    REQUIRE(stream);
    CHECK(stream->remote_address()->to_string() == "127.0.0.1:" + std::to_string(port));
    CHECK(stream->local_address()->ip() == "127.0.0.1");
    auto sent = co_await stream->send_all(bytes("hello"));
    REQUIRE(sent);
    co_return co_await read_exactly(*stream, 5);
  };
  CHECK(reactor.sync_wait(client()) == "hello");
}

TEST_CASE("an IPv6 listener on ::1 accepts and echoes") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "::1", 0);
  if (!listener) WSP_SKIP("IPv6 loopback unavailable here: " << listener.error().message());
  reactor.spawn(echo_server(reactor, *listener, 1));
  auto client = [&]() -> Task<std::string> {
    auto stream = co_await TcpStream::connect(reactor, "::1", listener->local_port());
    REQUIRE(stream);
    CHECK(stream->remote_address()->to_string() ==
          "[::1]:" + std::to_string(listener->local_port()));
    auto sent = co_await stream->send_all(bytes("v6"));
    REQUIRE(sent);
    co_return co_await read_exactly(*stream, 2);
  };
  CHECK(reactor.sync_wait(client()) == "v6");
}

TEST_CASE("TCP_NODELAY is on by default and can be turned off") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto client = [&]() -> Task<void> {
    auto stream = co_await TcpStream::connect(reactor, "127.0.0.1", listener->local_port());
    REQUIRE(stream);
    int value = 0;
    socklen_t len = sizeof value;
    getsockopt(stream->fd(), IPPROTO_TCP, TCP_NODELAY, &value, &len);
    CHECK(value == 1);
    REQUIRE(stream->set_no_delay(false));
    getsockopt(stream->fd(), IPPROTO_TCP, TCP_NODELAY, &value, &len);
    CHECK(value == 0);
  };
  reactor.sync_wait(client());
}

TEST_CASE("localhost is resolved off the reactor thread") {
  Reactor reactor;
  auto addresses = reactor.sync_wait(io::resolve(reactor, "localhost", 80));
  REQUIRE(addresses);
  REQUIRE_FALSE(addresses->empty());
  bool loopback = false;
  for (auto& a : *addresses) loopback |= a.ip() == "127.0.0.1" || a.ip() == "::1";
  CHECK(loopback);
  CHECK((*addresses)[0].port() == 80);
}

TEST_CASE("an unresolvable name fails with an error, not an exception") {
  Reactor reactor;
  auto addresses = reactor.sync_wait(io::resolve(reactor, "no-such-host.invalid", 80));
  REQUIRE_FALSE(addresses);
  CHECK(addresses.error() == io::errno_code(EHOSTUNREACH));
}

TEST_CASE("connecting to a closed port fails with ECONNREFUSED") {
  Reactor reactor;
  testing_support::RefusingPort refusing;
  auto stream = reactor.sync_wait(TcpStream::connect(reactor, "127.0.0.1", refusing.port()));
  REQUIRE_FALSE(stream);
  CHECK(stream.error() == io::errno_code(ECONNREFUSED));
}

TEST_CASE("a peer reset surfaces as ECONNRESET and a later send as EPIPE without SIGPIPE") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto body = [&]() -> Task<void> {
    auto client = co_await TcpStream::connect(reactor, "127.0.0.1", listener->local_port());
    REQUIRE(client);
    auto server = co_await listener->accept();
    REQUIRE(server);
    linger hard{1, 0};  // close with RST
    setsockopt(server->fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    { TcpStream dropped = std::move(*server); }  // plain close(2): RST, no FIN first
    std::uint8_t buffer[8];
    auto n = co_await client->read_some(buffer);
    REQUIRE_FALSE(n);
    CHECK(n.error() == io::errno_code(ECONNRESET));
    auto sent_after_reset = co_await client->send_all(bytes("after reset"));
    REQUIRE_FALSE(sent_after_reset);
    CHECK(sent_after_reset.error() == io::errno_code(EPIPE));
  };
  reactor.sync_wait(body());
}

TEST_CASE("half-close: the peer reads EOF and can still answer") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto body = [&]() -> Task<void> {
    auto client = co_await TcpStream::connect(reactor, "127.0.0.1", listener->local_port());
    auto server = co_await listener->accept();
    REQUIRE(client);
    REQUIRE(server);
    auto sent = co_await client->send_all(bytes("question"));
    REQUIRE(sent);
    auto shut = co_await client->shutdown();
    REQUIRE(shut);
    auto question = co_await read_exactly(*server, 100);  // stops at EOF
    CHECK(question == "question");
    auto answered = co_await server->send_all(bytes("answer"));
    REQUIRE(answered);
    server->close();
    auto answer = co_await read_exactly(*client, 100);
    CHECK(answer == "answer");
  };
  reactor.sync_wait(body());
}

// io_uring hands IORING_OP_SHUTDOWN to an io-wq worker thread every time; on this machine's
// kernel a reactor waiting for such a completion sometimes slept through it (a server stopping
// after 1,000 connections hung in 4 of 10 stops). A half-close is a direct call: no worker.
TEST_CASE("half-closing 32 streams makes no io_uring worker thread; every peer reads EOF") {
  std::size_t workers = 0, ends = 0;
  std::thread([&] {  // a fresh thread: its workers are named after it, "iou-wrk-<tid>"
    Reactor reactor;
    auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
    REQUIRE(listener);
    auto body = [&]() -> Task<void> {
      std::vector<TcpStream> clients, servers;
      co_await connect_pairs(reactor, *listener, 32, clients, servers);
      for (TcpStream& c : clients) {
        auto shut = co_await c.shutdown();
        REQUIRE(shut);
      }
      for (TcpStream& s : servers) {
        auto rest = co_await read_exactly(s, 1);  // stops at EOF
        if (rest.empty()) ++ends;
      }
    };
    reactor.sync_wait(body());
    workers = threads_named("iou-wrk-" + std::to_string(gettid()));
  }).join();
  CHECK(ends == 32);
  CHECK(workers == 0);
}

TEST_CASE("16 MiB partial writes and reads arrive complete and in order") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  reactor.spawn(echo_server(reactor, *listener, 1));
  std::string payload(16 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + (i >> 12));
  auto body = [&]() -> Task<std::string> {
    auto client = co_await TcpStream::connect(reactor, "127.0.0.1", listener->local_port());
    REQUIRE(client);
    // Write and read concurrently, or both socket buffers fill and the echo stalls.
    bool sent_ok = false;
    auto writer = [&]() -> Task<void> { sent_ok = bool(co_await client->send_all(bytes(payload))); };
    reactor.spawn(writer());
    std::string echoed = co_await read_exactly(*client, payload.size());
    CHECK(sent_ok);
    co_return echoed;
  };
  std::string echoed = reactor.sync_wait(body());
  CHECK(echoed.size() == payload.size());
  CHECK(echoed == payload);
}

TEST_CASE("scatter-gather writes send every buffer in order") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto body = [&]() -> Task<std::string> {
    auto client = co_await TcpStream::connect(reactor, "127.0.0.1", listener->local_port());
    auto server = co_await listener->accept();
    std::string a = "head:", b(1 << 20, 'x'), c = ":tail";
    iovec parts[] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
    bool ok = false;
    auto writer = [&]() -> Task<void> { ok = bool(co_await client->write_all(parts)); };
    reactor.spawn(writer());
    std::string got = co_await read_exactly(*server, a.size() + b.size() + c.size());
    CHECK(ok);
    CHECK(got == a + b + c);
    co_return got;
  };
  reactor.sync_wait(body());
}

TEST_CASE("1,000 concurrent connections echo over 127.0.0.1") {
  constexpr int kConnections = 1000;
  if (const auto limit = io::raise_open_files_limit(); limit < 2 * kConnections + 64) {
    WSP_SKIP("the open-files limit (" << limit << ") is below " << 2 * kConnections + 64
                                      << " for 1,000 connections");
  }
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  reactor.spawn(echo_server(reactor, *listener, kConnections));
  int echoed = 0;
  std::uint16_t port = listener->local_port();
  auto client = [&](int id) -> Task<void> {
    auto stream = co_await TcpStream::connect(reactor, "127.0.0.1", port);
    if (!stream) co_return;
    std::string message = "connection " + std::to_string(id);
    for (int round = 0; round < 3; ++round) {
      if (!(co_await stream->send_all(bytes(message)))) co_return;
      if (co_await read_exactly(*stream, message.size()) != message) co_return;
    }
    ++echoed;
  };
  for (int i = 0; i < kConnections; ++i) reactor.spawn(client(i));
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (echoed < kConnections && std::chrono::steady_clock::now() < deadline) {
    reactor.run_once(100ms);
  }
  CHECK(echoed == kConnections);
}

TEST_CASE("accept keeps running when the process runs out of descriptors, and counts it") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  // Fill the table up to a low soft limit so the next accept gets EMFILE.
  std::vector<int> fillers;
  rlimit low = saved;
  low.rlim_cur = 64;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);  // restored below
  for (;;) {
    int fd = ::dup(0);
    if (fd < 0) break;
    fillers.push_back(fd);
  }
  // A plain blocking client socket needs a descriptor too: free one for it.
  ::close(fillers.back());
  fillers.pop_back();
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(client >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(listener->local_port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  // No assertions while the table is full: the sanitizers' runtime needs descriptors too.
  bool accepted_while_exhausted = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (listener->fd_exhaustion_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    accepted_while_exhausted |= listener->try_accept().has_value();
    reactor.run_once(20ms);
  }
  std::uint64_t exhaustions = listener->fd_exhaustion_count();
  // Descriptors come back: the pending connection is accepted after the retry pause.
  for (int fd : fillers) ::close(fd);
  REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
  CHECK_FALSE(accepted_while_exhausted);
  CHECK(exhaustions > 0);
  std::optional<TcpStream> accepted;
  CHECK(run_until(reactor, [&] {
    if (!accepted) accepted = listener->try_accept();
    return accepted.has_value();
  }));
  ::close(client);
}

TEST_CASE("closing a listener wakes a pending accept with EBADF") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::error_code result;
  auto acceptor = [&]() -> Task<void> {
    auto stream = co_await listener->accept();
    result = stream.error();
  };
  reactor.spawn(acceptor());
  reactor.poll();
  reactor.poll();
  listener->close();
  reactor.run();
  CHECK(result == io::errno_code(EBADF));
}

TEST_CASE("binding a port in use fails with EADDRINUSE; SO_REUSEPORT allows sharing") {
  Reactor reactor;
  TcpListener::Options shared;
  shared.reuse_port = true;
  auto first = TcpListener::bind(reactor, "127.0.0.1", 0, shared);
  REQUIRE(first);
  auto second = TcpListener::bind(reactor, "127.0.0.1", first->local_port(), shared);
  CHECK(second);
  auto third = TcpListener::bind(reactor, "127.0.0.1", first->local_port());
  REQUIRE_FALSE(third);
  CHECK(third.error() == io::errno_code(EADDRINUSE));
}

TEST_CASE("a connect with a deadline to a black hole times out with ETIMEDOUT") {
  Reactor reactor;
  // A listener with a full backlog that never accepts: further SYNs are dropped.
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0, TcpListener::Options{.backlog = 0});
  REQUIRE(listener);
  std::vector<TcpStream> backlog_fillers;
  bool timed_out = false;
  for (int i = 0; i < 8 && !timed_out; ++i) {
    auto stream = reactor.sync_wait(
        TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", listener->local_port()),
                           100ms));
    if (!stream) {
      CHECK(stream.error() == io::errno_code(ETIMEDOUT));
      timed_out = true;
    } else {
      backlog_fillers.push_back(std::move(*stream));  // kept open: the backlog stays full
    }
  }
  CHECK(timed_out);
}

namespace {

// Collects what the push-style receive delivers.
struct Collector final : testing_support::ReceiveOnly {
  std::string bytes;
  std::size_t largest = 0;  // bytes in one delivery
  bool ended = false;
  std::error_code error;
  bool on_received(std::span<const std::uint8_t> data) override {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    largest = std::max(largest, data.size());
    return true;
  }
  void on_receive_end(std::error_code e) override {
    ended = true;
    error = e;
  }
};

std::string pattern(int connection, std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(connection * 7 + i * 13 + (i >> 10));
  return s;
}

// 64 clients each send their bytes in pieces of mixed sizes and half-close before the server
// starts receiving, so the first turn finds every socket full: far more than the ring holds.
// Checks every byte arrived in order.
struct RingOutcome {
  io::ReactorStats stats;
  unsigned ring_buffers = 0;  // given to the kernel by the end
};
RingOutcome receive_through_ring(Reactor::Options options) {
  constexpr int kConnections = 64;
  Reactor reactor(options);
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::vector<TcpStream> clients, servers;
  std::vector<std::string> sent;
  reactor.sync_wait(connect_pairs(reactor, *listener, kConnections, clients, servers));
  auto send_all = [&]() -> Task<void> {
    for (int i = 0; i < kConnections; ++i) {
      sent.push_back(pattern(i, 20000 + static_cast<std::size_t>(i) * 977));
      const std::string& data = sent.back();
      for (std::size_t at = 0, piece = 1; at < data.size(); at += piece, piece = piece * 3 % 9001 + 1) {
        piece = std::min(piece, data.size() - at);
        bool ok = bool(co_await clients[i].send_all({reinterpret_cast<const std::uint8_t*>(data.data()) + at, piece}));
        REQUIRE(ok);
      }
      bool closed = bool(co_await clients[i].shutdown());
      REQUIRE(closed);
    }
  };
  reactor.sync_wait(send_all());
  std::vector<Collector> collectors(kConnections);
  for (int i = 0; i < kConnections; ++i) servers[i].start_receiving(collectors[i]);
  auto all_ended = [&] {
    for (const Collector& c : collectors) {
      if (!c.ended) return false;
    }
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!all_ended() && std::chrono::steady_clock::now() < deadline) reactor.run_once(100ms);
  for (int i = 0; i < kConnections; ++i) {
    INFO("connection " << i);
    CHECK(collectors[i].ended);
    CHECK_FALSE(collectors[i].error);
    CHECK(collectors[i].bytes.size() == sent[i].size());
    CHECK(collectors[i].bytes == sent[i]);
  }
  for (TcpStream& s : servers) s.stop_io();
  return {reactor.stats(), reactor.buffer_ring() ? reactor.buffer_ring()->buffers() : 0};
}

}  // namespace

TEST_CASE("push receives of 64 connections share a tiny incremental ring: every byte in order") {
  Reactor::Options options;
  options.receive_buffers = 2;
  options.receive_buffer_size = 4096;
  RingOutcome outcome = receive_through_ring(options);
  // 64 full sockets against 8 KiB of buffers: the ring runs dry and receives are re-armed.
  CHECK(outcome.stats.receive_buffer_shortages > 0);
  CHECK(outcome.ring_buffers == 2);
}

TEST_CASE("a receive ring that runs dry doubles, up to its capacity") {
  Reactor::Options options;
  options.receive_buffers_at_start = 1;
  options.receive_buffers = 8;
  options.receive_buffer_size = 4096;
  RingOutcome outcome = receive_through_ring(options);
  CHECK(outcome.stats.receive_buffer_shortages > 0);
  CHECK(outcome.ring_buffers == 8);  // 1 -> 2 -> 4 -> 8, never more
}

TEST_CASE("push receives in whole-buffer mode (kernels without incremental consumption)") {
  Reactor::Options options;
  options.incremental_receive_buffers = false;
  CHECK(receive_through_ring(options).ring_buffers == 128);
}

TEST_CASE("push receives without a buffer ring (older kernels): each connection's own buffer, every byte in order") {
  Reactor::Options options;
  options.incremental_receive_buffers = false;
  options.receive_buffer_ring = false;
  RingOutcome outcome = receive_through_ring(options);
  CHECK(outcome.ring_buffers == 0);
  CHECK(outcome.stats.receive_buffer_shortages == 0);
}

TEST_CASE("the reactor's receive ring consumes buffers incrementally where the kernel can") {
  Reactor reactor;
  io::BufferRing* ring = reactor.buffer_ring();
  REQUIRE(ring);
  if (!ring->incremental()) {
    WARN("this kernel has no incremental buffer consumption (Linux 6.12): whole-buffer mode");
    CHECK(ring->buffer_size() == 64 * 1024);
    return;
  }
  CHECK(ring->buffer_size() == 64 * 1024);
  CHECK(ring->buffers() == 2);  // more only when a burst finds it empty
}

namespace {

// The ring gives small receives whole pages of a buffer.
constexpr std::size_t kPage = 4096;
// The buffer size the bounds of the cases below were written for (the default is smaller).
constexpr std::size_t kRingBuffer = 128 * 1024;

// Connected pairs on a reactor whose receive ring the tests below watch: each server end
// delivers into its collector once receiving() starts.
struct RingPairs {
  Reactor reactor;
  std::vector<TcpStream> clients, servers;
  std::vector<Collector> collectors;
  std::vector<std::string> sent;  // all each client sent so far

  RingPairs(Reactor::Options options, int n) : reactor(options), collectors(n), sent(n) {
    REQUIRE(reactor.buffer_ring());
    auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
    REQUIRE(listener);
    reactor.sync_wait(connect_pairs(reactor, *listener, n, clients, servers));
  }
  ~RingPairs() {
    for (TcpStream& s : servers) s.stop_io();
  }
  io::BufferRing& ring() { return *reactor.buffer_ring_made(); }

  void start_receiving() {
    for (std::size_t i = 0; i < servers.size(); ++i) servers[i].start_receiving(collectors[i]);
  }
  // Client i sends data(i).
  void send(const std::function<std::string(int)>& data) {
    reactor.sync_wait([&]() -> Task<void> {
      for (std::size_t i = 0; i < clients.size(); ++i) {
        const std::string bytes = data(static_cast<int>(i));
        sent[i] += bytes;
        auto ok = co_await clients[i].send_all({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
        REQUIRE(ok);
      }
    }());
  }
  // Turns the reactor until every collector holds what its client sent (bounded), and checks it.
  void collect_all() {
    auto received_all = [&] {
      for (std::size_t i = 0; i < collectors.size(); ++i) {
        if (collectors[i].bytes.size() < sent[i].size()) return false;
      }
      return true;
    };
    for (int turn = 0; turn < 1000 && !received_all(); ++turn) reactor.run_once(100ms);
    for (std::size_t i = 0; i < collectors.size(); ++i) CHECK(collectors[i].bytes == sent[i]);
  }
  // Drops what collect_all() checked, so later rounds compare only their own bytes.
  void forget_checked() {
    for (std::string& s : sent) s.clear();
    for (Collector& c : collectors) c.bytes.clear();
  }
  // With nothing more to do, the first turn returns when the quiet-period trim comes due (not
  // after 10 s), and the next one trims before it waits.
  void run_until_trimmed() {
    const std::uint64_t before = reactor.stats().heap_trims;
    CHECK(reactor.run_once(10s));
    CHECK(reactor.run_once(10ms));
    CHECK(reactor.stats().heap_trims == before + 1);
  }
};

}  // namespace

TEST_CASE("after a quiet period the receive ring's pages go back to the system; later receives read every byte") {
  Reactor::Options options;
  options.heap_trim_after = 10ms;
  options.receive_buffers_at_start = 4;
  options.receive_buffer_size = kRingBuffer;
  RingPairs pairs(options, 4);
  if (!pairs.reactor.defers_task_work()) WSP_SKIP("no DEFER_TASKRUN here: the ring is never given back");
  pairs.start_receiving();
  // Each round sends 100,000 bytes per connection: 400 KB through the 512 KiB ring.
  pairs.send([](int i) { return pattern(i, 100000); });
  pairs.collect_all();
  CHECK(pairs.ring().resident_bytes() >= 256 * 1024);
  pairs.reactor.trim_heap_when_quiet();
  pairs.run_until_trimmed();
  CHECK(pairs.ring().resident_bytes() == 0);  // every piece was delivered: nothing kept
  // The same buffers, zero pages now: the bytes are right.
  pairs.send([](int i) { return pattern(i + 10, 100000); });
  pairs.collect_all();
  CHECK(pairs.ring().resident_bytes() > 0);
}

TEST_CASE("small receives keep four shares of a ring buffer resident, as large as their batches need; bulk receives get whole buffers") {
  Reactor::Options options;
  options.heap_trim_after = 0ms;  // no quiet-period trim: what stays resident is the ring's doing
  options.receive_buffers_at_start = 8;
  options.receive_buffer_size = kRingBuffer;
  RingPairs pairs(options, 8);
  if (!pairs.ring().incremental()) WSP_SKIP("no incremental consumption here: every receive takes a buffer");
  const std::size_t buffer = pairs.ring().buffer_size();
  pairs.start_receiving();
  // 1,200 rounds of 100 bytes from each of 8 connections: 960 KB through the 8 buffers, each
  // round's 800 bytes far less than the two pages a buffer starts with.
  for (int round = 0; round < 1200; ++round) {
    pairs.send([round](int i) { return pattern(i + round, 100); });
    pairs.collect_all();
  }
  CHECK(pairs.reactor.stats().receive_buffer_shortages == 0);
  CHECK(pairs.ring().buffers() == 8);
  CHECK(pairs.ring().small_receive_share() == 2 * kPage);
  // Four parked, four the kernel holds, each only in its first two pages (whole buffers: 512
  // KiB; quarters: 128 KiB; without parking: 8 shares).
  CHECK(pairs.ring().resident_bytes() <= 4 * 2 * kPage);

  // Bulk receives run the ring dry, which brings the parked buffers back whole, and the buffers
  // they empty go back whole: every byte arrives, some receives larger than a quarter.
  for (Collector& c : pairs.collectors) c.largest = 0;
  for (int round = 0; round < 3; ++round) {
    pairs.send([](int i) { return pattern(i, 300000); });
    pairs.collect_all();
  }
  CHECK(pairs.ring().resident_bytes() > 2 * buffer);
  CHECK(pairs.ring().small_receive_share() == buffer / 4);
  std::size_t largest = 0;
  for (const Collector& c : pairs.collectors) largest = std::max(largest, c.largest);
  CHECK(largest > buffer / 4);

  // Small receives again: each whole buffer they empty is parked or goes back short, its pages
  // given back, until the kernel holds four quarters again.
  for (int round = 0; round < 400; ++round) {
    pairs.send([round](int i) { return pattern(i + round, 1000); });
    pairs.collect_all();
    pairs.forget_checked();
  }
  CHECK(pairs.ring().resident_bytes() <= buffer);
}

TEST_CASE("small receives' share of a ring buffer grows to twice a batch of arrivals over four buffers") {
  Reactor::Options options;
  options.heap_trim_after = 0ms;
  options.receive_buffers_at_start = 8;
  options.receive_buffer_size = kRingBuffer;  // a quarter (8 pages) above the share expected
  RingPairs pairs(options, 8);
  if (!pairs.ring().incremental()) WSP_SKIP("no incremental consumption here: every receive takes a buffer");
  // Every socket holds 5,000 bytes before receiving starts: the first batch brings all 40,000
  // (the 8 buffers' two pages each hold 64 KiB), which four shares hold twice in 20,480 bytes
  // each (5 pages).
  pairs.send([](int i) { return pattern(i, 5000); });
  pairs.start_receiving();
  pairs.collect_all();
  pairs.reactor.run_once(10ms);  // the next batch weighs this one
  CHECK(pairs.reactor.stats().receive_buffer_shortages == 0);
  CHECK(pairs.ring().small_receive_share() == 5 * kPage);
  // Smaller batches later do not narrow it: a share that shrank would give pages back only to
  // fault them in again at the next such burst.
  for (int round = 0; round < 10; ++round) {
    pairs.send([round](int i) { return pattern(i + round, 100); });
    pairs.collect_all();
  }
  CHECK(pairs.ring().small_receive_share() == 5 * kPage);
}

TEST_CASE("a batch of arrivals that runs the receive ring dry gives small receives a quarter of a buffer at once") {
  Reactor::Options options;
  options.heap_trim_after = 0ms;
  options.receive_buffers_at_start = 4;
  RingPairs pairs(options, 8);  // two pages of each buffer given to the kernel
  if (!pairs.ring().incremental()) WSP_SKIP("no incremental consumption here: every receive takes a buffer");
  pairs.send([](int i) { return pattern(i, 10000); });  // 80,000 bytes against 32 KiB
  pairs.start_receiving();
  pairs.collect_all();
  pairs.reactor.run_once(10ms);
  CHECK(pairs.reactor.stats().receive_buffer_shortages > 0);
  CHECK(pairs.ring().small_receive_share() == pairs.ring().buffer_size() / 4);
  CHECK(pairs.ring().buffers() == 4);  // fewer than 16 receives starved in one batch
}

TEST_CASE("a burst that runs the receive ring dry gives the ring's pages back once it is over") {
  Reactor::Options options;
  options.heap_trim_after = 10ms;
  options.receive_buffers_at_start = 1;
  options.receive_buffers = 4;
  options.receive_buffer_size = 64 * 1024;
  RingPairs pairs(options, 8);
  if (!pairs.reactor.defers_task_work()) WSP_SKIP("no DEFER_TASKRUN here: the ring is never given back");
  // Every socket full before receiving starts: far more than one 64 KiB buffer.
  pairs.send([](int) { return pattern(1, 150000); });
  pairs.start_receiving();
  pairs.collect_all();
  REQUIRE(pairs.reactor.stats().receive_buffer_shortages > 0);
  CHECK(pairs.ring().resident_bytes() > 0);
  pairs.run_until_trimmed();  // no call of trim_heap_when_quiet: the shortages asked for it
  CHECK(pairs.ring().resident_bytes() == 0);
}

// --- push-style writes ----------------------------------------------------------------------

TEST_CASE("one sendmsg takes pieces until they hold the wanted bytes, at least one piece") {
  std::string header(10, 'h'), payload(65536, 'p'), small(100, 's');
  auto piece = [](std::string& s) { return iovec{s.data(), s.size()}; };
  const iovec frames[] = {piece(header), piece(payload), piece(header), piece(payload)};
  CHECK(io::pieces_for_one_send(frames, 64 * 1024) == 2);
  CHECK(io::pieces_for_one_send(std::span(frames).subspan(1), 64 * 1024) == 1);
  CHECK(io::pieces_for_one_send(frames, 128 * 1024) == 4);
  const iovec smalls[] = {piece(small), piece(small), piece(small)};
  CHECK(io::pieces_for_one_send(smalls, 64 * 1024) == 3);
  CHECK(io::pieces_for_one_send(smalls, 200) == 2);
  CHECK(io::pieces_for_one_send(smalls, 0) == 1);
}

namespace {

struct WriteDone final : testing_support::WriteOnly {
  bool done = false;
  std::error_code error;
  std::vector<std::size_t> progress;  // what each on_written_some() said
  void on_written(std::error_code e) override {
    done = true;
    error = e;
  }
  void on_written_some(std::size_t bytes) override {
    CHECK_FALSE(done);
    progress.push_back(bytes);
  }
};

}  // namespace

TEST_CASE("a push write of three frames of half a send goes out in two sendmsg calls, every byte in order, each announced as it went") {
  Reactor reactor;
  auto [client, server] = connected_pair(reactor);
  constexpr std::size_t kPayload = io::TcpPushIo::kEnoughForOneSend / 2;
  std::vector<std::string> frames;
  std::vector<iovec> parts;
  std::string expected;
  for (int i = 0; i < 3; ++i) {
    frames.push_back(std::string(10, static_cast<char>('a' + i)));
    frames.push_back(pattern(i, kPayload));
  }
  for (std::string& f : frames) {
    parts.push_back({f.data(), f.size()});
    expected += f;
  }
  // Read on another thread with plain recv: the reactor's only operations are the sends.
  std::string received;
  std::thread reader([&, fd = server.fd()] {
    char buffer[65536];
    while (received.size() < expected.size()) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
  });
  const std::uint64_t sqes_before = reactor.stats().sqes_submitted;
  WriteDone written;
  client.start_write(parts, written);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!written.done && std::chrono::steady_clock::now() < deadline) reactor.run_once(100ms);
  reader.join();
  CHECK(written.done);
  CHECK_FALSE(written.error);
  // The first two frames fill one send, the third takes another.
  CHECK(reactor.stats().sqes_submitted - sqes_before == 2);
  // After the first send: the memory of those frames may be reused before the end.
  CHECK(written.progress == std::vector<std::size_t>{2 * (10 + kPayload)});
  CHECK(received.size() == expected.size());
  CHECK(received == expected);
  client.stop_io();
}

namespace {

// Takes the first chunk and pauses, as a server opening does at the end of the request's head;
// then whatever still comes before the pause takes effect.
struct FirstChunkTaker final : testing_support::ReceiveOnly {
  std::string bytes;
  int chunks = 0;
  bool ended = false;
  bool on_received(std::span<const std::uint8_t> data) override {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    ++chunks;
    return false;
  }
  void on_receive_end(std::error_code) override { ended = true; }
};

}  // namespace

TEST_CASE("start_receiving again hands a paused stream over: the new handler gets the rest and the end, also an end the first was given") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::optional<TcpStream> client, server;
  auto open = [&]() -> Task<void> {
    auto c = co_await TcpStream::connect(reactor, "127.0.0.1", listener->local_port());
    auto s = co_await listener->accept();
    REQUIRE(c);
    REQUIRE(s);
    client = std::move(*c);
    server = std::move(*s);
  };
  reactor.sync_wait(open());
  // Both sends and the end are in the socket before the first receive: they may come in one
  // batch, so the first handler may be given the second part and the end after it paused.
  auto send = [&]() -> Task<void> {
    bool ok = bool(co_await client->send_all(bytes("head")));
    REQUIRE(ok);
    ok = bool(co_await client->send_all(bytes("frames")));
    REQUIRE(ok);
    ok = bool(co_await client->shutdown());
    REQUIRE(ok);
  };
  reactor.sync_wait(send());
  FirstChunkTaker first;
  server->start_receiving(first);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (first.chunks == 0 && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  REQUIRE(first.chunks >= 1);
  for (int i = 0; i < 10; ++i) reactor.run_once(5ms);  // anything late reaches `first`
  Collector second;
  server->start_receiving(second);
  while (!second.ended && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  CHECK(first.bytes + second.bytes == "headframes");
  CHECK(second.ended);
  CHECK_FALSE(second.error);
  server->stop_io();
}

namespace {

// Records each delivery and the end, in order.
struct EventLog final : testing_support::ReceiveOnly {
  std::vector<std::string> events;
  bool on_received(std::span<const std::uint8_t> data) override {
    events.emplace_back(reinterpret_cast<const char*>(data.data()), data.size());
    return true;
  }
  void on_receive_end(std::error_code e) override {
    events.push_back(e ? "end: " + e.message() : "end");
  }
};

}  // namespace

TEST_CASE("an end reaped in the same turn as the last bytes comes after them, once; a reset ends with its error") {
  for (const bool reset : {false, true}) {
    INFO((reset ? "reset" : "FIN"));
    Reactor reactor;
    // Named, not bound: clang 14 cannot capture structured bindings in the lambda below.
    std::pair<TcpStream, TcpStream> pair = connected_pair(reactor);
    TcpStream& client = pair.first;
    TcpStream& server = pair.second;
    EventLog log;
    if (reset) {
      server.start_receiving(log);
      linger hard{1, 0};
      REQUIRE(setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
      { TcpStream dropped = std::move(client); }  // plain close(2): RST, no FIN first
    } else {
      auto send = [&]() -> Task<void> {
        bool ok = bool(co_await client.send_all(bytes("last words")));
        REQUIRE(ok);
      };
      reactor.sync_wait(send());
      REQUIRE(::shutdown(client.fd(), SHUT_WR) == 0);  // both before the first receive
      server.start_receiving(log);
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while ((log.events.empty() || log.events.back().rfind("end", 0) != 0) &&
           std::chrono::steady_clock::now() < deadline) {
      reactor.run_once(10ms);
    }
    for (int i = 0; i < 5; ++i) reactor.run_once(5ms);  // a second end would come now
    if (reset) {
      CHECK(log.events == std::vector<std::string>{"end: " + io::errno_code(ECONNRESET).message()});
    } else {
      CHECK(log.events == std::vector<std::string>{"last words", "end"});
    }
    server.stop_io();
  }
}

TEST_CASE("stopping a stream whose write waits for a peer that does not read returns at once") {
  Reactor reactor;
  auto [client, server] = connected_pair(reactor);
  // Far more than the two sockets' buffers hold: the send goes out in part, then waits.
  std::string big = pattern(3, 64 * 1024 * 1024);
  const iovec part{big.data(), big.size()};
  WriteDone written;
  client.start_write({&part, 1}, written);
  for (int turn = 0; turn < 20; ++turn) reactor.run_once(10ms);
  REQUIRE_FALSE(written.done);
  // The cancelled send reports the bytes it wrote: the rest is dropped, not sent again (which
  // would wait for the peer forever).
  const auto start = std::chrono::steady_clock::now();
  client.stop_io();
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK_FALSE(written.done);
}

namespace {

// The table indexes of the sockets the kernel holds in `reactor`'s registered-file table
// (/proc/self/fdinfo of its ring): what the kernel has, not what the reactor counts.
std::vector<int> registered_sockets(Reactor& reactor) {
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(reactor.ring()->ring_fd));
  std::vector<int> indexes;
  std::string line;
  while (std::getline(info, line)) {
    int index = -1;
    char kind[8] = {};
    if (std::sscanf(line.c_str(), " %d: %7[a-z]", &index, kind) == 2 && std::string(kind) == "socket") {
      indexes.push_back(index);
    }
  }
  return indexes;
}

// What a round trip through a push-style server end saw while it was open.
struct RoundTrip {
  int server_fd = -1;
  std::vector<int> registered;  // the kernel's table while the server end was open
  std::uint64_t counted = 0;    // ReactorStats::files_registered then
};

// The client sends "question" with plain calls, the server end receives it and answers
// "answer" with push I/O, then is destroyed without a shutdown: only its close ends the
// connection, so the client must read the answer and then the end (within 10 s).
RoundTrip push_round_trip_then_close(Reactor& reactor) {
  auto [client, server_end] = connected_pair(reactor);
  auto server = std::make_unique<TcpStream>(std::move(server_end));
  RoundTrip trip{server->fd(), {}, 0};
  Collector received;
  server->start_receiving(received);
  trip.registered = registered_sockets(reactor);
  trip.counted = reactor.stats().files_registered;
  REQUIRE(::send(client.fd(), "question", 8, MSG_NOSIGNAL) == 8);
  CHECK(run_until(reactor, [&] { return received.bytes.size() >= 8; }));
  CHECK(received.bytes == "question");
  std::string answer = "answer";
  const iovec piece{answer.data(), answer.size()};
  WriteDone written;
  server->start_write({&piece, 1}, written);
  CHECK(run_until(reactor, [&] { return written.done; }));
  CHECK_FALSE(written.error);
  server.reset();
  CHECK(registered_sockets(reactor).empty());
  CHECK(reactor.stats().files_registered == 0);
  std::string got;
  bool ended = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ended && std::chrono::steady_clock::now() < deadline) {
    char buffer[64];
    const ssize_t n = ::recv(client.fd(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) got.append(buffer, static_cast<std::size_t>(n));
    if (n == 0) ended = true;
    if (n < 0) std::this_thread::sleep_for(1ms);
  }
  CHECK(got == "answer");
  CHECK(ended);
  return trip;
}

}  // namespace

TEST_CASE("push I/O puts its socket in the ring's file table and takes it out before the close: the peer reads the answer, then the end") {
  Reactor reactor;
  const RoundTrip trip = push_round_trip_then_close(reactor);
  CHECK(trip.registered == std::vector<int>{trip.server_fd});
  CHECK(trip.counted == 1);
}

TEST_CASE("a socket numbered beyond the ring's file table, or a reactor without one, is used by its descriptor") {
  Reactor::Options options;
  options.registered_file_slots = GENERATE(0u, 4u);
  Reactor reactor(options);
  const RoundTrip trip = push_round_trip_then_close(reactor);
  REQUIRE(trip.server_fd >= 4);
  CHECK(trip.registered.empty());
  CHECK(trip.counted == 0);
}
