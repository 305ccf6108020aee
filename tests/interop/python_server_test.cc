// Our two clients against a real peer nobody here wrote: a python-websockets 10.4 server
// (tests/interop/ws_server.py, run with Debian's /usr/bin/python3), started and killed by each
// test on 127.0.0.1 with a port from the OS.
//   - the coroutine client: wsp::connect + WebSocket::send/receive/close
//   - the poll() façade: WebSocketPeer::connect_to_url + poll()
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "tests/interop/child_process.h"
#include "tests/interop/drive.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using interop::await;
using interop::ChildProcess;

namespace {

// A python-websockets echo server; see ws_server.py for its commands.
struct PythonServer {
  ChildProcess process;
  int port = 0;

  explicit PythonServer(std::vector<std::string> options = {})
      : process(arguments(std::move(options))) {
    auto line = process.read_line(15s);
    REQUIRE(line);
    REQUIRE(line->rfind("port ", 0) == 0);
    port = std::stoi(line->substr(5));
  }
  static std::vector<std::string> arguments(std::vector<std::string> options) {
    std::vector<std::string> argv{interop::kPython, interop::runfile("wsp/tests/interop/ws_server.py")};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }
  // The server's next line of output, "(none)" if it prints nothing within 10 s.
  std::string next_line() { return process.read_line(10s).value_or("(none)"); }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }
};

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

std::string letters(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

wsp::ConnectOptions large_limits() {
  wsp::ConnectOptions options;
  options.limits.inbound_buffer_size = 4 << 20;
  options.limits.outbound_buffer_size = 4 << 20;
  return options;
}

// --- the coroutine client ---------------------------------------------------------------------

struct CoroutineClient {
  io::Reactor reactor;
  std::unique_ptr<wsp::WebSocket> ws;

  explicit CoroutineClient(const std::string& url, wsp::ConnectOptions options = large_limits()) {
    auto connected = await(reactor, wsp::connect(reactor, url, std::move(options)));
    REQUIRE(connected);
    ws = std::move(*connected);
  }
  ~CoroutineClient() {
    if (ws) ws->abort();
  }
  bool send(const std::string& data, bool text) {
    // send() and receive() are awaitables, not Tasks: wrapped for the bounded driver.
    auto send_one = [](wsp::WebSocket& socket, const std::string& bytes,
                       bool is_text) -> io::Task<io::Result<void>> {
      co_return co_await socket.send(bytes, is_text);
    };
    return bool(await(reactor, send_one(*ws, data, text)));
  }
  wsp::Received receive() {
    auto next = [](wsp::WebSocket& socket) -> io::Task<wsp::Received> { co_return co_await socket.receive(); };
    return await(reactor, next(*ws));
  }
};

}  // namespace

TEST_CASE("coroutine client: text sent to a python-websockets server comes back as text") {
  PythonServer server;
  CoroutineClient client(server.url());
  REQUIRE(client.send("héllo wörld", true));
  wsp::Received r = client.receive();
  CHECK_FALSE(r.closed);
  CHECK(r.text);
  CHECK(r.data == "héllo wörld");
}

TEST_CASE("coroutine client: binary sent to a python-websockets server comes back as binary") {
  PythonServer server;
  CoroutineClient client(server.url());
  REQUIRE(client.send(pattern(256), false));
  wsp::Received r = client.receive();
  CHECK_FALSE(r.closed);
  CHECK_FALSE(r.text);
  CHECK(r.data == pattern(256));
}

TEST_CASE("coroutine client: 1 MiB text and binary messages round-trip through python-websockets") {
  PythonServer server;
  CoroutineClient client(server.url());
  REQUIRE(client.send(letters(1 << 20), true));
  wsp::Received text = client.receive();
  CHECK(text.text);
  CHECK(text.data == letters(1 << 20));
  REQUIRE(client.send(pattern(1 << 20), false));
  wsp::Received binary = client.receive();
  CHECK_FALSE(binary.text);
  CHECK(binary.data == pattern(1 << 20));
}

TEST_CASE("coroutine client: a message python-websockets sends as 64 fragments arrives as one") {
  PythonServer server;
  CoroutineClient client(server.url());
  REQUIRE(client.send("!fragments 64 16384", true));
  wsp::Received r = client.receive();
  CHECK_FALSE(r.text);
  std::string expected;
  for (int i = 0; i < 64; ++i) expected += pattern(16384);
  CHECK(r.data.size() == 64 * 16384);
  CHECK(r.data == expected);
}

TEST_CASE("coroutine client: a ping from python-websockets is answered with a pong") {
  PythonServer server;
  CoroutineClient client(server.url());
  REQUIRE(client.send("!ping", true));
  wsp::Received r = client.receive();
  CHECK(r.data == "pong received");
}

