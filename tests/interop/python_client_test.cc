// Our two servers against a real peer nobody here wrote: python-websockets 10.4 clients
// (tests/interop/ws_client.py, run with Debian's /usr/bin/python3; a few scenarios use a raw
// python socket). The servers run in this process on 127.0.0.1 with a port from the OS:
//   - CoroutineServer: io::TcpListener + wsp::accept + WebSocket::receive/send
//   - PollServer: TCPServer + WebSocketPeer::accept_stream + poll()
// Both echo every message with its type; the text "!close CODE REASON" makes them close with
// that code. They record how each connection ended ("closed CODE REASON" or "rejected").
#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/interop/child_process.h"
#include "tests/interop/drive.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using interop::ChildProcess;

namespace {

constexpr long kLimit = 64L << 20;

bool parse_close(const std::string& text, int& code, std::string& reason) {
  if (text.rfind("!close ", 0) != 0) return false;
  std::size_t space = text.find(' ', 7);
  code = std::stoi(text.substr(7, space - 7));
  reason = space == std::string::npos ? "" : text.substr(space + 1);
  return true;
}

class CoroutineServer {
 public:
  explicit CoroutineServer(std::vector<std::string> protocols = {}, bool require_match = false)
      : protocols_(std::move(protocols)), require_match_(require_match) {
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
    options.supported_protocols = protocols_;
    options.require_protocol_match = require_match_;
    options.limits.inbound_buffer_size = kLimit;
    options.limits.outbound_buffer_size = kLimit;
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), options);
    if (!ws) {
      endings.push_back("rejected");
      co_return;
    }
    open_.insert(ws->get());
    for (;;) {
      wsp::Received message = co_await (*ws)->receive();
      if (message.closed) {
        endings.push_back("closed " + std::to_string(message.close_code) + " " + message.close_reason);
        break;
      }
      int code;
      std::string reason;
      if (message.text && parse_close(message.data, code, reason)) {
        (*ws)->connection().close(code, reason);
        continue;
      }
      auto sent = co_await (*ws)->send(message.data, message.text);
      if (!sent) break;
    }
    open_.erase(ws->get());
  }

  io::Reactor reactor_;
  std::vector<std::string> protocols_;
  bool require_match_;
  std::optional<io::TcpListener> listener_;
  std::set<wsp::WebSocket*> open_;
};

class PollServer {
 public:
  explicit PollServer(std::vector<std::string> protocols = {})
      : server_(reactor_), protocols_(std::move(protocols)) {
    REQUIRE(server_.listen(0, "127.0.0.1") == wsp::OK);
  }
  int port() const { return server_.get_local_port(); }
  void pump() {
    while (server_.is_connection_available()) {
      auto peer = std::make_unique<wsp::WebSocketPeer>(reactor_);
      peer->set_supported_protocols(protocols_);
      peer->set_inbound_buffer_size(static_cast<int>(kLimit));
      peer->set_outbound_buffer_size(static_cast<int>(kLimit));
      REQUIRE(peer->accept_stream(server_.take_connection()) == wsp::OK);
      peers_.push_back(std::move(peer));
    }
    for (auto it = peers_.begin(); it != peers_.end();) {
      wsp::WebSocketPeer& peer = **it;
      bool was_open = peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING;
      peer.poll();
      while (peer.get_available_packet_count() > 0) {
        auto packet = peer.get_packet();
        std::string data(packet.begin(), packet.end());
        int code;
        std::string reason;
        if (peer.was_string_packet() && parse_close(data, code, reason)) {
          peer.close(code, reason);
        } else {
          peer.send(packet, peer.was_string_packet() ? wsp::WebSocketPeer::WRITE_MODE_TEXT
                                                    : wsp::WebSocketPeer::WRITE_MODE_BINARY);
        }
      }
      if (peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED) {
        endings.push_back(was_open ? "closed " + std::to_string(peer.get_close_code()) + " " +
                                         peer.get_close_reason()
                                   : "rejected");
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
  std::vector<std::string> protocols_;
  std::vector<std::unique_ptr<wsp::WebSocketPeer>> peers_;
};

// Runs ws_client.py SCENARIO ARGS against `server` (driving it meanwhile) and returns the
// lines it printed.
template <typename Server>
std::vector<std::string> run_client(Server& server, std::vector<std::string> scenario) {
  std::vector<std::string> argv{interop::kPython, interop::runfile("wsp/tests/interop/ws_client.py"),
                                "ws://127.0.0.1:" + std::to_string(server.port()) + "/"};
  argv.insert(argv.end(), scenario.begin(), scenario.end());
  ChildProcess client(argv);
  auto pump = [&] { server.pump(); };
  std::vector<std::string> lines = client.read_all(60s, pump);
  auto status = client.wait(10s, pump);
  if (status != 0) lines.push_back("exit status " + (status ? std::to_string(*status) : "(running)"));
  return lines;
}

// Drives `server` until it has recorded `count` endings (bounded).
template <typename Server>
std::vector<std::string> endings(Server& server, std::size_t count = 1) {
  interop::poll_until([&] { server.pump(); }, [&] { return server.endings.size() >= count; }, 5s);
  return server.endings;
}

using Lines = std::vector<std::string>;

}  // namespace

TEMPLATE_TEST_CASE("text from a python-websockets client is echoed as text", "", CoroutineServer,
                   PollServer) {
  TestType server;
  CHECK(run_client(server, {"text"}) == Lines{"text héllo wörld"});
}

TEMPLATE_TEST_CASE("binary from a python-websockets client is echoed as binary", "", CoroutineServer,
                   PollServer) {
  TestType server;
  CHECK(run_client(server, {"binary"}) == Lines{"binary True"});
}

TEMPLATE_TEST_CASE("1 MiB text and binary messages from python-websockets are echoed intact", "",
                   CoroutineServer, PollServer) {
  TestType server;
  Lines lines = run_client(server, {"big"});
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("sent text 1048576 ", 0) == 0);
  CHECK(lines[1] == "echo" + lines[0].substr(4));
  CHECK(lines[2].rfind("sent binary 1048576 ", 0) == 0);
  CHECK(lines[3] == "echo" + lines[2].substr(4));
}

TEMPLATE_TEST_CASE("a binary message python-websockets sends as 256 fragments is echoed intact", "",
                   CoroutineServer, PollServer) {
  TestType server;
  Lines lines = run_client(server, {"fragments", "256", "4096", "binary"});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("sent binary 1048576 ", 0) == 0);
  CHECK(lines[1] == "echo" + lines[0].substr(4));
}

