// The WebSocketPeer façade, both sides in-process over 127.0.0.1 (docs/websocketpeer.md).
#include <catch2/catch.hpp>

#include <netinet/tcp.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/skip.h"
#include "tests/wsp/peer/peer_harness.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::testing;
using Peer = WebSocketPeer;

namespace {
// A plain blocking TCP client connected to 127.0.0.1:port.
int connect_raw_client(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// The descriptor of this process's socket from 127.0.0.1:local_port to 127.0.0.1:remote_port,
// or -1 (WebSocketPeer does not show its socket).
int find_tcp_socket(int local_port, int remote_port) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_in local{}, remote{};
    socklen_t local_len = sizeof local, remote_len = sizeof remote;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_len) != 0 ||
        local.sin_family != AF_INET) {
      continue;
    }
    if (ntohs(local.sin_port) == local_port && ntohs(remote.sin_port) == remote_port) return fd;
  }
  return -1;
}

// TCP_NODELAY read back from the socket: 1 or 0.
int tcp_no_delay(int fd) {
  int value = -1;
  socklen_t len = sizeof value;
  REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &len) == 0);
  return value;
}

// Polls `peer` while it is CONNECTING, `seconds` at most.
void poll_while_connecting(Peer& peer, io::Reactor& reactor, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (peer.get_ready_state() == Peer::STATE_CONNECTING && std::chrono::steady_clock::now() < deadline) {
    peer.poll();
    reactor.run_once(1ms);
  }
}
}  // namespace

// --- enums and defaults ------------------------------------------------------------------

