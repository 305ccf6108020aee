// wss://: WebSocket over TLS end to end, both faces, with certificates made at test time.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/stream_testing.h"
#include "tests/tls/test_certs.h"
#include "tests/wsp/peer/peer_harness.h"
#include "tls/crypto_key.h"
#include "tls/tls_options.h"
#include "tls/tls_stream.h"
#include "tls/x509_certificate.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using namespace wsp;
using namespace wsp::testing;
using Peer = WebSocketPeer;

namespace {

std::shared_ptr<tls::TLSOptions> server_options(const tls::testing::PemPair& pair) {
  return tls::TLSOptions::server(tls::CryptoKey::load_from_string(pair.key),
                                 tls::X509Certificate::load_from_string(pair.cert));
}

std::shared_ptr<tls::TLSOptions> trusting_client() {
  return tls::TLSOptions::client(
      tls::X509Certificate::load_from_string(tls::testing::test_certificates().ca.cert));
}

// The poll façade on both sides: StreamPeerTLS accepts, WebSocketPeer upgrades.
struct WssPair {
  PeerHarness h;
  Peer client{h.reactor}, server{h.reactor};
  std::shared_ptr<StreamPeerTLS> tls_stream = std::make_shared<StreamPeerTLS>(h.reactor);
  std::shared_ptr<StreamPeerTCP> tcp;  // the server's TCP peer under tls_stream

  // Connects `client` to the server side with `options`; returns when both sides settled.
  void connect(const std::string& host, std::shared_ptr<tls::TLSOptions> client_options,
               std::shared_ptr<tls::TLSOptions> certificate) {
    REQUIRE(client.connect_to_url("wss://" + host + ":" + std::to_string(h.port) + "/secure",
                                  std::move(client_options)) == OK);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!h.server.is_connection_available() && std::chrono::steady_clock::now() < deadline) {
      client.poll();
      h.reactor.run_once(1ms);
    }
    tcp = h.server.take_connection();
    REQUIRE(tls_stream->accept_stream(tcp, std::move(certificate)) == OK);
    bool upgraded = false;
    while (std::chrono::steady_clock::now() < deadline) {
      client.poll();
      tls_stream->poll();
      if (!upgraded && tls_stream->get_status() == StreamPeerTLS::STATUS_CONNECTED) {
        REQUIRE(server.accept_stream(tls_stream) == OK);
        upgraded = true;
      }
      if (upgraded) server.poll();
      if (client.get_ready_state() == Peer::STATE_CLOSED) break;
      if (client.get_ready_state() == Peer::STATE_OPEN && server.get_ready_state() == Peer::STATE_OPEN) break;
      if (tls_stream->get_status() >= StreamPeerTLS::STATUS_ERROR) {
        h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED; }, {&client});
        break;
      }
      h.reactor.run_once(1ms);
    }
  }
};

}  // namespace

TEST_CASE("wss with a trusted certificate: the façade exchanges messages and closes cleanly") {
  WssPair p;
  p.connect("localhost", trusting_client(), server_options(tls::testing::test_certificates().server));
  REQUIRE(p.client.get_ready_state() == Peer::STATE_OPEN);
  REQUIRE(p.server.get_ready_state() == Peer::STATE_OPEN);
  CHECK(p.server.get_requested_url() == "wss://localhost:" + std::to_string(p.h.port) + "/secure");
  CHECK(p.client.send_text("over TLS") == OK);
  REQUIRE(p.h.poll_until([&] { return p.server.get_available_packet_count() == 1; }, {&p.client, &p.server}));
  CHECK(text(p.server.get_packet()) == "over TLS");
  CHECK(p.server.was_string_packet());
  p.client.close(1000, "tls done");
  REQUIRE(p.h.poll_until([&] { return p.client.get_ready_state() == Peer::STATE_CLOSED &&
                                      p.server.get_ready_state() == Peer::STATE_CLOSED; },
                         {&p.client, &p.server}));
  CHECK(p.server.get_close_code() == 1000);
  CHECK(p.server.get_close_reason() == "tls done");
  CHECK(p.client.get_close_code() == 1000);
}

