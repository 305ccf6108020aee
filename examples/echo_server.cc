// WebSocket echo server: sends every message back with the same type. Handshakes run without a
// task each (wsp::Acceptor). By default each connection is a wsp::MessageHandler the reactor
// calls with each message, so an idle connection holds no coroutine frame; --style coroutine
// runs a task per connection instead, which awaits a message and sends it back. SIGINT/SIGTERM
// close every connection with 1001, then exit 0.
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
void log_refusal(Server& server, const std::string& peer, const std::string& reason);
io::Task<void> secure_then_accept(Server& server, io::TcpStream tcp);

wsp::AcceptOptions accept_options(const EchoOptions& options) {
  wsp::AcceptOptions accept;
  accept.tls = bool(options.tls);
  accept.limits.inbound_buffer_size = options.inbound_buffer_size;
  accept.limits.outbound_buffer_size = options.outbound_buffer_size;
  accept.limits.max_queued_packets = options.max_queued_packets;
  accept.handshake_timeout = std::chrono::milliseconds(options.handshake_timeout_ms);
  accept.limits.heartbeat_interval = double(options.heartbeat_interval_ms) / 1000.0;
  accept.deflate = options.deflate;
  return accept;
}

// One per reactor thread: that thread's connections. Their WebSocket handshakes run without a
// task each (wsp::Acceptor); a TLS handshake first runs in a task of its own.
struct Server final : io::ServerShard, wsp::Acceptor {
  Server(io::Reactor& r, const EchoOptions& o)
      : Acceptor(accept_options(o)), reactor(r), options(o) {}
  ~Server() override;
  void accepted(io::TcpStream tcp) override {
    connections.accepted();
    if (options.tls) {
      reactor.spawn(secure_then_accept(*this, std::move(tcp)));
    } else {
      accept(std::make_unique<io::TcpStream>(std::move(tcp)));
    }
  }
  void on_accepted(std::unique_ptr<wsp::WebSocket> ws) override;
  void on_accept_failed(const wsp::AcceptFailure& failure) override {
    connections.refused();
    if (failure.error == wsp::Errc::handshake_refused) {
      log_refusal(*this, failure.peer, failure.reason);
    }
  }
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
  server.refusals.refused((peer.empty() ? "?" : peer) + ": " + reason);
  if (auto when = server.refusals.flush_due(); when && !server.refusals_flush_pending) {
    server.refusals_flush_pending = true;
    server.reactor.spawn(flush_refusals(server, *when));
  }
}

// wss://: the TLS handshake, then the WebSocket one.
io::Task<void> secure_then_accept(Server& server, io::TcpStream tcp) {
  auto secured = co_await tls::TlsStream::accept(std::move(tcp), server.options.tls, 10s);
  if (!secured) {
    server.connections.refused();
    co_return;
  }
  server.accept(std::move(*secured));
}

// One per open connection (the default style), called by the reactor with each message. While
// the output is full the message is held back (and receiving pauses) until the next write.
// It owns the WebSocket; deleting the handler ends the connection.
struct EchoHandler final : wsp::ShardConnections::Handler {
  EchoHandler(Server& server, std::unique_ptr<wsp::WebSocket> socket) {
    server.connections.opened(*this, std::move(socket));
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

void Server::on_accepted(std::unique_ptr<wsp::WebSocket> ws) {
  if (options.callback_style) {
    new EchoHandler(*this, std::move(ws));  // deletes itself at the close
  } else {
    reactor.spawn(echo(*this, std::move(ws)));
  }
}

io::Task<void> Server::shut_down() { return connections.close_all(reactor); }

Server::~Server() {
  // Handlers whose connection did not end within the shutdown's limit (coroutine frames are
  // the reactor's to destroy).
  if (options.callback_style) {
    connections.delete_open_handlers();
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
