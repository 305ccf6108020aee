// BoringSSL is loaded when TLS is first used (tls/boringssl.h): a ws:// client and server never
// map it. This binary must not link BoringSSL itself, or the libraries would be there from start.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tls/boringssl.h"
#include "tls/tls_options.h"
#include "wsp/websocket.h"

namespace {

bool mapped(const std::string& library) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find("/" + library) != std::string::npos;
}

// One ws:// echo of a text message, client and server in this process.
void echo_over_ws() {
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto serve = [&]() -> io::Task<void> {
    auto tcp = co_await listener->accept();
    REQUIRE(tcp);
    auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(*tcp)));
    REQUIRE(ws);
    wsp::Received m = co_await (*ws)->receive();
    REQUIRE_FALSE(m.closed);
    auto echoed = co_await (*ws)->send(std::move(m.data), m.text);
    CHECK(echoed);
    co_await (*ws)->receive();  // the client's close
  };
  reactor.spawn(serve());
  auto client = [&]() -> io::Task<void> {
    std::string url = "ws://127.0.0.1:" + std::to_string(listener->local_port()) + "/";
    auto ws = co_await wsp::connect(reactor, url);
    REQUIRE(ws);
    auto sent = co_await (*ws)->send(std::string("masked by the client"), true);
    REQUIRE(sent);
    wsp::Received echo = co_await (*ws)->receive();
    CHECK(echo.data == "masked by the client");
    co_await (*ws)->close(1000, "");
  };
  reactor.sync_wait(client());
}

}  // namespace

TEST_CASE("ws:// never loads BoringSSL; a failed load leaves it out; the first TLS use loads it") {
  REQUIRE_FALSE(mapped("libssl.so.0"));
  REQUIRE_FALSE(mapped("libcrypto.so.0"));

  echo_over_ws();  // a client's handshake key and masking keys, a server's accept key
  CHECK_FALSE(mapped("libssl.so.0"));
  CHECK_FALSE(mapped("libcrypto.so.0"));

  std::string why;
  CHECK_FALSE(tls::detail::load_boringssl_from("/nonexistent", &why));
  CHECK(why.find("cannot load BoringSSL: /nonexistent/libssl.so.0") != std::string::npos);
  CHECK_FALSE(mapped("libssl.so.0"));

  auto options = tls::TLSOptions::client_unsafe();
  CHECK(options->valid());
  CHECK(mapped("libssl.so.0"));
  CHECK(mapped("libcrypto.so.0"));
  CHECK(tls::load_boringssl(&why));
}