TEST_CASE("enum values and property defaults are those of the reference") {
  CHECK(Peer::WRITE_MODE_TEXT == 0);
  CHECK(Peer::WRITE_MODE_BINARY == 1);
  CHECK(Peer::STATE_CONNECTING == 0);
  CHECK(Peer::STATE_OPEN == 1);
  CHECK(Peer::STATE_CLOSING == 2);
  CHECK(Peer::STATE_CLOSED == 3);
  CHECK(OK == 0);
  CHECK(FAILED == 1);
  CHECK(ERR_UNAVAILABLE == 2);
  CHECK(ERR_OUT_OF_MEMORY == 6);
  CHECK(ERR_ALREADY_IN_USE == 22);
  CHECK(ERR_TIMEOUT == 24);
  CHECK(ERR_INVALID_PARAMETER == 31);
  CHECK(ERR_PRINTER_ON_FIRE == 48);
  CHECK(StreamPeerTCP::STATUS_NONE == 0);
  CHECK(StreamPeerTCP::STATUS_ERROR == 3);

  io::Reactor reactor;
  Peer peer(reactor);
  CHECK(peer.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(peer.get_handshake_headers().empty());
  CHECK(peer.get_heartbeat_interval() == 0.0);
  CHECK(peer.get_inbound_buffer_size() == 65535);
  CHECK(peer.get_max_queued_packets() == 4096);
  CHECK(peer.get_outbound_buffer_size() == 65535);
  CHECK(peer.get_supported_protocols().empty());
  CHECK(peer.get_handshake_timeout() == 10.0);
  CHECK(peer.get_close_timeout() == 5.0);
  CHECK(peer.get_close_code() == -1);
  CHECK(peer.get_available_packet_count() == 0);
}

TEST_CASE("array property getters return copies") {
  io::Reactor reactor;
  Peer peer(reactor);
  peer.set_handshake_headers({"X-One: 1"});
  auto headers = peer.get_handshake_headers();
  headers.push_back("X-Two: 2");
  CHECK(peer.get_handshake_headers().size() == 1);
  peer.set_supported_protocols({"chat"});
  auto protocols = peer.get_supported_protocols();
  protocols.clear();
  CHECK(peer.get_supported_protocols() == std::vector<std::string>{"chat"});
}

TEST_CASE("a negative heartbeat interval is refused and leaves the property unchanged") {
  io::Reactor reactor;
  Peer peer(reactor);
  peer.set_heartbeat_interval(2.5);
  peer.set_heartbeat_interval(-1);
  CHECK(peer.get_heartbeat_interval() == 2.5);
}

// --- connect_to_url ----------------------------------------------------------------------

TEST_CASE("connect_to_url refuses bad URLs with ERR_INVALID_PARAMETER") {
  io::Reactor reactor;
  Peer peer(reactor);
  for (const char* url : {"", "http://example.com", "ftp://x/", "ws://", "ws://[::1", "ws://host:0/",
                          "ws://host:65536/", "ws://host:port/", "wss://[::1]x/"}) {
    INFO(url);
    CHECK(peer.connect_to_url(url) == ERR_INVALID_PARAMETER);
    CHECK(peer.get_ready_state() == Peer::STATE_CLOSED);
  }
}

TEST_CASE("after ERR_INVALID_PARAMETER get_error_reason says what is wrong with the URL") {
  io::Reactor reactor;
  Peer peer(reactor);
  const std::pair<const char*, const char*> cases[] = {
      {"http://127.0.0.1:9001/",
       "invalid URL http://127.0.0.1:9001/: unsupported scheme \"http\" (use ws:// or wss://)"},
      {"", "empty URL"},
      {"ws:///chat", "invalid URL ws:///chat: no host in the URL"},
      {"ws://[::1/", "invalid URL ws://[::1/: missing ']' after the IPv6 address"},
      {"ws://host:port/", "invalid URL ws://host:port/: port \"port\" is not a number from 1 to 65535"},
      {"ws://host:0/", "invalid URL ws://host:0/: port \"0\" is not a number from 1 to 65535"},
      {"ws://host/a b", "invalid URL ws://host/a b: space or control character in the path"},
  };
  for (const auto& [url, reason] : cases) {
    INFO(url);
    CHECK(peer.connect_to_url(url) == ERR_INVALID_PARAMETER);
    CHECK(peer.get_error_reason() == reason);
  }
}

TEST_CASE("connect_to_url refuses server-side TLS options and header lines with CR or LF") {
  io::Reactor reactor;
  Peer peer(reactor);
  peer.set_handshake_headers({"X-Evil: a\r\nX-Injected: b"});
  CHECK(peer.connect_to_url("ws://127.0.0.1:1/") == ERR_INVALID_PARAMETER);
  CHECK(peer.get_error_reason() == "handshake header is not one \"Name: value\" line");
  peer.set_handshake_headers({});
  auto server_options = tls::TLSOptions::server(nullptr, nullptr);
  CHECK(peer.connect_to_url("wss://127.0.0.1:1/", server_options) == ERR_INVALID_PARAMETER);
  CHECK(peer.get_error_reason() == "server TLS options cannot be used to connect");
}

TEST_CASE("connect_to_url is non-blocking and returns OK before the connection exists") {
  PeerHarness h;
  Peer client(h.reactor);
  CHECK(client.connect_to_url(h.url("/chat?room=1")) == OK);
  CHECK(client.get_ready_state() == Peer::STATE_CONNECTING);
  CHECK(client.get_requested_url() == h.url("/chat?room=1"));
  // Not in a state to connect: already connecting.
  CHECK(client.connect_to_url(h.url()) == ERR_ALREADY_IN_USE);
}

TEST_CASE("a full session goes CONNECTING, OPEN, CLOSING, CLOSED with the code and reason") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server, "/path?q=1"));
  CHECK(client.connect_to_url(h.url()) == ERR_ALREADY_IN_USE);
  client.close(4001, "bye now");
  CHECK(client.get_ready_state() == Peer::STATE_CLOSING);
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED &&
                                    server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(server.get_close_code() == 4001);
  CHECK(server.get_close_reason() == "bye now");
  CHECK(client.get_close_code() == 4001);  // the server echoed our code
  // A closed peer may connect again.
  CHECK(client.connect_to_url(h.url()) == OK);
}

TEST_CASE("the server side can close first") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  server.close(1001, "going away");
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED &&
                                    server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(client.get_close_code() == 1001);
  CHECK(client.get_close_reason() == "going away");
  CHECK(server.get_close_code() == 1001);
}

TEST_CASE("a close frame without a code reports 1005 (the reference engine reports 0)") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor);
  REQUIRE(raw.connect(client, reactor));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  raw.write(std::string("\x88\x00", 2));  // close, FIN, no payload, unmasked (server side)
  while (client.get_ready_state() != Peer::STATE_CLOSED && std::chrono::steady_clock::now() < deadline) {
    client.poll();
    raw.read_available();
    reactor.run_once(1ms);
  }
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == 1005);
  CHECK(client.get_close_reason().empty());
}

TEST_CASE("connection refused ends in CLOSED with close code -1 and a reason") {
  io::Reactor reactor;
  int port;
  {
    TCPServer s(reactor);
    REQUIRE(s.listen(0, "127.0.0.1") == OK);
    port = s.get_local_port();
  }
  Peer client(reactor);
  REQUIRE(client.connect_to_url("ws://127.0.0.1:" + std::to_string(port)) == OK);
  poll_while_connecting(client, reactor, 5);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
  CHECK_THAT(client.get_error_reason(), Catch::Contains("refused"));
}