TEMPLATE_TEST_CASE("a text message python-websockets sends as 256 fragments is echoed as text", "",
                   CoroutineServer, PollServer) {
  TestType server;
  Lines lines = run_client(server, {"fragments", "256", "4096", "text"});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("sent text 1048576 ", 0) == 0);
  CHECK(lines[1] == "echo" + lines[0].substr(4));
}

TEMPLATE_TEST_CASE("a ping from python-websockets is answered with a pong", "", CoroutineServer,
                   PollServer) {
  TestType server;
  CHECK(run_client(server, {"ping"}) == Lines{"pong received"});
}

TEMPLATE_TEST_CASE("python-websockets closing with 4000 \"bye\" is reported by our server as 4000/\"bye\"",
                   "", CoroutineServer, PollServer) {
  TestType server;
  // We echo the code without the reason (RFC 6455 §5.5.1 allows either).
  CHECK(run_client(server, {"close", "4000", "bye"}) == Lines{"closed 4000 "});
  CHECK(endings(server) == Lines{"closed 4000 bye"});
}

TEMPLATE_TEST_CASE("our server closing with 1001 is seen by python-websockets as 1001", "",
                   CoroutineServer, PollServer) {
  TestType server;
  CHECK(run_client(server, {"server-close", "1001", "going away"}) == Lines{"closed 1001 going away"});
  CHECK(endings(server) == Lines{"closed 1001 going away"});
}

TEMPLATE_TEST_CASE("our server selects the first of python-websockets' subprotocols it supports", "",
                   CoroutineServer, PollServer) {
  TestType server({"chat", "superchat"});
  CHECK(run_client(server, {"subprotocol", "v2.example,superchat,chat"}) == Lines{"protocol superchat"});
}

TEST_CASE("python-websockets offering no subprotocol WebSocketPeer supports gets HTTP 400") {
  PollServer server({"chat"});
  CHECK(run_client(server, {"rejected-subprotocol", "v2.example"}) == Lines{"rejected 400"});
  CHECK(endings(server) == Lines{"rejected"});
}

TEST_CASE("python-websockets offering no subprotocol wsp::accept supports is answered without one") {
  // RFC 6455 §4.2.2: no Sec-WebSocket-Protocol in the 101; python-websockets accepts that.
  CoroutineServer server({"chat"});
  CHECK(run_client(server, {"rejected-subprotocol", "v2.example"}) == Lines{"accepted None"});
  CHECK(endings(server) == Lines{"closed 1000 "});
}

TEST_CASE("python-websockets offering no subprotocol gets HTTP 400 from wsp::accept requiring a match") {
  CoroutineServer server({"chat"}, true);
  CHECK(run_client(server, {"rejected-subprotocol", "v2.example"}) == Lines{"rejected 400"});
  CHECK(endings(server) == Lines{"rejected"});
}

TEMPLATE_TEST_CASE("a handshake with Sec-WebSocket-Version 8 gets 426 naming version 13", "",
                   CoroutineServer, PollServer) {
  TestType server;
  CHECK(run_client(server, {"bad-version"}) ==
        Lines{"HTTP/1.1 426 Upgrade Required", "Sec-WebSocket-Version: 13"});
}

TEMPLATE_TEST_CASE("a plain HTTP GET without Upgrade gets 400", "", CoroutineServer, PollServer) {
  TestType server;
  CHECK(run_client(server, {"not-websocket"}) == Lines{"HTTP/1.1 400 Bad Request"});
}

TEMPLATE_TEST_CASE("invalid UTF-8 text from a raw python socket is answered with close 1007", "",
                   CoroutineServer, PollServer) {
  TestType server;
  CHECK(run_client(server, {"invalid-utf8"}) ==
        Lines{"HTTP/1.1 101 Switching Protocols", "opcode 8 code 1007 reason Invalid frame payload data"});
  CHECK(endings(server) == Lines{"closed 1007 Invalid frame payload data"});
}
