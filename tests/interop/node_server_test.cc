// wsp's two clients against Node's `ws` server (npm, pinned in tests/interop/package.json;
// ws_node_server.js), over ws:// and wss:// (the server holds the test certificate from
// tests/tls/test_certs.h; our clients trust the test CA). The server runs as a child process on
// 127.0.0.1 with a port from the OS and is killed on every path.
//   - the coroutine client: wsp::connect + WebSocket::send/receive/close
//   - the poll() façade: WebSocketPeer::connect_to_url + poll()
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "tests/interop/child_process.h"
#include "tests/interop/drive.h"
#include "tests/interop/real_peers.h"
#include "tests/tls/test_certs.h"
#include "tls/tls_options.h"
#include "tls/x509_certificate.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using interop::await;
using interop::ChildProcess;

namespace {

struct NodeServer {
  ChildProcess process;
  int port = 0;
  bool tls;

  explicit NodeServer(bool tls) : process(arguments(tls)), tls(tls) {
    auto line = process.read_line(15s);
    REQUIRE(line);
    REQUIRE(line->rfind("port ", 0) == 0);
    port = std::stoi(line->substr(5));
  }
  static std::vector<std::string> arguments(bool tls) {
    std::vector<std::string> argv{interop::node_program(), interop::node_script("ws_node_server.js")};
    if (tls) {
      const auto& certs = tls::testing::test_certificates();
      argv.insert(argv.end(), {"--cert", certs.server.cert_file, "--key", certs.server.key_file});
    }
    return argv;
  }
  std::string url() const { return std::string(tls ? "wss" : "ws") + "://localhost:" + std::to_string(port) + "/"; }
  // The server's next line of output, "(none)" if it prints nothing within 10 s.
  std::string next_line() { return process.read_line(10s).value_or("(none)"); }
};

std::shared_ptr<tls::TLSOptions> trust_test_ca() {
  auto ca = tls::X509Certificate::load_from_string(tls::testing::test_certificates().ca.cert);
  REQUIRE(ca);
  return tls::TLSOptions::client(ca);
}

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

constexpr int kLimit = 32 << 20;

struct CoroutineClient {
  io::Reactor reactor;
  std::unique_ptr<wsp::WebSocket> ws;

  explicit CoroutineClient(const NodeServer& server) {
    wsp::ConnectOptions options;
    options.limits.inbound_buffer_size = kLimit;
    options.limits.outbound_buffer_size = kLimit;
    if (server.tls) options.tls_options = trust_test_ca();
    auto connected = await(reactor, wsp::connect(reactor, server.url(), std::move(options)));
    REQUIRE(connected);
    ws = std::move(*connected);
  }
  ~CoroutineClient() {
    if (ws) ws->abort();
  }
  bool send(const std::string& data, bool text) {
    auto send_one = [](wsp::WebSocket& socket, const std::string& bytes,
                       bool is_text) -> io::Task<io::Result<void>> {
      co_return co_await socket.send(bytes, is_text);
    };
    return bool(await(reactor, send_one(*ws, data, text), 30s));
  }
  wsp::Received receive() {
    auto next = [](wsp::WebSocket& socket) -> io::Task<wsp::Received> { co_return co_await socket.receive(); };
    return await(reactor, next(*ws), 30s);
  }
};

struct PeerClient {
  io::Reactor reactor;
  wsp::WebSocketPeer peer{reactor};

