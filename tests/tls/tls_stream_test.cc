// TlsStream client and server in-process over 127.0.0.1 on the reactor.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/stream_testing.h"
#include "tests/tls/test_certs.h"
#include "tls/tls_error.h"
#include "tls/tls_stream.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Result;
using io::Task;
using io::TcpListener;
using io::TcpStream;
using tls::TlsErrc;
using tls::TLSOptions;
using tls::TlsStream;
using tls::testing::PemPair;
using tls::testing::test_certificates;

namespace {

using testing_support::read_exactly;
using testing_support::run_until;

std::shared_ptr<TLSOptions> server_options(const PemPair& pair) {
  return TLSOptions::server(tls::CryptoKey::load_from_string(pair.key),
                            tls::X509Certificate::load_from_string(pair.cert));
}

std::shared_ptr<TLSOptions> trusting_test_ca(std::string common_name_override = "") {
  return TLSOptions::client(tls::X509Certificate::load_from_string(test_certificates().ca.cert),
                            std::move(common_name_override));
}

// What the server side saw.
struct ServerLog {
  int connected = 0;
  std::vector<std::string> handshake_failures;
  std::vector<std::error_code> handshake_codes;
  std::vector<std::error_code> read_ends;  // empty code: clean close_notify
  std::vector<std::string> read_end_reasons;
};

Task<void> echo(std::unique_ptr<TlsStream> stream, ServerLog* log) {
  std::vector<std::uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = co_await stream->read_some(buffer);
    if (!n || *n == 0) {
      log->read_ends.push_back(n.error());
      log->read_end_reasons.push_back(stream->error());
      if (n) (void)co_await stream->shutdown();
      co_return;
    }
    iovec v{buffer.data(), *n};
    auto w = co_await stream->write_all({&v, 1});
    if (!w) co_return;
  }
}

Task<void> handshake_then_echo(Reactor* reactor, TcpStream tcp, std::shared_ptr<TLSOptions> options,
                               io::Duration timeout, ServerLog* log) {
  std::string error;
  auto stream = co_await TlsStream::accept(std::move(tcp), options, timeout, &error);
  if (!stream) {
    log->handshake_failures.push_back(error);
    log->handshake_codes.push_back(stream.error());
    co_return;
  }
  ++log->connected;
  co_await echo(std::move(*stream), log);
}

Task<void> serve(Reactor* reactor, TcpListener* listener, std::shared_ptr<TLSOptions> options,
                 io::Duration timeout, ServerLog* log) {
  for (;;) {
    auto tcp = co_await listener->accept();
    if (!tcp) co_return;
    reactor->spawn(handshake_then_echo(reactor, std::move(*tcp), options, timeout, log));
  }
}

// A TLS echo server on 127.0.0.1 for the length of a test.
struct Server {
  Server(Reactor& r, std::shared_ptr<TLSOptions> options, io::Duration timeout = 5s)
      : reactor(r), listener(std::move(*TcpListener::bind(r, "127.0.0.1", 0))) {
    task = reactor.spawn(serve(&reactor, &listener, std::move(options), timeout, &log));
  }
  ~Server() { reactor.cancel(task); }
  std::uint16_t port() const { return listener.local_port(); }

  Reactor& reactor;
  TcpListener listener;
  ServerLog log;
  Reactor::TaskId task = 0;
};

Task<Result<std::unique_ptr<TlsStream>>> dial(Reactor& reactor, std::uint16_t port,
                                              std::string host, std::shared_ptr<TLSOptions> options,
                                              std::string* error) {
  auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
  if (!tcp) co_return tcp.error();
  co_return co_await TlsStream::connect(std::move(*tcp), std::move(host), std::move(options), 5s,
                                        error);
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Task<Result<void>> write_text(io::ByteStream& stream, const std::string& text) {
  iovec v{const_cast<char*>(text.data()), text.size()};
  co_return co_await stream.write_all({&v, 1});
}


// The outcome of one client connection attempt.
struct Attempt {
  bool connected = false;
  std::error_code code;
  std::string error;
  tls::TlsState state = tls::TlsState::closed;
};

Attempt attempt(Reactor& reactor, std::uint16_t port, std::string host,
                std::shared_ptr<TLSOptions> options) {
  auto body = [&]() -> Task<Attempt> {
    Attempt a;
    auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
    if (!tcp) co_return a;
    auto stream = TlsStream::client(std::move(*tcp), host, options);
    auto done = co_await stream->handshake(5s);
    a.connected = done.ok();
    a.code = done.error();
    a.error = stream->error();
    a.state = stream->state();
    if (a.connected) {
      auto w = co_await write_text(*stream, "ping");
      a.connected = w.ok() && (co_await read_exactly(*stream, 4)) == "ping";
    }
    co_return a;
  };
  return reactor.sync_wait(body());
}

}  // namespace

