// io::TcpServerPool with Accept::one_acceptor: two reactor threads, thread 0 owns the only
// listener and hands connections round-robin to both. 200 wsp clients over real TCP on
// 127.0.0.1: each is echoed, the connections land 100 on each reactor, and stopping with all
// of them open gives each client its 1001 close. Run under --config=asan and --config=tsan.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/reactor_pool.h"
#include "io/tcp_server_pool.h"
#include "wsp/shard_connections.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

constexpr int kClients = 200;

struct EchoShard final : io::ServerShard {
  EchoShard(io::Reactor& r, std::thread::id& t) : reactor(r), thread(t) {}
  void accepted(io::TcpStream tcp) override {
    if (&tcp.reactor() != &reactor || std::this_thread::get_id() != thread) ++foreign;
    ++connections;
    reactor.spawn(serve(std::move(tcp)));
  }
  io::Task<void> shut_down() override { return open.close_all(reactor, 10s); }
  io::Task<void> serve(io::TcpStream tcp) {
    open.accepted();
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)));
    if (!ws) {
      open.refused();
      co_return;
    }
    wsp::ShardConnections::Node self;
    open.opened(self, std::move(*ws));
    wsp::WebSocket& socket = *self.ws;
    for (;;) {
      wsp::Received m = co_await socket.receive();
      if (m.closed) break;
      auto sent = co_await socket.send(std::move(m.data), m.text);
      if (!sent) break;
    }
  }

  io::Reactor& reactor;
  std::thread::id& thread;
  int connections = 0;  // read after serve() returned
  int foreign = 0;      // connections given on the wrong reactor or thread
  wsp::ShardConnections open;
};

struct Clients {
  std::uint16_t port = 0;
  std::atomic<int> echoed{0}, ended{0};
  std::vector<std::string> failures = std::vector<std::string>(kClients);
  std::vector<int> close_codes = std::vector<int>(kClients, 0);
};

io::Task<void> client(io::Reactor& reactor, Clients& all, int id) {
  auto ws = co_await wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(all.port) + "/");
  if (!ws) {
    all.failures[id] = "connect: " + ws.error().message();
    ++all.echoed, ++all.ended;
    co_return;
  }
  const std::string tag = "client " + std::to_string(id);
  auto sent = co_await (*ws)->send_text(tag);
  if (!sent) all.failures[id] = "send failed";
  wsp::Received echo = co_await (*ws)->receive();
  if (echo.closed || echo.data != tag || !echo.text) all.failures[id] = "no echo of " + tag;
  ++all.echoed;
  wsp::Received last = co_await (*ws)->receive();
  while (!last.closed) last = co_await (*ws)->receive();
  all.close_codes[id] = last.close_code;
  ++all.ended;
}

}  // namespace

TEST_CASE("one acceptor, two reactors, 200 clients: each is echoed, 100 land on each reactor, stop closes all with 1001") {
  io::TcpServerPool server({.host = "127.0.0.1",
                            .port = 0,
                            .threads = 2,
                            .reactor = {},
                            .backlog = 4096,
                            .accept = io::TcpServerPool::Accept::one_acceptor});
  std::vector<std::thread::id> threads(2);
  std::vector<int> connections(2, -1), foreign(2, -1);
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> served_ok{false};
  // Hands the shard's counts out when the server destroys it (on its own thread, before
  // serve() returns).
  struct Reporting final : io::ServerShard {
    Reporting(EchoShard* s, int& c, int& f) : shard(s), connections(c), foreign(f) {}
    ~Reporting() override {
      connections = shard->connections;
      foreign = shard->foreign;
      delete shard;
    }
    void accepted(io::TcpStream tcp) override { shard->accepted(std::move(tcp)); }
    io::Task<void> shut_down() override { return shard->shut_down(); }
    EchoShard* shard;
    int& connections;
    int& foreign;
  };
  std::thread serving([&] {
    auto served = server.serve(
        [&](std::size_t index, io::Reactor& reactor) -> std::unique_ptr<io::ServerShard> {
          threads[index] = std::this_thread::get_id();
          return std::make_unique<Reporting>(new EchoShard(reactor, threads[index]), connections[index],
                                             foreign[index]);
        },
        [&](std::uint16_t p) { port = p; });
    served_ok = served && *served == 0;
  });
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (port == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  REQUIRE(port != 0);

  Clients clients;
  clients.port = port;
  io::ReactorPool client_thread({.threads = 1, .reactor = {}});
  client_thread.start([&](std::size_t, io::Reactor& reactor) {
    for (int id = 0; id < kClients; ++id) reactor.spawn(client(reactor, clients, id));
    reactor.run_until_stopped();
    reactor.cancel_all();
  });
  deadline = std::chrono::steady_clock::now() + 60s;
  while (clients.echoed < kClients && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  CHECK(clients.echoed == kClients);
  server.stop();  // with every connection open
  serving.join();
  CHECK(served_ok);
  deadline = std::chrono::steady_clock::now() + 30s;
  while (clients.ended < kClients && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  client_thread.stop();
  client_thread.join();
  REQUIRE(clients.ended == kClients);

  int failures = 0, not_1001 = 0;
  for (int id = 0; id < kClients; ++id) {
    if (!clients.failures[id].empty() && failures++ < 5) FAIL_CHECK(clients.failures[id]);
    if (clients.close_codes[id] != 1001) ++not_1001;
  }
  CHECK(failures == 0);
  CHECK(not_1001 == 0);
  CHECK(connections == std::vector<int>{100, 100});
  CHECK(foreign == std::vector<int>{0, 0});
  CHECK(server.connections_per_reactor() == std::vector<std::uint64_t>{100, 100});
}