TEST_CASE("an unresolvable host returns OK, then ends in CLOSED") {
  io::Reactor reactor;
  Peer client(reactor);
  REQUIRE(client.connect_to_url("ws://no-such-host.invalid/") == OK);
  poll_while_connecting(client, reactor, 10);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
  CHECK_THAT(client.get_error_reason(), Catch::Contains("resolve"));
}

TEST_CASE("a response that is not a WebSocket upgrade ends in CLOSED with -1") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor);
  REQUIRE(client.connect_to_url(raw.url()) == OK);
  bool answered = false;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (client.get_ready_state() == Peer::STATE_CONNECTING && std::chrono::steady_clock::now() < deadline) {
    client.poll();
    reactor.run_once(1ms);
    if (raw.try_accept() && raw.read_available() && !answered &&
        raw.received.find("\r\n\r\n") != std::string::npos) {
      raw.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      answered = true;
    }
  }
  CHECK(answered);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
  CHECK(client.get_error_reason() == "server answered 200 OK instead of 101 Switching Protocols");
  CHECK(client.get_refusal_status() == 200);
}

TEST_CASE("a server that never answers the handshake is dropped after handshake_timeout") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor);
  client.set_handshake_timeout(0.2);
  REQUIRE(client.connect_to_url(raw.url()) == OK);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (client.get_ready_state() == Peer::STATE_CONNECTING && std::chrono::steady_clock::now() < deadline) {
    client.poll();
    raw.try_accept();
    reactor.run_once(5ms);
  }
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
  CHECK(client.get_error_reason() == "handshake timed out");
}


TEST_CASE("a client that never sends its request is dropped by the server after handshake_timeout") {
  PeerHarness h;
  int raw = connect_raw_client(h.port);
  Peer server(h.reactor);
  server.set_handshake_timeout(0.2);
  REQUIRE(h.accept_into(server));
  CHECK(server.get_ready_state() == Peer::STATE_CONNECTING);
  REQUIRE(h.poll_until([&] { return server.get_ready_state() == Peer::STATE_CLOSED; }, {&server}));
  CHECK(server.get_close_code() == -1);
  // The silent client sees its connection closed.
  char b;
  pollfd p{raw, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  CHECK(::recv(raw, &b, 1, 0) == 0);
  ::close(raw);
}

TEST_CASE("a malformed request gets 400 from the server, which ends in CLOSED") {
  PeerHarness h;
  int raw = connect_raw_client(h.port);
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";  // no Upgrade
  REQUIRE(::send(raw, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  Peer server(h.reactor);
  REQUIRE(h.accept_into(server));
  REQUIRE(h.poll_until([&] { return server.get_ready_state() == Peer::STATE_CLOSED; }, {&server}));
  char buf[512] = {};
  pollfd p{raw, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  ssize_t n = ::recv(raw, buf, sizeof buf - 1, 0);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) ==
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 29\r\n\r\n"
        "missing \"Upgrade: websocket\"\n");
  CHECK(server.get_error_reason() ==
        "handshake refused with 400 Bad Request: missing \"Upgrade: websocket\"");
  CHECK(server.get_refusal_status() == 400);
  ::close(raw);
}

// --- server-side details -----------------------------------------------------------------

TEST_CASE("requested URL, connected host and port, and extra headers on both sides") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_handshake_headers({"X-Client-Id: 42"});
  REQUIRE(h.open_pair(client, server, "/room/7?x=y"));
  CHECK(client.get_requested_url() == h.url("/room/7?x=y"));
  CHECK(server.get_requested_url() == "ws://127.0.0.1:" + std::to_string(h.port) + "/room/7?x=y");
  CHECK(client.get_connected_host() == "127.0.0.1");
  CHECK(client.get_connected_port() == h.port);
  CHECK(server.get_connected_host() == "127.0.0.1");
  CHECK(server.get_connected_port() > 0);
  bool seen = false;
  for (auto& [name, value] : server.get_request_headers()) seen |= name == "X-Client-Id" && value == "42";
  CHECK(seen);
}

TEST_CASE("accept_stream refuses a null or unconnected stream") {
  io::Reactor reactor;
  Peer server(reactor);
  CHECK(server.accept_stream(nullptr) == ERR_INVALID_PARAMETER);
  CHECK(server.accept_stream(std::make_shared<StreamPeerTCP>(reactor)) == ERR_INVALID_PARAMETER);
}

TEST_CASE("the first client subprotocol the server supports is selected") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_supported_protocols({"v2.chat", "v1.chat"});
  server.set_supported_protocols({"v1.chat", "v2.chat"});
  REQUIRE(h.open_pair(client, server));
  CHECK(client.get_selected_protocol() == "v2.chat");
  CHECK(server.get_selected_protocol() == "v2.chat");
}

