// A server on two reactor threads (io::TcpServerPool) with rooms over wsp::PubSub, and 2,000
// wsp clients on two threads of their own, over real TCP on 127.0.0.1: every echo and every
// broadcast arrives once, in order per sender; then the server stops with every connection
// still open, and each client gets its 1001 close. Run under --config=asan and --config=tsan.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/file_descriptor.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/reactor_pool.h"
#include "io/tcp_server_pool.h"
#include "tests/skip.h"
#include "wsp/pubsub/pubsub.h"
#include "wsp/shard_connections.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

constexpr int kClients = 2000;
constexpr int kRooms = 40;  // 50 members each
constexpr int kRoomSize = kClients / kRooms;
constexpr int kEach = 3;    // messages of each kind per client

// Text is published to the client's room; binary is echoed to the sender alone.
struct RoomShard final : io::ServerShard {
  RoomShard(io::Reactor& r, wsp::PubSub& p) : reactor(r), pubsub(p) {}
  void accepted(io::TcpStream tcp) override { reactor.spawn(serve(std::move(tcp))); }
  io::Task<void> shut_down() override { return open.close_all(reactor, 20s); }
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
    const std::string url = socket.requested_url();
    const std::string room = url.substr(url.rfind('/') + 1);
    pubsub.subscribe(socket.connection(), room);
    socket.connection().send(true, std::string_view("welcome"));  // subscribed from here on
    for (;;) {
      wsp::Received m = co_await socket.receive();
      if (m.closed) break;
      if (m.text) {
        pubsub.publish(room, m.data, true);
      } else if (!co_await socket.send(std::move(m.data), false)) {
        break;
      }
    }
  }

  io::Reactor& reactor;
  wsp::PubSub& pubsub;
  wsp::ShardConnections open;
};

struct Outcome {
  std::string failure;  // empty: every message as expected
  int close_code = 0;
};

struct Clients {
  std::uint16_t port = 0;
  std::atomic<int> ready{0}, done{0}, ended{0};
  std::vector<Outcome> outcomes = std::vector<Outcome>(kClients);
};

io::Task<void> client(io::Reactor& reactor, Clients& all, int id) {
  Outcome& out = all.outcomes[id];
  const int room = id % kRooms;
  auto ws = co_await wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(all.port) + "/rooms/" +
                                                std::to_string(room));
  if (!ws) {
    out.failure = "connect: " + ws.error().message();
    ++all.ready, ++all.done, ++all.ended;
    co_return;
  }
  wsp::Received welcome = co_await (*ws)->receive();
  if (welcome.data != "welcome") out.failure = "no welcome";
  ++all.ready;
  while (all.ready < kClients) co_await io::sleep_for(reactor, 5ms);
  for (int k = 0; k < kEach; ++k) {
    const std::string tag = std::to_string(id) + ":" + std::to_string(k);
    // Results taken into variables first: gcc 12 miscompiles `co_await` inside a loop's `if`.
    auto text_sent = co_await (*ws)->send_text(tag);
    auto binary_sent = co_await (*ws)->send_binary(tag);
    if ((!text_sent || !binary_sent) && out.failure.empty()) out.failure = "send failed at " + tag;
  }
  // Per sender of the room, the next k expected; and the next echo.
  std::vector<int> next(kClients, 0);
  int echoes = 0, broadcasts = 0;
  while (out.failure.empty() && (echoes < kEach || broadcasts < kEach * kRoomSize)) {
    wsp::Received m = co_await (*ws)->receive();
    if (m.closed) {
      out.failure = "closed early with " + std::to_string(m.close_code);
      break;
    }
    const std::size_t colon = m.data.find(':');
    const int sender = std::stoi(m.data.substr(0, colon));
    const int k = std::stoi(m.data.substr(colon + 1));
    if (!m.text) {
      if (sender != id || k != echoes) out.failure = "echo out of order: " + m.data;
      ++echoes;
    } else {
      if (sender % kRooms != room || k != next[sender]) out.failure = "broadcast out of order: " + m.data;
      ++next[sender];
      ++broadcasts;
    }
  }
  ++all.done;
  // Nothing more may come but the server's close.
  wsp::Received last = co_await (*ws)->receive();
  if (!last.closed && out.failure.empty()) out.failure = "a message after the last: " + last.data;
  while (!last.closed) last = co_await (*ws)->receive();
  out.close_code = last.close_code;
  ++all.ended;
}

}  // namespace

TEST_CASE("two reactors, 2,000 clients: every echo and broadcast arrives once, in order; stop closes all with 1001") {
  if (const auto limit = io::raise_open_files_limit(); limit < 2 * kClients + 200) {
    WSP_SKIP("the open-files limit (" << limit << ") is below " << 2 * kClients + 200);
  }
  io::TcpServerPool server({.host = "127.0.0.1", .port = 0, .threads = 2, .reactor = {}, .backlog = 4096});
  std::unique_ptr<wsp::PubSub> pubsub;
  std::once_flag pubsub_made;
  Clients clients;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> served_ok{false};
  std::thread serving([&] {
    auto served = server.serve(
        [&](std::size_t, io::Reactor& reactor) {
          std::call_once(pubsub_made, [&] { pubsub = std::make_unique<wsp::PubSub>(server.reactors()); });
          return std::make_unique<RoomShard>(reactor, *pubsub);
        },
        [&](std::uint16_t p) { port = p; });
    served_ok = served && *served == 0;
  });
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (port == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  REQUIRE(port != 0);
  clients.port = port;

  io::ReactorPool client_threads({.threads = 2, .reactor = {}});
  client_threads.start([&](std::size_t index, io::Reactor& reactor) {
    for (int id = static_cast<int>(index); id < kClients; id += 2) reactor.spawn(client(reactor, clients, id));
    reactor.run_until_stopped();
    reactor.cancel_all();
  });
  deadline = std::chrono::steady_clock::now() + 240s;
  while (clients.done < kClients && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  CHECK(clients.done == kClients);
  // Every client is still connected: the server stops with 2,000 open connections.
  server.stop();
  serving.join();
  CHECK(served_ok);
  deadline = std::chrono::steady_clock::now() + 30s;
  while (clients.ended < kClients && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  client_threads.stop();
  client_threads.join();
  REQUIRE(clients.ended == kClients);
  int failures = 0, not_1001 = 0;
  for (const Outcome& o : clients.outcomes) {
    if (!o.failure.empty() && failures++ < 5) FAIL_CHECK(o.failure);
    if (o.close_code != 1001) ++not_1001;
  }
  CHECK(failures == 0);
  CHECK(not_1001 == 0);
  const wsp::PubSubStats stats = pubsub->stats();
  CHECK(stats.published == kClients * kEach);
  CHECK(stats.delivered == std::uint64_t{kClients} * kEach * kRoomSize);
  CHECK(stats.dropped == 0);
}
