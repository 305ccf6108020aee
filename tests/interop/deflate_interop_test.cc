// permessage-deflate against real peers nobody here wrote, both directions:
//   - python-websockets 10.4 (compression on by default there): ws_client.py against our
//     coroutine and poll servers, our coroutine client and WebSocketPeer against ws_server.py;
//   - Node's ws 8.18.0 with perMessageDeflate (ws_node_peer.js, installed by tools/setup.sh
//     into tests/interop/node_modules): its client against our coroutine server, our
//     coroutine client against its server.
// Each in both of our modes (shared, dedicated). Every message is checked byte for byte, and
// our side's counters show the messages really went compressed both ways.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/interop/child_process.h"
#include "tests/interop/drive.h"
#include "tests/skip.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using interop::await;
using interop::ChildProcess;
using Lines = std::vector<std::string>;
using Mode = wsp::DeflateOptions::Mode;

namespace {

constexpr long kLimit = 64L << 20;
const char* kNode = "/usr/bin/node";

wsp::DeflateOptions deflate(Mode mode) {
  wsp::DeflateOptions o;
  o.mode = mode;
  return o;
}

// What a connection's permessage-deflate did: "compressed N inflated M" (N, M > 0 expected).
std::string counters(const std::optional<wsp::DeflateView>& d) {
  if (!d) return "not negotiated";
  return std::string(d->stats().messages_compressed > 0 ? "compressed" : "NOT compressed") +
         (d->stats().messages_inflated > 0 ? " inflated" : " NOT inflated");
}

// The Node peer's runtime, or empty when `ws` is not installed.
std::string node_modules() {
  char resolved[PATH_MAX];
  if (!realpath(interop::runfile("wsp/tests/interop/ws_node_peer.js").c_str(), resolved)) return {};
  std::string dir(resolved);
  dir = dir.substr(0, dir.rfind('/')) + "/node_modules";
  struct stat st;
  return stat((dir + "/ws/package.json").c_str(), &st) == 0 ? dir : std::string();
}

class CoroutineServer {
 public:
  explicit CoroutineServer(Mode mode) : mode_(mode) {
    auto listener = io::TcpListener::bind(reactor_, "127.0.0.1", 0);
    REQUIRE(listener);
    listener_.emplace(std::move(*listener));
    reactor_.spawn(accept_loop());
  }
  ~CoroutineServer() {
    listener_->close();
    for (wsp::WebSocket* ws : open_) ws->abort();
    for (int i = 0; i < 200 && reactor_.detached_count() > 0; ++i) reactor_.run_once(5ms);
  }
  int port() const { return listener_->local_port(); }
  void pump() { reactor_.run_once(2ms); }
  std::vector<std::string> endings;

 private:
  io::Task<void> accept_loop() {
    for (;;) {
      auto tcp = co_await listener_->accept();
      if (!tcp) co_return;
      reactor_.spawn(echo(std::move(*tcp)));
    }
  }
  io::Task<void> echo(io::TcpStream tcp) {
    wsp::AcceptOptions options;
    options.limits.inbound_buffer_size = kLimit;
    options.limits.outbound_buffer_size = kLimit;
    options.deflate = deflate(mode_);
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), options);
    if (!ws) co_return;
    open_.insert(ws->get());
    for (;;) {
      wsp::Received message = co_await (*ws)->receive();
      if (message.closed) break;
      if (!co_await (*ws)->send(std::move(message.data), message.text)) break;
    }
    endings.push_back(counters((*ws)->connection().deflate()));
    open_.erase(ws->get());
  }

  Mode mode_;
  io::Reactor reactor_;
  std::optional<io::TcpListener> listener_;
  std::set<wsp::WebSocket*> open_;
};