TEST_CASE("coroutine client: python-websockets answers our heartbeat pings") {
  PythonServer server;
  wsp::ConnectOptions options;
  options.limits.heartbeat_interval = 0.1;
  const auto start = std::chrono::steady_clock::now();
  CoroutineClient client(server.url(), options);
  // Unanswered, a ping drops the connection at the next tick: the server counting five of our
  // pings while the connection stays open means each was answered. Asked until then, however
  // slowly this machine gets there.
  int pings = 0;
  while (pings < 5 && client.ws->is_open() && std::chrono::steady_clock::now() < start + 30s) {
    interop::run_for(client.reactor, 100ms);  // one interval between questions
    REQUIRE(client.send("!pings", true));
    wsp::Received r = client.receive();
    REQUIRE(r.data.rfind("pings ", 0) == 0);
    pings = std::stoi(r.data.substr(6));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(client.ws->is_open());
  CHECK(pings >= 5);
  CHECK(pings <= seconds / 0.1 + 1);  // never more often than the interval
}

namespace {

// Sends `command`, after which the python server ends the connection: checks the close that
// receive() reports and the close the server saw.
void expect_close_after(const std::string& command, int code, const std::string& reason,
                        const std::string& server_saw) {
  PythonServer server;
  CoroutineClient client(server.url());
  REQUIRE(client.send(command, true));
  wsp::Received r = client.receive();
  CHECK(r.closed);
  CHECK(r.close_code == code);
  CHECK(r.close_reason == reason);
  CHECK(server.next_line() == server_saw);
}

}  // namespace

TEST_CASE("coroutine client: python-websockets closing with 4000 \"bye\" is reported as 4000/\"bye\"") {
  // We echo the peer's code without its reason (RFC 6455 §5.5.1 allows either).
  expect_close_after("!close 4000 bye", 4000, "bye", "closed 4000 ");
}

TEST_CASE("coroutine client: our close with 1001 is seen by python-websockets as 1001") {
  PythonServer server;
  CoroutineClient client(server.url());
  await(client.reactor, client.ws->close(1001, "going away"));
  CHECK(client.ws->close_code() == 1001);
  CHECK(client.ws->close_reason() == "going away");
  CHECK(server.next_line() == "closed 1001 going away");
}

TEST_CASE("coroutine client: python-websockets selects the one subprotocol we offer that it supports") {
  PythonServer server({"--subprotocols", "chat,superchat"});
  wsp::ConnectOptions options;
  options.protocols = {"v2.example", "chat"};
  CoroutineClient client(server.url(), options);
  CHECK(client.ws->selected_protocol() == "chat");
  REQUIRE(client.send("!protocol", true));
  CHECK(client.receive().data == "protocol chat");
}

TEST_CASE("coroutine client: invalid UTF-8 text from python-websockets closes the connection with 1007") {
  expect_close_after("!bad-utf8", 1007, "Invalid frame payload data",
                     "closed 1007 Invalid frame payload data");
}

// --- the WebSocketPeer façade --------------------------------------------------------------------

namespace {

struct PeerClient {
  io::Reactor reactor;
  wsp::WebSocketPeer peer{reactor};

  explicit PeerClient(const std::string& url, std::vector<std::string> protocols = {},
                      double heartbeat = 0) {
    peer.set_inbound_buffer_size(4 << 20);
    peer.set_outbound_buffer_size(4 << 20);
    peer.set_supported_protocols(std::move(protocols));
    peer.set_heartbeat_interval(heartbeat);
    REQUIRE(peer.connect_to_url(url) == wsp::OK);
    REQUIRE(poll_until([&] { return peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING; }));
    REQUIRE(peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN);
  }
  bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    return interop::poll_until([&] { peer.poll(); }, done, timeout);
  }
  // The next packet as a string, or "(none)" when none arrives in time.
  std::string next_packet() {
    if (!poll_until([&] { return peer.get_available_packet_count() > 0; })) return "(none)";
    auto packet = peer.get_packet();
    return std::string(packet.begin(), packet.end());
  }
  bool poll_until_closed() {
    return poll_until([&] { return peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED; });
  }
};

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("WebSocketPeer: text sent to a python-websockets server comes back as text") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.send_text("héllo wörld") == wsp::OK);
  CHECK(client.next_packet() == "héllo wörld");
  CHECK(client.peer.was_string_packet());
}

TEST_CASE("WebSocketPeer: a put_packet() to a python-websockets server comes back as binary") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.put_packet(bytes(pattern(256))) == wsp::OK);
  CHECK(client.next_packet() == pattern(256));
  CHECK_FALSE(client.peer.was_string_packet());
}

TEST_CASE("WebSocketPeer: 1 MiB text and binary messages round-trip through python-websockets") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.send_text(letters(1 << 20)) == wsp::OK);
  CHECK(client.next_packet() == letters(1 << 20));
  CHECK(client.peer.was_string_packet());
  REQUIRE(client.peer.put_packet(bytes(pattern(1 << 20))) == wsp::OK);
  CHECK(client.next_packet() == pattern(1 << 20));
  CHECK_FALSE(client.peer.was_string_packet());
}

TEST_CASE("WebSocketPeer: a message python-websockets sends as 64 fragments is one packet") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.send_text("!fragments 64 16384") == wsp::OK);
  std::string expected;
  for (int i = 0; i < 64; ++i) expected += pattern(16384);
  CHECK(client.next_packet() == expected);
  CHECK_FALSE(client.peer.was_string_packet());
  CHECK(client.peer.get_available_packet_count() == 0);
}