TEST_CASE("no common subprotocol fails the handshake on both sides") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_supported_protocols({"a"});
  server.set_supported_protocols({"b"});
  REQUIRE(client.connect_to_url(h.url()) == OK);
  REQUIRE(h.accept_into(server));
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED &&
                                    server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(client.get_close_code() == -1);
  CHECK(server.get_close_code() == -1);
  // Both sides say why: the server sent its reason in the body of the 400.
  CHECK(client.get_error_reason() ==
        "server refused the handshake: 400 Bad Request: no common subprotocol: offered a, "
        "supported b");
  CHECK(client.get_refusal_status() == 400);
  CHECK(server.get_error_reason() ==
        "handshake refused with 400 Bad Request: no common subprotocol: offered a, supported b");
  CHECK(server.get_refusal_status() == 400);
}

TEST_CASE("a server with subprotocols refuses a client that offers none, as the reference does") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  server.set_supported_protocols({"chat"});
  REQUIRE(client.connect_to_url(h.url()) == OK);
  REQUIRE(h.accept_into(server));
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED &&
                                    server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(client.get_error_reason() ==
        "server refused the handshake: 400 Bad Request: no common subprotocol: offered none, "
        "supported chat");
}

// --- sending and receiving ---------------------------------------------------------------

TEST_CASE("text stays text and binary stays binary; was_string_packet tells which") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.send_text("hello") == OK);
  CHECK(client.put_packet(bytes("\x01\x02")) == OK);
  CHECK(client.send(bytes("as text"), Peer::WRITE_MODE_TEXT) == OK);
  CHECK(client.send(std::string("as binary"), Peer::WRITE_MODE_BINARY) == OK);
  REQUIRE(h.poll_until([&] { return server.get_available_packet_count() == 4; }, {&client, &server}));
  CHECK(text(server.get_packet()) == "hello");
  CHECK(server.was_string_packet());
  CHECK(text(server.get_packet()) == "\x01\x02");
  CHECK_FALSE(server.was_string_packet());
  CHECK(text(server.get_packet()) == "as text");
  CHECK(server.was_string_packet());
  CHECK(text(server.get_packet()) == "as binary");
  CHECK_FALSE(server.was_string_packet());
  CHECK(server.get_packet_error() == OK);
  CHECK(server.get_packet().empty());
  CHECK(server.get_packet_error() == ERR_UNAVAILABLE);
}

TEST_CASE("sending while not OPEN fails with FAILED") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  CHECK(client.send_text("x") == FAILED);
  REQUIRE(client.connect_to_url(h.url()) == OK);
  CHECK(client.put_packet(bytes("x")) == FAILED);  // CONNECTING
  REQUIRE(h.accept_into(server));
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_OPEN; }, {&client, &server}));
  client.close();
  CHECK(client.send_text("x") == FAILED);  // CLOSING
}

TEST_CASE("send_text refuses invalid UTF-8 with ERR_INVALID_PARAMETER") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.send_text("\xc3\x28") == ERR_INVALID_PARAMETER);
  CHECK(client.send(bytes("\xed\xa0\x80"), Peer::WRITE_MODE_TEXT) == ERR_INVALID_PARAMETER);
  CHECK(client.put_packet(bytes("\xc3\x28")) == OK);  // any bytes as binary
}

TEST_CASE("the outbound buffer limit refuses a message that would overflow it") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_outbound_buffer_size(100);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.put_packet(std::vector<std::uint8_t>(60, 'a')) == OK);
  CHECK(client.get_current_outbound_buffered_amount() == 60);
  CHECK(client.put_packet(std::vector<std::uint8_t>(60, 'b')) == ERR_OUT_OF_MEMORY);
  CHECK(client.put_packet(std::vector<std::uint8_t>(40, 'c')) == OK);
  CHECK(client.get_current_outbound_buffered_amount() == 100);
  REQUIRE(h.poll_until([&] { return client.get_current_outbound_buffered_amount() == 0; }, {&client, &server}));
  REQUIRE(h.poll_until([&] { return server.get_available_packet_count() == 2; }, {&client, &server}));
}

TEST_CASE("with the default outbound buffer one message cannot exceed 65535 bytes") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.put_packet(std::vector<std::uint8_t>(65536, 'x')) == ERR_OUT_OF_MEMORY);
  CHECK(client.put_packet(std::vector<std::uint8_t>(65535, 'x')) == OK);
}