TEST_CASE("a TLS client and server echo bytes both ways over 127.0.0.1") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto body = [&]() -> Task<std::string> {
    std::string error;
    auto stream = co_await dial(reactor, server.port(), "localhost", trusting_test_ca(), &error);
    REQUIRE(stream);
    CHECK((*stream)->state() == tls::TlsState::connected);
    CHECK((*stream)->engine().alpn_protocol() == "http/1.1");
    CHECK((*stream)->engine().protocol_version() == "TLSv1.3");
    auto w = co_await write_text(**stream, "hello");
    REQUIRE(w);
    co_return co_await read_exactly(**stream, 5);
  };
  CHECK(reactor.sync_wait(body()) == "hello");
  CHECK(server.log.connected == 1);
}

TEST_CASE("a 1 MiB payload echoes intact while it is still being written") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + i / 7);
  bool written = false;
  auto writer = [&](TlsStream* stream) -> Task<void> {
    // A header and the body as two pieces, like a WebSocket frame.
    iovec v[2] = {{payload.data(), 10}, {payload.data() + 10, payload.size() - 10}};
    auto w = co_await stream->write_all(v);
    written = w.ok();
  };
  auto body = [&]() -> Task<std::string> {
    auto stream = co_await dial(reactor, server.port(), "localhost", trusting_test_ca(), nullptr);
    REQUIRE(stream);
    reactor.spawn(writer(stream->get()));
    co_return co_await read_exactly(**stream, payload.size());
  };
  std::string echoed = reactor.sync_wait(body());
  CHECK(written);
  CHECK(echoed.size() == payload.size());
  CHECK(echoed == payload);
}

TEST_CASE("a certificate for another name fails with TlsErrc::hostname_mismatch") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().wrong_name));
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK_FALSE(a.connected);
  CHECK(a.state == tls::TlsState::failed);
  CHECK(a.code == tls::TlsErrc::hostname_mismatch);
  CHECK(a.code == TlsErrc::hostname_mismatch);
  CHECK(a.error == "hostname mismatch: the certificate is not valid for 'localhost'");
}

TEST_CASE("a certificate from an untrusted CA fails certificate verification") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().untrusted));
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK_FALSE(a.connected);
  CHECK(a.state == tls::TlsState::failed);
  CHECK(a.code == TlsErrc::certificate_verify_failed);
  CHECK(a.error == "certificate verify failed: unable to get local issuer certificate");
}

TEST_CASE("an expired certificate fails certificate verification") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().expired));
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK_FALSE(a.connected);
  CHECK(a.state == tls::TlsState::failed);
  CHECK(a.code == TlsErrc::certificate_verify_failed);
  CHECK(a.error == "certificate verify failed: certificate has expired");
}

TEST_CASE("the system trust store does not trust the test CA") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  Attempt a = attempt(reactor, server.port(), "localhost", TLSOptions::client());
  CHECK_FALSE(a.connected);
  CHECK(a.code == TlsErrc::certificate_verify_failed);
  CHECK(a.error == "certificate verify failed: unable to get local issuer certificate");
}

TEST_CASE("the server learns why a client refused its certificate") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().untrusted));
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK_FALSE(a.connected);
  run_until(reactor, [&] { return !server.log.handshake_failures.empty(); });
  REQUIRE(server.log.handshake_failures.size() == 1);
  CHECK(server.log.handshake_failures[0] == "TLS handshake failed: TLSV1_ALERT_UNKNOWN_CA");
}

TEST_CASE("client_unsafe connects to a server whose certificate nobody trusts") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().untrusted));
  Attempt a = attempt(reactor, server.port(), "localhost", TLSOptions::client_unsafe());
  CHECK(a.connected);
  CHECK(a.state == tls::TlsState::connected);
  CHECK(a.error.empty());
}

