// Broadcast chat server, coroutine style: every text message a client sends goes to every
// connected client (the sender included). A slow client only slows itself: each one has its
// own outbound queue, and a client whose queue stays full is dropped rather than waited for.
// A refused handshake is logged on stderr with its reason (at most 10 lines a second).
//
//   bazel run //examples:chat_server -- [--port 9002] [--deflate off|shared|dedicated]
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include "examples/echo_options.h"
#include "examples/refusal_log.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/signals.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tools/flags/flags.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

struct Room {
  io::Reactor& reactor;
  std::set<wsp::WebSocket*> members;
  RefusalLog refusals{[](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }};
  bool refusals_flush_pending = false;
  wsp::DeflateOptions deflate;

  void broadcast(const std::string& text) {
    for (wsp::WebSocket* member : members) {
      if (member->connection().send(true, text) == wsp::SendResult::buffer_full) {
        member->abort();  // cannot keep up: drop it instead of holding everyone back
      }
    }
  }
};

// Tells the refusals held back by the log once their second is over.
io::Task<void> flush_refusals(Room& room, RefusalLog::Clock::time_point when) {
  co_await io::sleep_for(room.reactor, std::max<io::Duration>(when - RefusalLog::Clock::now(), {}));
  room.refusals_flush_pending = false;
  room.refusals.flush();
}

io::Task<void> member(Room& room, io::TcpStream tcp) {
  auto remote = tcp.remote_address();
  std::string reason;
  wsp::AcceptOptions options;
  options.deflate = room.deflate;
  options.failure_reason = &reason;
  auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), options);
  if (!ws && ws.error() == wsp::Errc::handshake_refused) {
    room.refusals.refused((remote ? remote->to_string() : "?") + ": " + reason);
    if (auto when = room.refusals.flush_due(); when && !room.refusals_flush_pending) {
      room.refusals_flush_pending = true;
      room.reactor.spawn(flush_refusals(room, *when));
    }
  }
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

// The command line: a new option is a field and one line in parse_chat_options().
struct ChatOptions {
  int port = 9002;
  wsp::DeflateOptions deflate;
};

ChatOptions parse_chat_options(int argc, char** argv) {
  ChatOptions o;
  flags::Flags f("chat_server", "WebSocket broadcast chat: every text message goes to everyone.");
  f.add("--port", &o.port, 0, 65535, "port to listen on, 0 for any free one (default 9002)");
  add_deflate_flags(f, o.deflate);
  f.parse(argc, argv);  // a bad value: one line naming the flag, exit status 2
  if (std::string error; !wsp::valid_deflate_options(o.deflate, error)) f.fail("--deflate-*: " + error);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const ChatOptions options = parse_chat_options(argc, argv);
  io::Reactor reactor;
  Room room{reactor, {}};
  room.deflate = options.deflate;
  auto listener =
      io::TcpListener::bind(reactor, "127.0.0.1", static_cast<std::uint16_t>(options.port));
  if (!listener) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%d: %s\n", options.port,
                 listener.error().message().c_str());
    return 1;
  }
  reactor.spawn(stop_on_signal(room, *listener));
  reactor.spawn(accept_loop(room, *listener));
  std::printf("listening on 127.0.0.1:%d\n", listener->local_port());
  std::fflush(stdout);
  reactor.run();
  room.refusals.finish();
  return 0;
}
