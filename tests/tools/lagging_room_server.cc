// A chat room that serves every member but a message's sender late, for wsp-load's fanout pacing
// tests: the sender gets its copy at once, every other member --lag-ms later (in order), like a
// server whose other reactor thread is slow to write to its half of the room, made extreme.
// Prints "listening on 127.0.0.1:PORT" (with --port 0, the port the OS gave) and runs until
// killed.
#include <chrono>
#include <cstdio>
#include <deque>
#include <list>
#include <memory>
#include <string>

#include "io/event.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/tools/roomy_accept.h"
#include "tools/flags/flags.h"
#include "wsp/websocket.h"

namespace {

using Clock = std::chrono::steady_clock;

struct LateCopy {
  Clock::time_point due;
  std::string data;
  bool text = false;
};

struct Member {
  explicit Member(io::Reactor& reactor) : queued(reactor) {}
  std::unique_ptr<wsp::WebSocket> ws;
  std::deque<LateCopy> late;
  io::Event queued;  // set when `late` gains a copy or the member leaves
  bool gone = false;
};

struct Room {
  io::Reactor& reactor;
  std::chrono::milliseconds lag;
  std::list<std::shared_ptr<Member>> members;
};

// Writes a member's late copies when they are due, one at a time so they stay in order.
io::Task<void> deliver_late(io::Reactor& reactor, std::shared_ptr<Member> m) {
  for (;;) {
    while (m->late.empty() && !m->gone) {
      m->queued.reset();
      co_await m->queued.wait();
    }
    if (m->gone) co_return;
    const auto wait = m->late.front().due - Clock::now();
    if (wait > Clock::duration::zero()) co_await io::sleep_for(reactor, wait);
    if (m->gone) co_return;
    LateCopy copy = std::move(m->late.front());
    m->late.pop_front();
    if (!co_await m->ws->send(std::move(copy.data), copy.text)) co_return;
  }
}

io::Task<void> serve(Room& room, io::TcpStream tcp) {
  auto ws = co_await tool_test::roomy_accept(std::move(tcp));
  if (!ws) co_return;
  auto me = std::make_shared<Member>(room.reactor);
  me->ws = std::move(*ws);
  const auto place = room.members.insert(room.members.end(), me);
  room.reactor.spawn(deliver_late(room.reactor, me));
  for (;;) {
    wsp::Received m = co_await me->ws->receive();
    if (m.closed) break;
    const Clock::time_point due = Clock::now() + room.lag;
    for (const std::shared_ptr<Member>& other : room.members) {
      if (other == me) continue;
      other->late.push_back({due, m.data, m.text});
      other->queued.set();
    }
    if (!co_await me->ws->send(std::move(m.data), m.text)) break;
  }
  room.members.erase(place);
  me->gone = true;
  me->queued.set();
}

io::Task<void> accept_loop(Room& room, io::TcpListener& listener) {
  for (;;) {
    auto tcp = co_await listener.accept();
    if (!tcp) co_return;
    room.reactor.spawn(serve(room, std::move(*tcp)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  long lag_ms = 0;
  flags::Flags f("lagging_room_server", "a chat room that serves all but a message's sender late");
  f.add("--port", &port, 0, 65535, "port (0: any)");
  f.add("--lag-ms", &lag_ms, 0L, 1L << 30, "how late the other members get each message");
  f.parse(argc, argv);
  io::Reactor reactor;
  Room room{reactor, std::chrono::milliseconds(lag_ms), {}};
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", static_cast<std::uint16_t>(port));
  if (!listener) return 1;
  std::printf("listening on 127.0.0.1:%d\n", listener->local_port());
  std::fflush(stdout);
  reactor.spawn(accept_loop(room, *listener));
  reactor.run();
  return 0;
}