TEST_CASE("client_unsafe connects to an expired certificate for another name") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().expired_wrong_name));
  // What a verifying client says of this certificate: not valid for localhost, and expired
  // once its own name is the one checked.
  Attempt wrong_name = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK_FALSE(wrong_name.connected);
  CHECK(wrong_name.state == tls::TlsState::failed);
  CHECK(wrong_name.code == TlsErrc::hostname_mismatch);
  CHECK(wrong_name.error == "hostname mismatch: the certificate is not valid for 'localhost'");
  Attempt expired = attempt(reactor, server.port(), "localhost", trusting_test_ca("wrong.example.com"));
  CHECK_FALSE(expired.connected);
  CHECK(expired.state == tls::TlsState::failed);
  CHECK(expired.code == TlsErrc::certificate_verify_failed);
  CHECK(expired.error == "certificate verify failed: certificate has expired");
  // client_unsafe checks neither.
  Attempt unsafe = attempt(reactor, server.port(), "localhost", TLSOptions::client_unsafe());
  CHECK(unsafe.connected);
  CHECK(unsafe.state == tls::TlsState::connected);
  CHECK(unsafe.error.empty());
}

TEST_CASE("common_name_override checks the certificate against the given name") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().wrong_name));
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca("wrong.example.com"));
  CHECK(a.connected);
  Attempt b = attempt(reactor, server.port(), "localhost", trusting_test_ca("other.example.com"));
  CHECK_FALSE(b.connected);
  CHECK(b.state == tls::TlsState::failed);
  CHECK(b.code == tls::TlsErrc::hostname_mismatch);
  CHECK(b.error == "hostname mismatch: the certificate is not valid for 'other.example.com'");
}

TEST_CASE("an IP literal is verified against the certificate's IP addresses") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  Attempt a = attempt(reactor, server.port(), "127.0.0.1", trusting_test_ca());
  CHECK(a.connected);
}

TEST_CASE("an IP literal missing from the certificate is a hostname mismatch") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().wrong_name));
  Attempt a = attempt(reactor, server.port(), "127.0.0.1", trusting_test_ca());
  CHECK_FALSE(a.connected);
  CHECK(a.state == tls::TlsState::failed);
  CHECK(a.code == tls::TlsErrc::hostname_mismatch);
  CHECK(a.error == "hostname mismatch: the certificate is not valid for '127.0.0.1'");
}

TEST_CASE("a certificate without SAN is checked against its common name") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().cn_only));
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK(a.connected);
}

TEST_CASE("server options cannot connect") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  Attempt a = attempt(reactor, server.port(), "localhost",
                      server_options(test_certificates().server));
  CHECK_FALSE(a.connected);
  CHECK(a.code == TlsErrc::invalid_options);
  CHECK(a.error == "server TLS options cannot be used to connect");
}

TEST_CASE("a key that does not match the certificate fails the accept with a clear error") {
  Reactor reactor;
  const auto& certs = test_certificates();
  auto bad = TLSOptions::server(tls::CryptoKey::load_from_string(certs.wrong_name.key),
                                tls::X509Certificate::load_from_string(certs.server.cert));
  Server server(reactor, bad);
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK_FALSE(a.connected);
  run_until(reactor, [&] { return !server.log.handshake_failures.empty(); });
  REQUIRE(server.log.handshake_failures.size() == 1);
  CHECK(server.log.handshake_failures[0] ==
        "invalid TLS options: private key does not match the certificate");
  CHECK(server.log.handshake_codes[0] == TlsErrc::invalid_options);
}

TEST_CASE("close_notify on a clean shutdown is seen by the peer as a clean end of stream") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto body = [&]() -> Task<void> {
    auto stream = co_await dial(reactor, server.port(), "localhost", trusting_test_ca(), nullptr);
    REQUIRE(stream);
    auto w = co_await write_text(**stream, "bye");
    REQUIRE(w);
    auto echoed = co_await read_exactly(**stream, 3);
    CHECK(echoed == "bye");
    auto s = co_await (*stream)->shutdown();
    CHECK(s);
    // The server answers with its own close_notify: a clean end here too.
    std::uint8_t buf[16];
    auto n = co_await (*stream)->read_some(buf);
    REQUIRE(n);
    CHECK(*n == 0);
    CHECK((*stream)->engine().close_notify_received());
    // Writing after our close_notify is refused.
    auto late = co_await write_text(**stream, "late");
    CHECK(late.error() == TlsErrc::closed);
  };
  reactor.sync_wait(body());
  run_until(reactor, [&] { return !server.log.read_ends.empty(); });
  REQUIRE(server.log.read_ends.size() == 1);
  CHECK_FALSE(server.log.read_ends[0]);
}