class PollServer {
 public:
  explicit PollServer(Mode mode) : server_(reactor_), mode_(mode) {
    REQUIRE(server_.listen(0, "127.0.0.1") == wsp::OK);
  }
  int port() const { return server_.get_local_port(); }
  void pump() {
    while (server_.is_connection_available()) {
      auto peer = std::make_unique<wsp::WebSocketPeer>(reactor_);
      peer->set_inbound_buffer_size(static_cast<int>(kLimit));
      peer->set_outbound_buffer_size(static_cast<int>(kLimit));
      REQUIRE(peer->set_deflate(deflate(mode_)) == wsp::OK);
      REQUIRE(peer->accept_stream(server_.take_connection()) == wsp::OK);
      peers_.push_back(std::move(peer));
    }
    for (auto it = peers_.begin(); it != peers_.end();) {
      wsp::WebSocketPeer& peer = **it;
      peer.poll();
      while (peer.get_available_packet_count() > 0) {
        auto packet = peer.get_packet();
        peer.send(packet, peer.was_string_packet() ? wsp::WebSocketPeer::WRITE_MODE_TEXT
                                                  : wsp::WebSocketPeer::WRITE_MODE_BINARY);
      }
      if (peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED) {
        const wsp::DeflateStats s = peer.get_deflate_stats();
        endings.push_back(std::string(s.messages_compressed > 0 ? "compressed" : "NOT compressed") +
                          (s.messages_inflated > 0 ? " inflated" : " NOT inflated"));
        it = peers_.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(200us);
  }
  std::vector<std::string> endings;

 private:
  io::Reactor reactor_;
  wsp::TCPServer server_;
  Mode mode_;
  std::vector<std::unique_ptr<wsp::WebSocketPeer>> peers_;
};

// Runs a client process against `server`, driving the server meanwhile; returns its lines.
template <typename Server>
Lines run_client(Server& server, std::vector<std::string> argv) {
  ChildProcess client(argv);
  auto pump = [&] { server.pump(); };
  Lines lines = client.read_all(60s, pump);
  auto status = client.wait(10s, pump);
  if (status != 0) lines.push_back("exit status " + (status ? std::to_string(*status) : "(running)"));
  interop::poll_until(pump, [&] { return !server.endings.empty(); }, 5s);
  return lines;
}

std::string url_of(int port) { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }

Lines python_client(auto& server) {
  return run_client(server, {interop::kPython, interop::runfile("wsp/tests/interop/ws_client.py"),
                             url_of(server.port()), "deflate", "30000"});
}

const Lines kEchoed30000 = {"text 30000 ok", "binary 30000 ok", "fragmented 31000 ok", "small 10 ok"};

// A server peer process that prints "port N" first.
struct PeerServer {
  ChildProcess process;
  int port = 0;
  explicit PeerServer(std::vector<std::string> argv) : process(std::move(argv)) {
    auto line = process.read_line(15s);
    REQUIRE(line);
    REQUIRE(line->rfind("port ", 0) == 0);
    port = std::stoi(line->substr(5));
  }
};

std::string json_like(std::size_t size) {
  std::string s = "[";
  for (int i = 0; s.size() < size; ++i)
    s += "{\"id\":" + std::to_string(i) + ",\"name\":\"item " + std::to_string(i % 17) + "\"},";
  s.resize(size);
  return s;
}

// Our coroutine client against a server peer: asks for its extension answer, then echoes a
// large JSON-like text and a small one. Returns the lines to compare.
Lines coroutine_client(int port, Mode mode) {
  io::Reactor reactor;
  wsp::ConnectOptions options;
  options.limits.inbound_buffer_size = kLimit;
  options.limits.outbound_buffer_size = kLimit;
  options.deflate = deflate(mode);
  std::string reason;
  options.failure_reason = &reason;
  auto ws = await(reactor, wsp::connect(reactor, url_of(port), std::move(options)));
  if (!ws) return {"connect failed: " + reason};
  Lines lines;
  auto exchange = [&](const std::string& data) -> io::Task<std::string> {
    if (!co_await (*ws)->send(data, true)) co_return "send failed";
    wsp::Received r = co_await (*ws)->receive();
    co_return r.closed ? "closed" : r.data;
  };
  lines.push_back(await(reactor, exchange("!extensions")));
  const std::string big = json_like(200000);
  lines.push_back(await(reactor, exchange(big)) == big ? "big ok" : "big mismatch");
  lines.push_back(await(reactor, exchange("0123456789")));
  lines.push_back(counters((*ws)->connection().deflate()));
  await(reactor, (*ws)->close(1000, "bye"));
  return lines;
}

}  // namespace

// --- python-websockets ---------------------------------------------------------------------

TEMPLATE_TEST_CASE("python-websockets' compressed messages are inflated and echoed compressed by our servers",
                   "", CoroutineServer, PollServer) {
  {
    TestType server(Mode::shared);
    Lines expected{"extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover"};
    expected.insert(expected.end(), kEchoed30000.begin(), kEchoed30000.end());
    CHECK(python_client(server) == expected);
    CHECK(server.endings == Lines{"compressed inflated"});
  }
  {
    TestType server(Mode::dedicated);
    Lines expected{"extensions permessage-deflate"};
    expected.insert(expected.end(), kEchoed30000.begin(), kEchoed30000.end());
    CHECK(python_client(server) == expected);
    CHECK(server.endings == Lines{"compressed inflated"});
  }
}

TEST_CASE("our coroutine client compresses against python-websockets' server in both modes") {
  PeerServer python({interop::kPython, interop::runfile("wsp/tests/interop/ws_server.py")});
  CHECK(coroutine_client(python.port, Mode::shared) ==
        Lines{"extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=12; client_max_window_bits=12",
              "big ok", "0123456789", "compressed inflated"});
  CHECK(coroutine_client(python.port, Mode::dedicated) ==
        Lines{"extensions permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
              "big ok", "0123456789", "compressed inflated"});
}

TEST_CASE("WebSocketPeer with set_deflate compresses against python-websockets' server") {
  PeerServer python({interop::kPython, interop::runfile("wsp/tests/interop/ws_server.py")});
  io::Reactor reactor;
  wsp::WebSocketPeer peer(reactor);
  peer.set_inbound_buffer_size(4 << 20);
  peer.set_outbound_buffer_size(4 << 20);
  REQUIRE(peer.set_deflate(deflate(Mode::dedicated)) == wsp::OK);
  REQUIRE(peer.connect_to_url(url_of(python.port)) == wsp::OK);
  auto poll = [&] { peer.poll(); };
  REQUIRE(interop::poll_until(poll, [&] { return peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING; }));
  REQUIRE(peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN);
  REQUIRE(peer.get_negotiated_deflate());
  CHECK(peer.get_negotiated_deflate()->send_window_bits == 12);
  const std::string big = json_like(100000);
  REQUIRE(peer.send_text(big) == wsp::OK);
  REQUIRE(interop::poll_until(poll, [&] { return peer.get_available_packet_count() > 0; }));
  auto packet = peer.get_packet();
  CHECK(std::string(packet.begin(), packet.end()) == big);
  CHECK(peer.get_deflate_stats().messages_compressed == 1);
  CHECK(peer.get_deflate_stats().messages_inflated == 1);
  CHECK(peer.get_deflate_stats().bytes_after_compression < big.size() / 4);
  peer.close(1000);
  interop::poll_until(poll, [&] { return peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED; });
}

// --- Node ws ---------------------------------------------------------------------------------

TEST_CASE("Node ws' compressed messages, fragmented ones too, are echoed by our coroutine server") {
  const std::string modules = node_modules();
  if (modules.empty()) WSP_SKIP("Node's ws is not installed in tests/interop/node_modules (tools/setup.sh)");
  setenv("NODE_PATH", modules.c_str(), 1);
  const std::string script = interop::runfile("wsp/tests/interop/ws_node_peer.js");
  for (Mode mode : {Mode::shared, Mode::dedicated}) {
    CAPTURE(wsp::to_string(mode));
    CoroutineServer server(mode);
    const Lines lines = run_client(server, {kNode, script, "client", url_of(server.port()), "30000"});
    CHECK(lines == Lines{mode == Mode::shared
                             ? "extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover"
                             : "extensions permessage-deflate",
                         "text 30000 ok", "binary 30000 ok", "fragmented 31000 ok"});
    CHECK(server.endings == Lines{"compressed inflated"});
  }
}

TEST_CASE("our coroutine client compresses against Node ws' server in both modes") {
  const std::string modules = node_modules();
  if (modules.empty()) WSP_SKIP("Node's ws is not installed in tests/interop/node_modules (tools/setup.sh)");
  setenv("NODE_PATH", modules.c_str(), 1);
  PeerServer node({kNode, interop::runfile("wsp/tests/interop/ws_node_peer.js"), "server"});
  CHECK(coroutine_client(node.port, Mode::shared) ==
        Lines{"extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover",
              "big ok", "0123456789", "compressed inflated"});
  CHECK(coroutine_client(node.port, Mode::dedicated) ==
        Lines{"extensions permessage-deflate", "big ok", "0123456789", "compressed inflated"});
}

// --- options checked before anything goes on the wire ----------------------------------------

TEST_CASE("deflate options out of range are refused by connect() and set_deflate()") {
  io::Reactor reactor;
  wsp::ConnectOptions options;
  options.deflate = deflate(Mode::dedicated);
  options.deflate.window_bits = 16;
  std::string reason;
  options.failure_reason = &reason;
  auto ws = await(reactor, wsp::connect(reactor, "ws://127.0.0.1:9/", std::move(options)));
  CHECK(ws.error() == make_error_code(wsp::Errc::handshake_failed));
  CHECK(reason == "invalid deflate options: window_bits must be 8..15");

  wsp::WebSocketPeer peer(reactor);
  wsp::DeflateOptions bad = deflate(Mode::shared);
  bad.mem_level = 0;
  CHECK(peer.set_deflate(bad) == wsp::ERR_INVALID_PARAMETER);
  CHECK(peer.get_deflate().mode == Mode::off);
  CHECK(peer.set_deflate(deflate(Mode::shared)) == wsp::OK);
  CHECK(peer.get_deflate().mode == Mode::shared);
  CHECK_FALSE(peer.get_negotiated_deflate());
}