TEST_CASE("an outbound_buffer_size of 0 removes the byte cap") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_outbound_buffer_size(0);
  server.set_inbound_buffer_size(1 << 21);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.put_packet(std::vector<std::uint8_t>(1 << 20, 'x')) == OK);
  REQUIRE(h.poll_until([&] { return server.get_available_packet_count() == 1; }, {&client, &server}));
  CHECK(server.get_packet().size() == (1u << 20));
}

TEST_CASE("more than max_queued_packets queued messages fail with ERR_OUT_OF_MEMORY") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_max_queued_packets(3);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.send_text("1") == OK);
  CHECK(client.send_text("2") == OK);
  CHECK(client.send_text("3") == OK);
  CHECK(client.send_text("4") == ERR_OUT_OF_MEMORY);
  REQUIRE(h.poll_until([&] { return client.get_current_outbound_buffered_amount() == 0; }, {&client, &server}));
  CHECK(client.send_text("4") == OK);
}

TEST_CASE("a message over inbound_buffer_size closes with 1009 on both sides") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  server.set_inbound_buffer_size(1000);
  REQUIRE(h.open_pair(client, server));
  CHECK(client.put_packet(std::vector<std::uint8_t>(1001, 'x')) == OK);
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED &&
                                    server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(server.get_close_code() == 1009);
  CHECK(server.get_close_reason() == "Message too big");
  CHECK(client.get_close_code() == 1009);
  CHECK(server.get_available_packet_count() == 0);
}

TEST_CASE("a full inbound queue stops reading; nothing is dropped and order is kept") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  server.set_max_queued_packets(4);
  client.set_max_queued_packets(1000);
  REQUIRE(h.open_pair(client, server));
  for (int i = 0; i < 200; ++i) REQUIRE(client.send_text(std::to_string(i)) == OK);
  // All 200 are written to the socket, yet the server queues 4 and reads no further.
  REQUIRE(h.poll_until([&] { return client.get_current_outbound_buffered_amount() == 0 &&
                                    server.get_available_packet_count() == 4; },
                       {&client, &server}));
  server.poll();
  CHECK(server.get_available_packet_count() == 4);
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (got.size() < 200 && std::chrono::steady_clock::now() < deadline) {
    server.poll();
    client.poll();
    CHECK(server.get_available_packet_count() <= 4);
    while (server.get_available_packet_count() > 0) got.push_back(text(server.get_packet()));
    h.reactor.run_once(1ms);
  }
  REQUIRE(got.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("the inbound byte limit holds queued messages to inbound_buffer_size") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  server.set_inbound_buffer_size(250);
  REQUIRE(h.open_pair(client, server));
  for (int i = 0; i < 10; ++i) REQUIRE(client.put_packet(std::vector<std::uint8_t>(100, 'a' + i)) == OK);
  // All 10 are written to the socket, yet the server queues 2: a third would pass 250 bytes.
  REQUIRE(h.poll_until([&] { return client.get_current_outbound_buffered_amount() == 0 &&
                                    server.get_available_packet_count() == 2; },
                       {&client, &server}));
  server.poll();
  CHECK(server.get_available_packet_count() == 2);
  int received = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (received < 10 && std::chrono::steady_clock::now() < deadline) {
    server.poll();
    client.poll();
    CHECK(server.get_available_packet_count() <= 2);
    while (server.get_available_packet_count() > 0) {
      CHECK(server.get_packet() == std::vector<std::uint8_t>(100, 'a' + received));
      ++received;
    }
    h.reactor.run_once(1ms);
  }
  CHECK(received == 10);
  CHECK(server.get_ready_state() == Peer::STATE_OPEN);
}

TEST_CASE("packets that arrived before the peer's close are delivered before CLOSED") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  REQUIRE(server.send_text("one") == OK);
  REQUIRE(server.send_text("two") == OK);
  server.close(1000, "done");
  REQUIRE(h.poll_until([&] { return client.get_available_packet_count() == 2; }, {&client, &server},
                       10));
  // wsp: the client answers the close only once both packets were taken. Until then it reads
  // OPEN, and state, send() and close() agree: a reply still goes out, before the close echo.
  for (int i = 0; i < 10; ++i) {
    client.poll();
    server.poll();
  }
  CHECK(client.get_ready_state() == Peer::STATE_OPEN);
  CHECK(server.get_ready_state() == Peer::STATE_CLOSING);
  CHECK(text(client.get_packet()) == "one");
  CHECK(text(client.get_packet()) == "two");
  CHECK(client.send_text("reply") == OK);
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED &&
                                    server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(client.get_close_code() == 1000);
  CHECK(client.get_close_reason() == "done");
  CHECK(server.get_close_code() == 1000);
  // Packets still queued when the connection ended stay readable in CLOSED.
  REQUIRE(server.get_available_packet_count() == 1);
  CHECK(text(server.get_packet()) == "reply");
}