TEST_CASE("a connection dropped without close_notify is reported as truncated") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto body = [&]() -> Task<void> {
    auto stream = co_await dial(reactor, server.port(), "localhost", trusting_test_ca(), nullptr);
    REQUIRE(stream);
    auto w = co_await write_text(**stream, "x");
    REQUIRE(w);
    auto echoed = co_await read_exactly(**stream, 1);
    CHECK(echoed == "x");
    // Half-close TCP under TLS: the server sees EOF without close_notify.
    auto s = co_await (*stream)->tcp()->shutdown();
    CHECK(s);
  };
  reactor.sync_wait(body());
  run_until(reactor, [&] { return !server.log.read_ends.empty(); });
  REQUIRE(server.log.read_ends.size() == 1);
  CHECK(server.log.read_ends[0] == TlsErrc::truncated);
  CHECK(server.log.read_end_reasons[0] ==
        "TLS stream truncated: the peer closed the connection without close_notify");
}

TEST_CASE("garbage instead of a ClientHello fails that connection and the server serves others") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto garbage = [&]() -> Task<std::string> {
    auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", server.port()));
    REQUIRE(tcp);
    auto sent = co_await tcp->send_all(bytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    REQUIRE(sent);
    co_return co_await read_exactly(*tcp, 1000);
  };
  // BoringSSL sends no alert to an HTTP request; the connection is closed.
  CHECK(reactor.sync_wait(garbage()) == "");
  REQUIRE(server.log.handshake_failures.size() == 1);
  CHECK(server.log.handshake_failures[0] == "TLS handshake failed: the client sent plain HTTP, not TLS");
  CHECK(server.log.handshake_codes[0] == TlsErrc::not_tls);
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK(a.connected);
}

TEST_CASE("a client that stops mid-handshake times out and the server serves others") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server), 200ms);
  auto stalled = [&]() -> Task<Result<TcpStream>> {
    auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", server.port()));
    REQUIRE(tcp);
    // The first bytes of a ClientHello record header, then nothing.
    auto sent = co_await tcp->send_all(bytes("\x16\x03\x01"));
    REQUIRE(sent);
    co_return std::move(*tcp);
  };
  auto start = std::chrono::steady_clock::now();
  auto tcp = reactor.sync_wait(stalled());  // kept open while the server waits
  REQUIRE(tcp);
  // Another client is served meanwhile.
  Attempt a = attempt(reactor, server.port(), "localhost", trusting_test_ca());
  CHECK(a.connected);
  run_until(reactor, [&] { return !server.log.handshake_failures.empty(); });
  REQUIRE(server.log.handshake_failures.size() == 1);
  CHECK(server.log.handshake_failures[0] == "TLS handshake timed out");
  CHECK(server.log.handshake_codes[0] == TlsErrc::handshake_timeout);
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);  // not before its deadline
}

TEST_CASE("a peer that closes mid-handshake fails the handshake with a reason") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto quitter = [&]() -> Task<void> {
    auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", server.port()));
    REQUIRE(tcp);
    auto sent = co_await tcp->send_all(bytes("\x16\x03\x01"));
    REQUIRE(sent);
    tcp->close();
  };
  reactor.sync_wait(quitter());
  run_until(reactor, [&] { return !server.log.handshake_failures.empty(); });
  REQUIRE(server.log.handshake_failures.size() == 1);
  CHECK(server.log.handshake_failures[0] ==
        "TLS handshake failed: the peer closed the connection");
}

TEST_CASE("a client whose server vanishes mid-handshake fails with a reason") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto closer = [&]() -> Task<void> {
    auto tcp = co_await listener->accept();
    if (tcp) {
      std::uint8_t buf[64];
      (void)co_await tcp->read_some(buf);  // part of the ClientHello
      tcp->close();
    }
  };
  auto id = reactor.spawn(closer());
  Attempt a = attempt(reactor, listener->local_port(), "localhost", trusting_test_ca());
  reactor.cancel(id);
  CHECK_FALSE(a.connected);
  CHECK(a.state == tls::TlsState::failed);
  CHECK(a.code == TlsErrc::handshake_failed);
  CHECK((a.error == "TLS handshake failed: the peer closed the connection" ||
         a.error == "TLS handshake failed: Connection reset by peer"));
}

TEST_CASE("a second connection resumes the TLS session") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto options = trusting_test_ca();
  auto body = [&]() -> Task<std::vector<bool>> {
    std::vector<bool> reused;
    for (int i = 0; i < 2; ++i) {
      auto stream = co_await dial(reactor, server.port(), "localhost", options, nullptr);
      REQUIRE(stream);
      auto w = co_await write_text(**stream, "r");
      REQUIRE(w);
      auto echoed = co_await read_exactly(**stream, 1);  // brings the session tickets along
      CHECK(echoed == "r");
      reused.push_back((*stream)->engine().session_reused());
    }
    co_return reused;
  };
  CHECK(reactor.sync_wait(body()) == std::vector<bool>{false, true});
}