TEST_CASE("StreamPeerTLS.get_stream() is the TCP peer it runs over, which stays CONNECTED") {
  WssPair p;
  p.connect("localhost", trusting_client(), server_options(tls::testing::test_certificates().server));
  REQUIRE(p.server.get_ready_state() == Peer::STATE_OPEN);
  REQUIRE(p.tls_stream->get_stream() == p.tcp);
  CHECK(p.tcp->get_status() == StreamPeerTCP::STATUS_CONNECTED);
  CHECK(p.tcp->get_connected_host() == "127.0.0.1");
  CHECK(p.tcp->get_connected_port() > 0);
  CHECK(p.tcp->get_local_port() == p.h.port);
  std::vector<std::uint8_t> nothing;
  CHECK(p.tcp->get_partial_data(1, nothing) == FAILED);  // its bytes belong to the TLS session
  CHECK(p.tcp->put_data({1}) == FAILED);
  CHECK(p.tcp->get_available_bytes() == 0);
  StreamPeerTLS unused(p.h.reactor);
  CHECK(unused.get_stream() == nullptr);
  p.tls_stream->disconnect_from_stream();
  CHECK(p.tcp->get_status() == StreamPeerTCP::STATUS_NONE);
}

TEST_CASE("wss to an untrusted certificate ends in CLOSED with -1 and the verification reason") {
  WssPair p;
  p.connect("localhost", tls::TLSOptions::client(), server_options(tls::testing::test_certificates().server));
  CHECK(p.client.get_ready_state() == Peer::STATE_CLOSED);
  CHECK(p.client.get_close_code() == -1);
  CHECK_THAT(p.client.get_error_reason(), Catch::Contains("certificate verify failed"));
}

TEST_CASE("wss with the wrong host name fails; client_unsafe and common_name_override connect") {
  SECTION("wrong name") {
    WssPair p;
    p.connect("localhost", trusting_client(), server_options(tls::testing::test_certificates().wrong_name));
    CHECK(p.client.get_ready_state() == Peer::STATE_CLOSED);
    CHECK_THAT(p.client.get_error_reason(), Catch::Contains("hostname mismatch"));
  }
  SECTION("client_unsafe accepts an untrusted certificate") {
    WssPair p;
    p.connect("localhost", tls::TLSOptions::client_unsafe(),
              server_options(tls::testing::test_certificates().untrusted));
    CHECK(p.client.get_ready_state() == Peer::STATE_OPEN);
  }
  SECTION("common_name_override names the certificate's host") {
    WssPair p;
    auto options = tls::TLSOptions::client(
        tls::X509Certificate::load_from_string(tls::testing::test_certificates().ca.cert), "wrong.example.com");
    p.connect("localhost", options, server_options(tls::testing::test_certificates().wrong_name));
    CHECK(p.client.get_ready_state() == Peer::STATE_OPEN);
  }
}

TEST_CASE("wss with the coroutine API: 1 MiB each way through a TLS echo") {
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto certificate = server_options(tls::testing::test_certificates().server);
  // Echoes one message, then returns what its next receive() reports: the client's close.
  auto server = [&]() -> io::Task<Received> {
    auto tcp = co_await listener->accept();
    REQUIRE(tcp);
    auto secured = co_await tls::TlsStream::accept(std::move(*tcp), certificate, 5s);
    REQUIRE(secured);
    AcceptOptions options;
    options.tls = true;
    options.limits.inbound_buffer_size = 2 << 20;
    options.limits.outbound_buffer_size = 2 << 20;
    auto ws = co_await wsp::accept(std::move(*secured), options);
    REQUIRE(ws);
    Received m = co_await (*ws)->receive();
    auto sent = co_await (*ws)->send(m.data, m.text);
    REQUIRE(sent);
    co_return co_await (*ws)->receive();
  };
  // The server runs as a task of its own while the client runs; the test joins it below.
  std::optional<Received> server_end;
  auto server_task = [&]() -> io::Task<void> { server_end = co_await server(); };
  reactor.spawn(server_task());
  auto client = [&]() -> io::Task<void> {
    ConnectOptions options;
    options.tls_options = trusting_client();
    options.limits.inbound_buffer_size = 2 << 20;
    options.limits.outbound_buffer_size = 2 << 20;
    std::string reason;
    options.failure_reason = &reason;
    auto ws = co_await wsp::connect(reactor, "wss://localhost:" + std::to_string(listener->local_port()), options);
    INFO(reason);
    REQUIRE(ws);
    std::string big(1 << 20, 'q');
    auto sent = co_await (*ws)->send_binary(big);
    REQUIRE(sent);
    Received echo = co_await (*ws)->receive();
    CHECK(echo.data == big);
    co_await (*ws)->close(1000);
    CHECK((*ws)->close_code() == 1000);
  };
  reactor.sync_wait(client());
  REQUIRE(testing_support::run_until(reactor, [&] { return server_end.has_value(); }));
  CHECK(server_end->closed);
  CHECK(server_end->close_code == 1000);
}

