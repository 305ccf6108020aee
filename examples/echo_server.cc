// WebSocket echo server: sends every message back with the same type. By default each
// connection is a wsp::MessageHandler the reactor calls with each message, so an idle
// connection holds no coroutine frame; --style coroutine runs a task per connection instead,
// which awaits a message and sends it back. SIGINT/SIGTERM close every connection with 1001,
// then exit 0.
// A refused handshake is logged on stderr with its reason (at most 10 lines a second).
// --threads N runs N reactor threads (io::TcpServerPool), each with its own listener on the
// port, or with --accept one-acceptor one listener on the first thread that hands connections
// round-robin to all; a connection stays on the thread it was given to. With --print-stats,
// each thread's reactor counters go to stderr at exit, and with several threads the
// connections each was given.
//
//   bazel run //examples:echo_server -- --port 9001 [--threads 2] [--accept one-acceptor]
//       [--tls-cert cert.pem --tls-key key.pem] [--deflate shared|dedicated]
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "examples/echo_options.h"
#include "examples/refusal_log.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/signals.h"
#include "io/tcp_server_pool.h"
#include "io/tcp_stream.h"
#include "tls/tls_stream.h"
#include "wsp/message_handler.h"
#include "wsp/shard_connections.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

struct Server;
io::Task<void> serve(Server& server, io::TcpStream tcp);

// One per reactor thread: that thread's connections.
struct Server final : io::ServerShard {
  Server(io::Reactor& r, const EchoOptions& o) : reactor(r), options(o) {}
  ~Server() override;
  void accepted(io::TcpStream tcp) override { reactor.spawn(serve(*this, std::move(tcp))); }
  io::Task<void> shut_down() override;

  io::Reactor& reactor;
  const EchoOptions& options;
  wsp::ShardConnections connections;
  RefusalLog refusals{[](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }};
  bool refusals_flush_pending = false;
};

// Tells the refusals held back by the log once their second is over.
io::Task<void> flush_refusals(Server& server, RefusalLog::Clock::time_point when) {
  co_await io::sleep_for(server.reactor, std::max<io::Duration>(when - RefusalLog::Clock::now(), {}));
  server.refusals_flush_pending = false;
  server.refusals.flush();
}

void log_refusal(Server& server, const std::string& peer, const std::string& reason) {
  server.refusals.refused(peer + ": " + reason);
  if (auto when = server.refusals.flush_due(); when && !server.refusals_flush_pending) {
    server.refusals_flush_pending = true;
    server.reactor.spawn(flush_refusals(server, *when));
  }
}

// TLS (when configured) and the WebSocket handshake.
io::Task<io::Result<std::unique_ptr<wsp::WebSocket>>> open(Server& server, io::TcpStream tcp) {
  // Only for a refusal's log line; the frame holding it is gone once the connection is open.
  auto remote = tcp.remote_address();
  std::string peer = remote ? remote->to_string() : "?";
  std::unique_ptr<io::ByteStream> stream;
  if (server.options.tls) {
    auto secured = co_await tls::TlsStream::accept(std::move(tcp), server.options.tls, 10s);
    if (!secured) co_return secured.error();
    stream = std::move(*secured);
  } else {
    stream = std::make_unique<io::TcpStream>(std::move(tcp));
  }
  wsp::AcceptOptions accept_options;
  accept_options.tls = bool(server.options.tls);
  accept_options.limits.inbound_buffer_size = server.options.inbound_buffer_size;
  accept_options.limits.outbound_buffer_size = server.options.outbound_buffer_size;
  accept_options.limits.max_queued_packets = server.options.max_queued_packets;
  accept_options.handshake_timeout = std::chrono::milliseconds(server.options.handshake_timeout_ms);
  accept_options.limits.heartbeat_interval = double(server.options.heartbeat_interval_ms) / 1000.0;
  accept_options.deflate = server.options.deflate;
  std::string reason;
  accept_options.failure_reason = &reason;
  auto ws = co_await wsp::accept(std::move(stream), accept_options);
  if (!ws && ws.error() == wsp::Errc::handshake_refused) log_refusal(server, peer, reason);
  co_return ws;
}

// One per open connection (the default style), called by the reactor with each message. While
// the output is full the message is held back (and receiving pauses) until the next write.
// The node it is holds the WebSocket; deleting the handler ends the connection.
struct EchoHandler final : wsp::MessageHandler, wsp::ShardConnections::Node {
  EchoHandler(Server& server, std::unique_ptr<wsp::WebSocket> socket) {
    server.connections.opened(*this, std::move(socket));
    attach(*ws);
  }
  bool on_message(wsp::WebSocket& socket, wsp::Received& message) override {
    if (message.closed) {
      delete this;
      return true;
    }
    // Given away, as in the coroutine loop; a send refused for a closing connection is
    // dropped and the close follows.
    return socket.send_now(std::move(message.data), message.text) != wsp::Errc::no_room;
  }
};

// --style coroutine: one per open connection, for its whole life: its frame holds little more
// than the socket, the message in hand and the two awaitables.
io::Task<void> echo(Server& server, std::unique_ptr<wsp::WebSocket> socket) {
  wsp::ShardConnections::Node self;
  server.connections.opened(self, std::move(socket));
  wsp::WebSocket& ws = *self.ws;
  for (;;) {
    wsp::Received message = co_await ws.receive();
    if (message.closed) break;
    // Given away: a large message is written from its own buffer, which then receives the
    // next message (no copy, no allocation per message).
    auto sent = co_await ws.send(std::move(message.data), message.text);
    if (!sent) break;
  }
}

// The handshake, then the echo loop in a task of its own: this frame (the accepted socket,
// TLS and HTTP state) is gone once the connection is open.
io::Task<void> serve(Server& server, io::TcpStream tcp) {
  server.connections.accepted();
  auto ws = co_await open(server, std::move(tcp));
  if (!ws) {
    server.connections.refused();
    co_return;
  }
  if (server.options.callback_style) {
    new EchoHandler(server, std::move(*ws));  // deletes itself at the close
  } else {
    server.reactor.spawn(echo(server, std::move(*ws)));
  }
}

io::Task<void> Server::shut_down() { return connections.close_all(reactor); }

Server::~Server() {
  // Handlers whose connection did not end within the shutdown's limit (coroutine frames are
  // the reactor's to destroy).
  if (options.callback_style) {
    connections.release_open([](wsp::ShardConnections::Node& n) { delete static_cast<EchoHandler*>(&n); });
  }
  refusals.finish();
  if (options.print_stats) print_reactor_stats(reactor.stats());
}

}  // namespace

int main(int argc, char** argv) {
  const EchoOptions options = parse_echo_options("echo_server", argc, argv, true, true);
  io::TcpServerPool server({.host = options.host,
                            .port = static_cast<std::uint16_t>(options.port),
                            .threads = options.threads,
                            .reactor = options.reactor,
                            .accept = options.accept});
  auto served = server.serve(
      [&](std::size_t, io::Reactor& reactor) { return std::make_unique<Server>(reactor, options); },
      [&](std::uint16_t port) {
        std::printf("listening on %s:%u\n", options.host.c_str(), unsigned(port));
        std::fflush(stdout);
      });
  if (!served) {
    std::fprintf(stderr, "cannot listen on %s:%d: %s\n", options.host.c_str(), options.port,
                 served.error().message().c_str());
    return 1;
  }
  if (options.print_stats && server.connections_per_reactor().size() > 1) {
    print_connections_per_reactor(server.connections_per_reactor());
  }
  return 0;
}
