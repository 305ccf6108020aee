// WebSocket echo server, poll style, with the documented API: TCPServer hands over streams,
// WebSocketPeer::accept_stream() upgrades them, and one loop polls every peer. When nothing
// happened in a pass the loop lets the reactor wait for I/O (up to 5 ms) instead of spinning.
// A refused handshake is logged on stderr with its reason (at most 10 lines a second).
//
//   bazel run //examples:echo_server_poll -- --port 9001 [--tls-cert cert.pem --tls-key key.pem]
//       [--deflate shared|dedicated]
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "examples/echo_options.h"
#include "examples/refusal_log.h"
#include "io/reactor.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;

namespace {

volatile sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

struct Client {
  std::unique_ptr<wsp::WebSocketPeer> peer;
  std::shared_ptr<wsp::StreamPeerTLS> tls;  // while the TLS handshake runs
  std::optional<std::pair<std::vector<std::uint8_t>, bool>> unsent;  // waits for outbound room
  std::string address;  // host:port, for the log line of a refused handshake
};

std::string address_of(const wsp::StreamPeerTCP& tcp) {
  std::string host = tcp.get_connected_host();
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(tcp.get_connected_port());
}

}  // namespace

int main(int argc, char** argv) {
  EchoOptions options = parse_echo_options("echo_server_poll", argc, argv);
  signal(SIGINT, request_stop);
  signal(SIGTERM, request_stop);

  io::Reactor reactor(options.reactor);
  wsp::TCPServer server(reactor);
  if (wsp::Error error = server.listen(options.port, options.host); error != wsp::OK) {
    std::fprintf(stderr, "cannot listen on %s:%d: %s\n", options.host.c_str(), options.port,
                 error == wsp::ERR_ALREADY_IN_USE ? "address already in use"
                 : error == wsp::ERR_INVALID_PARAMETER ? "invalid address"
                                                        : "cannot create the socket");
    return 1;
  }
  std::printf("listening on %s:%d\n", options.host.c_str(), server.get_local_port());
  std::fflush(stdout);

  RefusalLog refusals([](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  std::vector<Client> clients;
  auto start_websocket = [&](Client& c, std::shared_ptr<wsp::StreamPeer> stream) {
    c.peer = std::make_unique<wsp::WebSocketPeer>(reactor);
    c.peer->set_inbound_buffer_size(static_cast<int>(options.inbound_buffer_size));
    c.peer->set_outbound_buffer_size(static_cast<int>(options.outbound_buffer_size));
    c.peer->set_max_queued_packets(static_cast<int>(options.max_queued_packets));
    c.peer->set_deflate(options.deflate);
    c.peer->set_handshake_timeout(double(options.handshake_timeout_ms) / 1000.0);
    c.peer->set_heartbeat_interval(double(options.heartbeat_interval_ms) / 1000.0);
    c.peer->accept_stream(stream);
  };
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (true) {
    if (stop_requested && deadline == std::chrono::steady_clock::time_point::max()) {
      server.stop();
      deadline = std::chrono::steady_clock::now() + 5s;
    }
    if (stop_requested && (clients.empty() || std::chrono::steady_clock::now() > deadline)) break;

    bool busy = false;
    while (server.is_connection_available()) {
      Client c;
      auto tcp = server.take_connection();
      c.address = address_of(*tcp);
      if (options.tls) {
        c.tls = std::make_shared<wsp::StreamPeerTLS>(reactor);
        c.tls->accept_stream(tcp, options.tls);
      } else {
        start_websocket(c, tcp);
      }
      clients.push_back(std::move(c));
      busy = true;
    }
    for (Client& c : clients) {
      if (c.tls) {
        c.tls->poll();
        if (c.tls->get_status() == wsp::StreamPeerTLS::STATUS_CONNECTED) {
          start_websocket(c, c.tls);
          c.tls.reset();
        } else if (c.tls->get_status() != wsp::StreamPeerTLS::STATUS_HANDSHAKING) {
          c.tls.reset();  // failed handshake: drop the client
        }
        continue;
      }
      if (!c.peer) continue;
      c.peer->poll();
      // Stopping: each open connection gets the 1001 close; one still in its handshake gets it
      // once it opens (close() would drop it at once, with nothing sent).
      if (stop_requested && c.peer->get_ready_state() == wsp::WebSocketPeer::STATE_OPEN) {
        c.peer->close(1001, "server shutting down");
      }
      while (c.peer->get_ready_state() == wsp::WebSocketPeer::STATE_OPEN) {
        if (!c.unsent) {
          if (c.peer->get_available_packet_count() == 0) break;
          auto packet = c.peer->get_packet();
          c.unsent.emplace(std::move(packet), c.peer->was_string_packet());
        }
        auto mode = c.unsent->second ? wsp::WebSocketPeer::WRITE_MODE_TEXT : wsp::WebSocketPeer::WRITE_MODE_BINARY;
        if (c.peer->send(c.unsent->first, mode) == wsp::ERR_OUT_OF_MEMORY) break;  // retry later
        c.unsent.reset();
        busy = true;
      }
    }
    std::erase_if(clients, [&](const Client& c) {
      const bool gone =
          !c.tls && (!c.peer || c.peer->get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED);
      if (gone && c.peer && c.peer->get_refusal_status() != 0) {
        refusals.refused(c.address + ": " + c.peer->get_error_reason());
      }
      return gone;
    });
    refusals.flush();
    if (!busy) reactor.run_once(5ms);
  }
  refusals.finish();
  if (options.print_stats) print_reactor_stats(reactor.stats());
  return 0;
}