  explicit PeerClient(const NodeServer& server) {
    peer.set_inbound_buffer_size(kLimit);
    peer.set_outbound_buffer_size(kLimit);
    REQUIRE(peer.connect_to_url(server.url(), server.tls ? trust_test_ca() : nullptr) == wsp::OK);
    REQUIRE(poll_until([&] { return peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING; }));
    REQUIRE(peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN);
  }
  bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
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

// --- the coroutine client ---------------------------------------------------------------------

TEST_CASE("coroutine client: text, binary and 16 MiB of each round-trip through a Node ws server, ws and wss") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  CoroutineClient client(server);
  for (auto [data, text] : {std::pair{std::string("héllo wörld"), true}, std::pair{pattern(256), false},
                            std::pair{letters(16 << 20), true}, std::pair{pattern(16 << 20), false}}) {
    REQUIRE(client.send(data, text));
    wsp::Received r = client.receive();
    CHECK_FALSE(r.closed);
    CHECK(r.text == text);
    CHECK(r.data.size() == data.size());
    CHECK(r.data == data);
  }
}

TEST_CASE("coroutine client: a message a Node ws server sends as 128 fragments arrives as one") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  CoroutineClient client(server);
  REQUIRE(client.send("!fragments 128 8192", true));
  wsp::Received r = client.receive();
  CHECK_FALSE(r.closed);
  CHECK_FALSE(r.text);
  std::string expected;
  for (int i = 0; i < 128; ++i) expected += pattern(8192);
  CHECK(r.data == expected);
}

TEST_CASE("coroutine client: a Node ws server closing with 4000 \"bye\" is reported as 4000/\"bye\"") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  CoroutineClient client(server);
  REQUIRE(client.send("!close 4000 bye", true));
  wsp::Received r = client.receive();
  CHECK(r.closed);
  CHECK(r.close_code == 4000);
  CHECK(r.close_reason == "bye");
  // We echo the code without the reason (RFC 6455 §5.5.1 allows either).
  CHECK(server.next_line() == "closed 4000 ");
}

TEST_CASE("coroutine client: our close with 1001 \"going away\" is seen by the Node ws server as such") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  CoroutineClient client(server);
  await(client.reactor, client.ws->close(1001, "going away"));
  CHECK_FALSE(client.ws->is_open());
  CHECK(server.next_line() == "closed 1001 going away");
}

// --- the WebSocketPeer façade -----------------------------------------------------------------

TEST_CASE("WebSocketPeer: text, binary and 16 MiB of each round-trip through a Node ws server, ws and wss") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  PeerClient client(server);
  REQUIRE(client.peer.send_text("héllo wörld") == wsp::OK);
  CHECK(client.next_packet() == "héllo wörld");
  CHECK(client.peer.was_string_packet());
  REQUIRE(client.peer.put_packet(bytes(pattern(256))) == wsp::OK);
  CHECK(client.next_packet() == pattern(256));
  CHECK_FALSE(client.peer.was_string_packet());
  REQUIRE(client.peer.send_text(letters(16 << 20)) == wsp::OK);
  CHECK(client.next_packet() == letters(16 << 20));
  CHECK(client.peer.was_string_packet());
  REQUIRE(client.peer.put_packet(bytes(pattern(16 << 20))) == wsp::OK);
  CHECK(client.next_packet() == pattern(16 << 20));
  CHECK_FALSE(client.peer.was_string_packet());
}

TEST_CASE("WebSocketPeer: a message a Node ws server sends as 128 fragments is one packet") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  PeerClient client(server);
  REQUIRE(client.peer.send_text("!fragments 128 8192") == wsp::OK);
  std::string expected;
  for (int i = 0; i < 128; ++i) expected += pattern(8192);
  CHECK(client.next_packet() == expected);
  CHECK_FALSE(client.peer.was_string_packet());
}

TEST_CASE("WebSocketPeer: a Node ws server closing with 4000 \"bye\" is reported as 4000/\"bye\"") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  PeerClient client(server);
  REQUIRE(client.peer.send_text("!close 4000 bye") == wsp::OK);
  REQUIRE(client.poll_until_closed());
  CHECK(client.peer.get_close_code() == 4000);
  CHECK(client.peer.get_close_reason() == "bye");
  CHECK(server.next_line() == "closed 4000 ");
}

TEST_CASE("WebSocketPeer: our close with 1001 \"going away\" is seen by the Node ws server as such") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "wss" : "ws"));
  NodeServer server(tls);
  PeerClient client(server);
  client.peer.close(1001, "going away");
  REQUIRE(client.poll_until_closed());
  CHECK(server.next_line() == "closed 1001 going away");
}