TEST_CASE("wss:// to a plain ws:// server says the server did not answer in TLS, on both sides") {
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  std::optional<std::string> server_reason;
  auto server = [&]() -> io::Task<void> {
    auto tcp = co_await listener->accept();
    REQUIRE(tcp);
    std::string reason;
    AcceptOptions options;
    options.failure_reason = &reason;
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)), options);
    CHECK(ws.error() == Errc::handshake_refused);
    server_reason = reason;
  };
  reactor.spawn(server());
  std::string reason;
  ConnectOptions options;
  options.tls_options = trusting_client();
  options.failure_reason = &reason;
  auto ws = reactor.sync_wait(
      wsp::connect(reactor, "wss://127.0.0.1:" + std::to_string(listener->local_port()), options));
  CHECK(ws.error() == Errc::handshake_failed);
  CHECK(reason ==
        "TLS handshake failed: the server answered in plain HTTP, not TLS; perhaps it serves "
        "plain ws://, not wss://");
  REQUIRE(testing_support::run_until(reactor, [&] { return server_reason.has_value(); }));
  CHECK(*server_reason ==
        "handshake refused with 400 Bad Request: TLS handshake on a plain ws:// port: the client "
        "wants wss://");
}

TEST_CASE("WebSocketPeer: wss:// to a plain ws:// server reports the same reason") {
  PeerHarness h;
  Peer client(h.reactor), server(h.reactor);
  REQUIRE(client.connect_to_url("wss://127.0.0.1:" + std::to_string(h.port) + "/", trusting_client()) == OK);
  REQUIRE(h.accept_into(server));
  REQUIRE(h.poll_until([&] { return client.get_ready_state() == Peer::STATE_CLOSED; },
                       {&client, &server}));
  CHECK(client.get_error_reason() ==
        "TLS handshake failed: the server answered in plain HTTP, not TLS; perhaps it serves "
        "plain ws://, not wss://");
  CHECK(client.get_refusal_status() == 0);
}

TEST_CASE("ws:// to a wss:// server: the client hears nothing back, the server says why") {
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto certificate = server_options(tls::testing::test_certificates().server);
  std::optional<std::string> server_reason;
  auto server = [&]() -> io::Task<void> {
    auto tcp = co_await listener->accept();
    REQUIRE(tcp);
    std::string reason;
    auto secured = co_await tls::TlsStream::accept(std::move(*tcp), certificate, 5s, &reason);
    CHECK(secured.error() == tls::TlsErrc::not_tls);
    server_reason = reason;
  };
  reactor.spawn(server());
  std::string reason;
  ConnectOptions options;
  options.failure_reason = &reason;
  auto ws = reactor.sync_wait(
      wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(listener->local_port()), options));
  CHECK(ws.error() == Errc::handshake_failed);
  // BoringSSL answers an HTTP request with no alert: the connection just ends.
  CHECK(reason == "the server closed the connection without answering the handshake");
  REQUIRE(testing_support::run_until(reactor, [&] { return server_reason.has_value(); }));
  CHECK(*server_reason == "TLS handshake failed: the client sent plain HTTP, not TLS");
}