TEST_CASE("WebSocketPeer: a ping from python-websockets is answered with a pong") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.send_text("!ping") == wsp::OK);
  CHECK(client.next_packet() == "pong received");
}

TEST_CASE("WebSocketPeer: python-websockets answers our heartbeat pings") {
  PythonServer server;
  const auto start = std::chrono::steady_clock::now();
  PeerClient client(server.url(), {}, 0.1);
  // As for the coroutine client: five pings counted by the server while the connection stays
  // open, asked until then.
  int pings = 0;
  while (pings < 5 && client.peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN &&
         std::chrono::steady_clock::now() < start + 30s) {
    client.poll_until([] { return false; }, 100ms);  // one interval between questions
    REQUIRE(client.peer.send_text("!pings") == wsp::OK);
    std::string answer = client.next_packet();
    REQUIRE(answer.rfind("pings ", 0) == 0);
    pings = std::stoi(answer.substr(6));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(client.peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN);
  CHECK(pings >= 5);
  CHECK(pings <= seconds / 0.1 + 1);  // never more often than the interval
}

TEST_CASE("WebSocketPeer: python-websockets closing with 4000 \"bye\" is reported as 4000/\"bye\"") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.send_text("!close 4000 bye") == wsp::OK);
  REQUIRE(client.poll_until_closed());
  CHECK(client.peer.get_close_code() == 4000);
  CHECK(client.peer.get_close_reason() == "bye");
  // We echo the peer's code without its reason (RFC 6455 §5.5.1 allows either).
  CHECK(server.next_line() == "closed 4000 ");
}

TEST_CASE("WebSocketPeer: our close with 1001 is seen by python-websockets as 1001") {
  PythonServer server;
  PeerClient client(server.url());
  client.peer.close(1001, "going away");
  CHECK(client.peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSING);
  REQUIRE(client.poll_until_closed());
  CHECK(client.peer.get_close_code() == 1001);
  CHECK(client.peer.get_close_reason() == "going away");
  CHECK(server.next_line() == "closed 1001 going away");
}

TEST_CASE("WebSocketPeer: python-websockets selects the one subprotocol we offer that it supports") {
  PythonServer server({"--subprotocols", "chat,superchat"});
  PeerClient client(server.url(), {"v2.example", "chat"});
  CHECK(client.peer.get_selected_protocol() == "chat");
  REQUIRE(client.peer.send_text("!protocol") == wsp::OK);
  CHECK(client.next_packet() == "protocol chat");
}

TEST_CASE("WebSocketPeer: a python-websockets server that picks no subprotocol fails the handshake") {
  PythonServer server;  // supports none
  io::Reactor reactor;
  wsp::WebSocketPeer peer(reactor);
  peer.set_supported_protocols({"chat"});
  REQUIRE(peer.connect_to_url(server.url()) == wsp::OK);
  REQUIRE(interop::poll_until([&] { peer.poll(); },
                              [&] { return peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING; }));
  CHECK(peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED);
  CHECK(peer.get_close_code() == -1);
}

TEST_CASE("WebSocketPeer: python-websockets' reason for refusing the handshake reaches get_error_reason") {
  PythonServer server({"--origins", "https://good.example"});
  io::Reactor reactor;
  wsp::WebSocketPeer peer(reactor);
  peer.set_handshake_headers({"Origin: https://evil.example"});
  REQUIRE(peer.connect_to_url(server.url()) == wsp::OK);
  REQUIRE(interop::poll_until([&] { peer.poll(); },
                              [&] { return peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING; }));
  CHECK(peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED);
  CHECK(peer.get_refusal_status() == 403);
  CHECK(peer.get_error_reason() ==
        "server refused the handshake: 403 Forbidden: Failed to open a WebSocket connection: "
        "invalid Origin header: https://evil.example.");
}

TEST_CASE("coroutine client: python-websockets' reason for refusing the handshake is the failure reason") {
  PythonServer server({"--origins", "https://good.example"});
  io::Reactor reactor;
  std::string reason;
  wsp::ConnectOptions options;
  options.extra_headers = {"Origin: https://evil.example"};
  options.failure_reason = &reason;
  auto ws = await(reactor, wsp::connect(reactor, server.url(), options));
  CHECK(ws.error() == wsp::Errc::handshake_refused);
  CHECK(reason ==
        "server refused the handshake: 403 Forbidden: Failed to open a WebSocket connection: "
        "invalid Origin header: https://evil.example.");
}

TEST_CASE("WebSocketPeer: invalid UTF-8 text from python-websockets closes the connection with 1007") {
  PythonServer server;
  PeerClient client(server.url());
  REQUIRE(client.peer.send_text("!bad-utf8") == wsp::OK);
  REQUIRE(client.poll_until_closed());
  CHECK(client.peer.get_close_code() == 1007);
  CHECK(client.peer.get_close_reason() == "Invalid frame payload data");
  CHECK(server.next_line() == "closed 1007 Invalid frame payload data");
}
