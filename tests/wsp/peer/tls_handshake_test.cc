// TlsHandshake: the poll-driven TLS handshake StreamPeerTLS uses, against a TlsStream echo
// server over 127.0.0.1 (moved here from tests/tls: it is the façade's, not the TLS layer's).
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
#include "tls/tls_stream.h"
#include "wsp/peer/tls_handshake.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Result;
using io::Task;
using io::TcpListener;
using io::TcpStream;
using tls::TLSOptions;
using tls::TlsStream;
using tls::testing::PemPair;
using tls::testing::test_certificates;
using testing_support::read_exactly;
using testing_support::run_until;

namespace {

std::shared_ptr<TLSOptions> server_options(const PemPair& pair) {
  return TLSOptions::server(tls::CryptoKey::load_from_string(pair.key),
                            tls::X509Certificate::load_from_string(pair.cert));
}

std::shared_ptr<TLSOptions> trusting_test_ca() {
  return TLSOptions::client(tls::X509Certificate::load_from_string(test_certificates().ca.cert));
}

Task<Result<void>> write_text(io::ByteStream& stream, const std::string& text) {
  iovec v{const_cast<char*>(text.data()), text.size()};
  co_return co_await stream.write_all({&v, 1});
}

Task<void> echo(TcpStream tcp, std::shared_ptr<TLSOptions> options) {
  auto stream = co_await TlsStream::accept(std::move(tcp), options, 5s);
  if (!stream) co_return;
  std::vector<std::uint8_t> buffer(16 * 1024);
  for (;;) {
    auto n = co_await (*stream)->read_some(buffer);
    if (!n || *n == 0) co_return;
    iovec v{buffer.data(), *n};
    if (!co_await (*stream)->write_all({&v, 1})) co_return;
  }
}

Task<void> serve(Reactor* reactor, TcpListener* listener, std::shared_ptr<TLSOptions> options) {
  for (;;) {
    auto tcp = co_await listener->accept();
    if (!tcp) co_return;
    reactor->spawn(echo(std::move(*tcp), options));
  }
}

// A TLS echo server on 127.0.0.1 for the length of a test.
struct Server {
  Server(Reactor& r, std::shared_ptr<TLSOptions> options)
      : reactor(r), listener(std::move(*TcpListener::bind(r, "127.0.0.1", 0))) {
    task = reactor.spawn(serve(&reactor, &listener, std::move(options)));
  }
  ~Server() { reactor.cancel(task); }
  std::uint16_t port() const { return listener.local_port(); }

  Reactor& reactor;
  TcpListener listener;
  Reactor::TaskId task = 0;
};

}  // namespace

TEST_CASE("a poll-driven TlsHandshake reaches STATUS_CONNECTED and hands over the stream") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().server));
  auto tcp = reactor.sync_wait(
      TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", server.port())));
  REQUIRE(tcp);
  auto handshake = wsp::TlsHandshake::connect(reactor, std::move(*tcp), "localhost",
                                              trusting_test_ca(), 5s);
  CHECK(handshake->status() == wsp::TlsStatusValues::STATUS_HANDSHAKING);
  CHECK(handshake->take_stream() == nullptr);
  // A façade's poll() would call reactor.poll().
  run_until(reactor, [&] { return handshake->status() != wsp::TlsStatusValues::STATUS_HANDSHAKING; });
  REQUIRE(handshake->status() == wsp::TlsStatusValues::STATUS_CONNECTED);
  auto stream = handshake->take_stream();
  REQUIRE(stream);
  CHECK(handshake->status() == wsp::TlsStatusValues::STATUS_DISCONNECTED);
  auto body = [&]() -> Task<std::string> {
    auto w = co_await write_text(*stream, "polled");
    REQUIRE(w);
    co_return co_await read_exactly(*stream, 6);
  };
  CHECK(reactor.sync_wait(body()) == "polled");
}

TEST_CASE("a poll-driven TlsHandshake reports a hostname mismatch") {
  Reactor reactor;
  Server server(reactor, server_options(test_certificates().wrong_name));
  auto tcp = reactor.sync_wait(
      TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", server.port())));
  REQUIRE(tcp);
  auto handshake = wsp::TlsHandshake::connect(reactor, std::move(*tcp), "localhost",
                                              trusting_test_ca(), 5s);
  run_until(reactor, [&] { return handshake->status() != wsp::TlsStatusValues::STATUS_HANDSHAKING; });
  CHECK(handshake->status() == wsp::TlsStatusValues::STATUS_ERROR_HOSTNAME_MISMATCH);
  CHECK(handshake->error() == "hostname mismatch: the certificate is not valid for 'localhost'");
  CHECK(handshake->take_stream() == nullptr);
}

TEST_CASE("destroying a poll-driven TlsHandshake mid-way cancels it cleanly") {
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto tcp = reactor.sync_wait(TcpStream::connect(
      reactor, *io::SocketAddress::parse("127.0.0.1", listener->local_port())));
  REQUIRE(tcp);
  auto handshake = wsp::TlsHandshake::accept(reactor, std::move(*tcp),
                                             server_options(test_certificates().server), 5s);
  reactor.run_once(10ms);
  CHECK(handshake->status() == wsp::TlsStatusValues::STATUS_HANDSHAKING);
  handshake.reset();
  CHECK(reactor.detached_count() == 0);
}