TEST_CASE("close() while packets before the peer's close wait answers the close with our code") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  REQUIRE(server.send_text("unread") == OK);
  server.close(1000, "done");
  REQUIRE(h.poll_until([&] { return client.get_available_packet_count() == 1; }, {&client, &server},
                       10));
  CHECK(client.get_ready_state() == Peer::STATE_OPEN);
  client.close(4000, "mine");
  CHECK(client.get_ready_state() == Peer::STATE_CLOSING);
  CHECK(client.send_text("late") == FAILED);
  REQUIRE(h.poll_until([&] { return server.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(server.get_close_code() == 4000);
  CHECK(server.get_close_reason() == "mine");
}

TEST_CASE("get_current_outbound_buffered_amount counts payload bytes until written") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  CHECK(client.get_current_outbound_buffered_amount() == 0);
  REQUIRE(h.open_pair(client, server));
  REQUIRE(client.put_packet(std::vector<std::uint8_t>(1000, 'x')) == OK);
  CHECK(client.get_current_outbound_buffered_amount() == 1000);
  REQUIRE(h.poll_until([&] { return client.get_current_outbound_buffered_amount() == 0; }, {&client, &server}));
}

// --- closing -----------------------------------------------------------------------------

TEST_CASE("close with a negative code drops at once; the other side sees an unclean close") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  client.close(-1);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
  REQUIRE(h.poll_until([&] { return server.get_ready_state() == Peer::STATE_CLOSED; }, {&server}));
  CHECK(server.get_close_code() == -1);
}

TEST_CASE("close in CONNECTING closes at once; close in CLOSED does nothing") {
  PeerHarness h;
  Peer client(h.reactor);
  client.close();
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  REQUIRE(client.connect_to_url(h.url()) == OK);
  client.close(1000);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
}

TEST_CASE("a code that may not be sent is refused and the state does not change") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  for (int code : {999, 1004, 1005, 1006, 1015, 5000}) {
    INFO(code);
    client.close(code);
    CHECK(client.get_ready_state() == Peer::STATE_OPEN);
  }
  client.close(1000);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSING);
}

TEST_CASE("a reason over 123 bytes is cut at a UTF-8 boundary and sent; 123 bytes go whole") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  std::string reason;
  for (int i = 0; i < 70; ++i) reason += "\xc3\xa9";  // 140 bytes of two-byte characters
  client.close(1000, reason);
  REQUIRE(h.poll_until([&] { return server.get_ready_state() == Peer::STATE_CLOSED; }, {&client, &server}));
  CHECK(server.get_close_code() == 1000);
  CHECK(server.get_close_reason().size() == 122);
  CHECK(reason.rfind(server.get_close_reason(), 0) == 0);

  Peer client2(h.reactor), server2(h.reactor);
  REQUIRE(h.open_pair(client2, server2));
  const std::string exactly(123, 'r');
  client2.close(1000, exactly);
  REQUIRE(h.poll_until([&] { return server2.get_ready_state() == Peer::STATE_CLOSED; }, {&client2, &server2}));
  CHECK(server2.get_close_reason() == exactly);
}

TEST_CASE("a peer that drops TCP gives an unclean close (-1)") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  server.close(-1);
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED; }, {&client}));
  CHECK(client.get_close_code() == -1);
}

TEST_CASE("CLOSING ends after close_timeout when the peer never answers the close") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor);
  client.set_close_timeout(0.2);
  REQUIRE(raw.connect(client, reactor));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  client.close(1000);
  CHECK(client.get_ready_state() == Peer::STATE_CLOSING);
  while (client.get_ready_state() == Peer::STATE_CLOSING && std::chrono::steady_clock::now() < deadline) {
    client.poll();
    reactor.run_once(5ms);
  }
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
}

TEST_CASE("close_timeout 0 disables it: CLOSING waits for the peer's answer") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor), timed(reactor);
  client.set_close_timeout(0);
  timed.set_close_timeout(0.2);
  REQUIRE(raw.connect(client, reactor));
  RawServer raw2;
  REQUIRE(raw2.connect(timed, reactor));
  client.close(1000);
  timed.close(1000);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (timed.get_ready_state() == Peer::STATE_CLOSING && std::chrono::steady_clock::now() < deadline) {
    client.poll();
    timed.poll();
    reactor.run_once(5ms);
  }
  REQUIRE(timed.get_ready_state() == Peer::STATE_CLOSED);  // its 0.2 s passed
  CHECK(client.get_ready_state() == Peer::STATE_CLOSING);  // no timer: still waiting
}

