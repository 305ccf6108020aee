// Broadcast chat server, coroutine style: every text message a client sends goes to every
// connected client (the sender included). A slow client only slows itself: each one has its
// own outbound queue, and a client whose queue stays full is dropped rather than waited for.
//
//   bazel run //examples:chat_server -- [--port 9002] [--deflate off|shared|dedicated]
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/signals.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

struct Room {
  io::Reactor& reactor;
  std::set<wsp::WebSocket*> members;
  wsp::DeflateOptions deflate;

  void broadcast(const std::string& text) {
    for (wsp::WebSocket* member : members) {
      if (member->connection().send(true, text) == wsp::SendResult::buffer_full) {
        member->abort();  // cannot keep up: drop it instead of holding everyone back
      }
    }
  }
};

io::Task<void> member(Room& room, io::TcpStream tcp) {
  wsp::AcceptOptions options;
  options.deflate = room.deflate;
  auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), options);
  if (!ws) co_return;
  room.members.insert(ws->get());
  room.broadcast("* someone joined (" + std::to_string(room.members.size()) + " here)");
  for (;;) {
    wsp::Received message = co_await (*ws)->receive();
    if (message.closed) break;
    if (message.text) room.broadcast(message.data);
  }
  room.members.erase(ws->get());
  room.broadcast("* someone left (" + std::to_string(room.members.size()) + " here)");
}

io::Task<void> accept_loop(Room& room, io::TcpListener& listener) {
  for (;;) {
    auto tcp = co_await listener.accept();
    if (!tcp) co_return;
    room.reactor.spawn(member(room, std::move(*tcp)));
  }
}

io::Task<void> stop_on_signal(Room& room, io::TcpListener& listener) {
  co_await io::wait_for_termination_signal(room.reactor);
  listener.close();
  for (wsp::WebSocket* ws : room.members) ws->connection().close(1001, "server shutting down");
  for (int i = 0; i < 100 && !room.members.empty(); ++i) co_await io::sleep_for(room.reactor, 50ms);
  room.reactor.stop();
}

}  // namespace

int main(int argc, char** argv) {
  int port = 9002;
  wsp::DeflateOptions deflate;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = std::atoi(argv[i + 1]);
    else if (flag == "--deflate" && wsp::parse_deflate_mode(argv[i + 1], deflate.mode)) {}
    else {
      std::fprintf(stderr, "usage: %s [--port 9002] [--deflate off|shared|dedicated]\n", argv[0]);
      return 2;
    }
  }
  io::Reactor reactor;
  Room room{reactor, {}, deflate};
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", static_cast<std::uint16_t>(port));
  if (!listener) {
    std::fprintf(stderr, "cannot listen on port %d: %s\n", port, listener.error().message().c_str());
    return 1;
  }
  reactor.spawn(stop_on_signal(room, *listener));
  reactor.spawn(accept_loop(room, *listener));
  std::printf("listening on 127.0.0.1:%d\n", listener->local_port());
  std::fflush(stdout);
  reactor.run();
  return 0;
}