TEST_CASE("handshake_timeout 0 disables it: a silent client is not dropped") {
  PeerHarness h;
  int silent = connect_raw_client(h.port), silent2 = connect_raw_client(h.port);
  Peer patient(h.reactor), timed(h.reactor);
  patient.set_handshake_timeout(0);
  timed.set_handshake_timeout(0.2);
  REQUIRE(h.accept_into(patient));
  REQUIRE(h.accept_into(timed));
  REQUIRE(h.poll_until([&] { return timed.get_ready_state() == Peer::STATE_CLOSED; }, {&patient, &timed}));
  CHECK(patient.get_ready_state() == Peer::STATE_CONNECTING);
  ::close(silent);
  ::close(silent2);
}

TEST_CASE("negative timeouts and max_queued_packets <= 0 are refused and leave the property unchanged") {
  Peer peer;
  peer.set_handshake_timeout(-1);
  peer.set_close_timeout(-0.5);
  peer.set_max_queued_packets(0);
  peer.set_max_queued_packets(-3);
  CHECK(peer.get_handshake_timeout() == 10.0);
  CHECK(peer.get_close_timeout() == 5.0);
  CHECK(peer.get_max_queued_packets() == 4096);
}

TEST_CASE("a new connection on the same peer resets the close code to -1 and the reason") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  server.close(1000, "first");
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED; }, {&client, &server}));
  REQUIRE(client.get_close_code() == 1000);
  REQUIRE(client.connect_to_url(h.url()) == OK);
  CHECK(client.get_close_code() == -1);
  CHECK(client.get_close_reason().empty());
}

TEST_CASE("a header block over 4096 bytes gets 431 end to end, and the server keeps serving") {
  PeerHarness h;
  int raw = connect_raw_client(h.port);
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n";
  REQUIRE(::send(raw, request.data(), request.size(), MSG_NOSIGNAL) > 0);
  Peer server(h.reactor);
  REQUIRE(h.accept_into(server));
  REQUIRE(h.poll_until([&] { return server.get_ready_state() == Peer::STATE_CLOSED; }, {&server}));
  CHECK(server.get_close_code() == -1);
  char buf[512] = {};
  pollfd p{raw, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  ssize_t n = ::recv(raw, buf, sizeof buf - 1, 0);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)).rfind("HTTP/1.1 431", 0) == 0);
  ::close(raw);
  Peer client(h.reactor), next(h.reactor);
  CHECK(h.open_pair(client, next));
}

TEST_CASE("accept_stream refuses handshake_headers with CR or LF, like connect_to_url") {
  PeerHarness h;
  int raw = connect_raw_client(h.port);
  Peer server(h.reactor);
  server.set_handshake_headers({"X-Injected: a\r\nSet-Cookie: b"});
  REQUIRE(h.poll_until([&] { return h.server.is_connection_available(); }, {}));
  CHECK(server.accept_stream(h.server.take_connection()) == ERR_INVALID_PARAMETER);
  ::close(raw);
}

// --- heartbeat ---------------------------------------------------------------------------

TEST_CASE("heartbeat pings are on the wire, and a missing pong drops the connection") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor);
  client.set_heartbeat_interval(0.1);
  REQUIRE(raw.connect(client, reactor));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  // The raw server never answers: the first ping goes out after one interval, and the
  // connection is dropped at the next tick.
  auto opened = std::chrono::steady_clock::now();
  while (client.get_ready_state() == Peer::STATE_OPEN && std::chrono::steady_clock::now() < deadline) {
    client.poll();
    raw.read_available();
    reactor.run_once(5ms);
  }
  auto lasted = std::chrono::steady_clock::now() - opened;
  CHECK(client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(client.get_close_code() == -1);
  CHECK(lasted >= 150ms);  // at least the tick that sent the ping and the one that gave up
  Protocol reader(ProtocolConfig{.role = Role::server});
  ProtocolEvent event;
  int pings = 0;
  std::size_t at = 0;
  while (at < raw.received.size()) {
    std::size_t used = reader.receive(reinterpret_cast<const std::uint8_t*>(raw.received.data()) + at,
                                      raw.received.size() - at, event);
    if (event.type == ProtocolEventType::ping) ++pings;
    if (used == 0) break;
    at += used;
  }
  CHECK(pings == 1);
}

TEST_CASE("answered heartbeat pings keep the connection open") {
  RawServer raw;
  io::Reactor reactor;
  Peer client(reactor);
  client.set_heartbeat_interval(0.1);
  REQUIRE(raw.connect(client, reactor));
  // The raw server answers each ping with the pong a server Protocol queues for it. Unanswered,
  // a ping drops the connection at the next tick (see above): five answered ones, however
  // slowly this machine gets there.
  Protocol reader(ProtocolConfig{.role = Role::server});
  ProtocolEvent event;
  int answered = 0;
  std::size_t at = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (answered < 5 && client.get_ready_state() == Peer::STATE_OPEN &&
         std::chrono::steady_clock::now() < deadline) {
    client.poll();
    raw.read_available();
    while (at < raw.received.size()) {
      std::size_t used = reader.receive(reinterpret_cast<const std::uint8_t*>(raw.received.data()) + at,
                                        raw.received.size() - at, event);
      at += used;
      if (event.type == ProtocolEventType::ping) {
        raw.write(reader.pending_output());
        reader.consume_output(reader.pending_output_size());
        ++answered;
      }
      if (used == 0) break;
    }
    reactor.run_once(5ms);
  }
  CHECK(answered == 5);
  CHECK(client.get_ready_state() == Peer::STATE_OPEN);
  CHECK(client.get_available_packet_count() == 0);  // pongs never reach the packet queue
}

TEST_CASE("set_no_delay reaches the socket") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(h.open_pair(client, server));
  // The client's socket: from the port the server sees it connected from, to the server's.
  const int fd = find_tcp_socket(server.get_connected_port(), h.port);
  REQUIRE(fd >= 0);
  CHECK(tcp_no_delay(fd) == 1);  // on by default
  client.set_no_delay(false);
  CHECK(tcp_no_delay(fd) == 0);
  client.set_no_delay(true);
  CHECK(tcp_no_delay(fd) == 1);
}

TEST_CASE("set_no_delay(false) before connecting reaches the socket once OPEN") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  client.set_no_delay(false);
  REQUIRE(h.open_pair(client, server));
  const int fd = find_tcp_socket(server.get_connected_port(), h.port);
  REQUIRE(fd >= 0);
  CHECK(tcp_no_delay(fd) == 0);
}

// --- scale -------------------------------------------------------------------------------

TEST_CASE("1,000 concurrent connections through the poll façade") {
  constexpr int kPeers = 1000;
  if (const auto limit = io::raise_open_files_limit(); limit < 2 * kPeers + 100) {
    WSP_SKIP("the open-files limit (" << limit << ") is below " << 2 * kPeers + 100);
  }
  PeerHarness h;
  std::vector<std::unique_ptr<Peer>> clients, servers;
  for (int i = 0; i < kPeers; ++i) {
    clients.push_back(std::make_unique<Peer>(h.reactor));
    REQUIRE(clients.back()->connect_to_url(h.url("/" + std::to_string(i))) == OK);
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  auto poll_all = [&] {
    for (auto& c : clients) c->poll();
    for (auto& s : servers) s->poll();
    while (h.server.is_connection_available()) {
      servers.push_back(std::make_unique<Peer>(h.reactor));
      servers.back()->accept_stream(h.server.take_connection());
    }
  };
  auto count_open = [&] {
    int open = 0;
    for (auto& c : clients) open += c->get_ready_state() == Peer::STATE_OPEN;
    for (auto& s : servers) open += s->get_ready_state() == Peer::STATE_OPEN;
    return open;
  };
  while (count_open() < 2 * kPeers && std::chrono::steady_clock::now() < deadline) poll_all();
  REQUIRE(count_open() == 2 * kPeers);
  for (int i = 0; i < kPeers; ++i) REQUIRE(clients[i]->send_text("message " + std::to_string(i)) == OK);
  // Every server echoes what it got; every client checks it received its own message.
  int verified = 0;
  std::vector<bool> done(kPeers, false);
  while (verified < kPeers && std::chrono::steady_clock::now() < deadline) {
    poll_all();
    for (auto& s : servers) {
      while (s->get_available_packet_count() > 0) REQUIRE(s->send_text(text(s->get_packet())) == OK);
    }
    for (int i = 0; i < kPeers; ++i) {
      if (!done[i] && clients[i]->get_available_packet_count() > 0) {
        CHECK(text(clients[i]->get_packet()) == "message " + std::to_string(i));
        done[i] = true;
        ++verified;
      }
    }
  }
  CHECK(verified == kPeers);
  for (auto& c : clients) c->close(1000);
  auto all_closed = [&] {
    for (auto& c : clients) if (c->get_ready_state() != Peer::STATE_CLOSED) return false;
    for (auto& s : servers) if (s->get_ready_state() != Peer::STATE_CLOSED) return false;
    return true;
  };
  while (!all_closed() && std::chrono::steady_clock::now() < deadline) poll_all();
  CHECK(all_closed());
  for (auto& s : servers) CHECK(s->get_close_code() == 1000);
}
