// The opening handshake (RFC 6455 §4).
#include <catch2/catch.hpp>

#include <string>

#include "wsp/protocol/handshake.h"

using namespace wsp;

namespace {

const std::string kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
const std::string kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

HandshakeStatus feed(ClientHandshake& h, const std::string& s, std::size_t* consumed = nullptr) {
  std::size_t n = 0;
  const auto st = h.feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), n);
  if (consumed) *consumed = n;
  return st;
}

HandshakeStatus feed(ServerHandshake& h, const std::string& s, std::size_t* consumed = nullptr) {
  std::size_t n = 0;
  const auto st = h.feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), n);
  if (consumed) *consumed = n;
  return st;
}

ClientHandshake rfc_client(std::vector<std::string> protocols = {}) {
  return ClientHandshake({"server.example.com", 80, false, "/chat", std::move(protocols), {}, {}},
                         kRfcKey);
}

std::string response_101(const std::string& extra = "") {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " + kRfcAccept + "\r\n" + extra + "\r\n";
}

std::string request(const std::string& extra = "", const std::string& version = "13",
                    const std::string& line = "GET /chat?x=1 HTTP/1.1") {
  return line + "\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
         "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " + kRfcKey + "\r\n" +
         (version.empty() ? "" : "Sec-WebSocket-Version: " + version + "\r\n") + extra + "\r\n";
}

}  // namespace

// ---- Keys -------------------------------------------------------------------------------

TEST_CASE("the accept key of the RFC 6455 sample nonce is the RFC's value") {
  CHECK(compute_accept_key(kRfcKey) == kRfcAccept);
}

TEST_CASE("a client key is 16 random bytes in base64") {
  const std::string a = make_client_key(), b = make_client_key();
  CHECK(a.size() == 24);
  CHECK(a.substr(22) == "==");
  CHECK(a != b);
}

// ---- Client request ---------------------------------------------------------------------

TEST_CASE("the client request has the RFC 6455 §4.1 fields in order") {
  ClientHandshake h({"server.example.com", 80, false, "/chat?a=b", {"chat", "superchat"},
                     {"Origin: http://example.com", "X-Token: 1"}, {}},
                    kRfcKey);
  CHECK(h.request() ==
        "GET /chat?a=b HTTP/1.1\r\n"
        "Host: server.example.com\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: chat, superchat\r\n"
        "Origin: http://example.com\r\n"
        "X-Token: 1\r\n"
        "\r\n");
}

TEST_CASE("the Host header carries the port only when it is not the default") {
  auto host_line = [](std::string host, int port, bool tls) {
    ClientHandshake h({std::move(host), port, tls, "/", {}, {}, {}}, kRfcKey);
    const std::string r = h.request();
    const std::size_t a = r.find("Host: ");
    return r.substr(a, r.find("\r\n", a) - a);
  };
  CHECK(host_line("example.com", 80, false) == "Host: example.com");
  CHECK(host_line("example.com", 443, true) == "Host: example.com");
  CHECK(host_line("example.com", 443, false) == "Host: example.com:443");
  CHECK(host_line("example.com", 80, true) == "Host: example.com:80");
  CHECK(host_line("example.com", 8080, false) == "Host: example.com:8080");
  CHECK(host_line("::1", 9000, false) == "Host: [::1]:9000");
  CHECK(host_line("[::1]", 80, false) == "Host: [::1]");
}

TEST_CASE("an empty path is sent as /") {
  ClientHandshake h({"h", 80, false, "", {}, {}, {}}, kRfcKey);
  CHECK(h.request().rfind("GET / HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("extra headers with CR or LF are refused and left out of the request") {
  CHECK(ClientHandshake::valid_extra_header("X-A: b"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("X-A: b\r\nEvil: 1"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("X-A: b\n"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("X-A: b\r"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("no colon"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("Bad Name: x"));
  ClientHandshake h({"h", 80, false, "/", {}, {"X-A: b\r\nEvil: 1", "X-Ok: 1"}, {}}, kRfcKey);
  CHECK(h.request().find("Evil") == std::string::npos);
  CHECK(h.request().find("X-Ok: 1\r\n") != std::string::npos);
}

// ---- Client response --------------------------------------------------------------------

TEST_CASE("a valid 101 response completes the client handshake") {
  ClientHandshake h = rfc_client();
  CHECK(feed(h, response_101()) == HandshakeStatus::done);
  CHECK(h.error().empty());
  CHECK(h.selected_protocol().empty());
}

TEST_CASE("the client stops consuming right after the blank line") {
  ClientHandshake h = rfc_client();
  const std::string resp = response_101();
  std::size_t consumed = 0;
  CHECK(feed(h, resp + "\x81\x02hi", &consumed) == HandshakeStatus::done);
  CHECK(consumed == resp.size());
}

TEST_CASE("the client parses a response fed one byte at a time") {
  ClientHandshake h = rfc_client();
  const std::string resp = response_101();
  for (std::size_t i = 0; i < resp.size(); ++i) {
    std::size_t n = 0;
    const auto st = h.feed(reinterpret_cast<const std::uint8_t*>(resp.data()) + i, 1, n);
    CHECK(n == 1);
    CHECK(st == (i + 1 == resp.size() ? HandshakeStatus::done : HandshakeStatus::incomplete));
  }
}

TEST_CASE("header names and Upgrade/Connection tokens are case-insensitive") {
  ClientHandshake h = rfc_client();
  CHECK(feed(h, "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                "CONNECTION: keep-alive,  UPGRADE\r\nsec-websocket-accept: " +
                    kRfcAccept + "\r\n\r\n") == HandshakeStatus::done);
}

TEST_CASE("a status other than 101 fails the client handshake") {
  ClientHandshake h = rfc_client();
  CHECK(feed(h, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n") == HandshakeStatus::failed);
  CHECK(h.error() == "server answered \"403 Forbidden\" instead of 101 Switching Protocols");
}

TEST_CASE("a missing Upgrade or Connection token fails the client handshake") {
  ClientHandshake a = rfc_client();
  CHECK(feed(a, "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: " + kRfcAccept + "\r\n\r\n") == HandshakeStatus::failed);
  CHECK(a.error() == "response lacks \"Upgrade: websocket\"");
  ClientHandshake b = rfc_client();
  CHECK(feed(b, "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                "Sec-WebSocket-Accept: " + kRfcAccept + "\r\n\r\n") == HandshakeStatus::failed);
  CHECK(b.error() == "response Connection header lacks the \"upgrade\" token");
}

TEST_CASE("a wrong Sec-WebSocket-Accept fails the client handshake") {
  ClientHandshake h({"h", 80, false, "/", {}, {}, {}}, "AAAAAAAAAAAAAAAAAAAAAA==");
  CHECK(feed(h, response_101()) == HandshakeStatus::failed);
  CHECK(h.error() == "Sec-WebSocket-Accept does not match the key sent");
}

TEST_CASE("the selected subprotocol must be one we offered") {
  ClientHandshake ok = rfc_client({"chat", "superchat"});
  CHECK(feed(ok, response_101("Sec-WebSocket-Protocol: superchat\r\n")) == HandshakeStatus::done);
  CHECK(ok.selected_protocol() == "superchat");
  ClientHandshake bad = rfc_client({"chat"});
  CHECK(feed(bad, response_101("Sec-WebSocket-Protocol: other\r\n")) == HandshakeStatus::failed);
  CHECK(bad.error() == "server selected subprotocol \"other\" that was not offered");
  ClientHandshake none_offered = rfc_client();
  CHECK(feed(none_offered, response_101("Sec-WebSocket-Protocol: chat\r\n")) ==
        HandshakeStatus::failed);
}

TEST_CASE("when we offered subprotocols the server must select one") {
  ClientHandshake h = rfc_client({"chat"});
  CHECK(feed(h, response_101()) == HandshakeStatus::failed);
  CHECK(h.error() == "server selected none of the offered subprotocols");
}

TEST_CASE("an extension we did not offer fails the client handshake") {
  ClientHandshake h = rfc_client();
  CHECK(feed(h, response_101("Sec-WebSocket-Extensions: permessage-deflate\r\n")) ==
        HandshakeStatus::failed);
  CHECK(h.error() == "server selected extension \"permessage-deflate\" that was not offered");
}

TEST_CASE("a response header block over 4096 bytes fails the client handshake") {
  ClientHandshake h = rfc_client();
  const std::string big = "HTTP/1.1 101 OK\r\nX-Pad: " + std::string(5000, 'p');
  std::size_t consumed = 0;
  CHECK(feed(h, big, &consumed) == HandshakeStatus::failed);
  CHECK(consumed == 4096);
  CHECK(h.error() == "response header block larger than 4096 bytes");
}

TEST_CASE("a garbage response fails the client handshake") {
  ClientHandshake h = rfc_client();
  CHECK(feed(h, "SSH-2.0-OpenSSH\r\n\r\n") == HandshakeStatus::failed);
  CHECK(h.error() == "malformed status line");
}

// ---- Server -----------------------------------------------------------------------------

TEST_CASE("the server answers the RFC 6455 sample request with 101 and the sample accept key") {
  ServerHandshake h({{}, {"X-Server: wsp"}, false, kDefaultMaxHeaderBytes, {}});
  CHECK(feed(h, request()) == HandshakeStatus::done);
  CHECK(h.http_status() == 101);
  CHECK(h.response() ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "X-Server: wsp\r\n"
        "\r\n");
  CHECK(h.request_target() == "/chat?x=1");
  CHECK(h.host() == "server.example.com");
  CHECK(h.requested_url() == "ws://server.example.com/chat?x=1");
}

TEST_CASE("the requested URL uses wss:// behind TLS") {
  ServerHandshake h({{}, {}, true, kDefaultMaxHeaderBytes, {}});
  CHECK(feed(h, request()) == HandshakeStatus::done);
  CHECK(h.requested_url() == "wss://server.example.com/chat?x=1");
}

TEST_CASE("a client's request is read back by the server") {
  ClientHandshake c({"example.com", 8443, true, "/p?q", {"b"}, {"X-A: 1"}, {}});
  ServerHandshake s({{"a", "b"}, {}, true, kDefaultMaxHeaderBytes, {}});
  CHECK(feed(s, c.request()) == HandshakeStatus::done);
  CHECK(s.selected_protocol() == "b");
  CHECK(s.header("x-a") == "1");
  CHECK(s.requested_url() == "wss://example.com:8443/p?q");
  CHECK(feed(c, s.response()) == HandshakeStatus::done);
  CHECK(c.selected_protocol() == "b");
}

TEST_CASE("the server stops consuming right after the blank line") {
  ServerHandshake h({});
  const std::string req = request();
  std::size_t consumed = 0;
  CHECK(feed(h, req + "\x81\x82" "abcdef", &consumed) == HandshakeStatus::done);
  CHECK(consumed == req.size());
}

TEST_CASE("the server parses a request fed one byte at a time") {
  ServerHandshake h({});
  const std::string req = request();
  HandshakeStatus st = HandshakeStatus::incomplete;
  for (std::size_t i = 0; i < req.size(); ++i) {
    std::size_t n = 0;
    st = h.feed(reinterpret_cast<const std::uint8_t*>(req.data()) + i, 1, n);
    REQUIRE(n == 1);
  }
  CHECK(st == HandshakeStatus::done);
}

TEST_CASE("repeated headers are joined with a comma, names case-insensitive") {
  ServerHandshake h({});
  CHECK(feed(h, request("X-Multi: a\r\nx-multi: b\r\n")) == HandshakeStatus::done);
  CHECK(h.header("X-MULTI") == "a, b");
  CHECK(h.header("Absent").empty());
  CHECK(h.headers().size() == 7);
}

TEST_CASE("the server selects the first of the client's protocols that it supports") {
  ServerHandshake h({{"b", "c"}, {}, false, kDefaultMaxHeaderBytes, {}});
  CHECK(feed(h, request("Sec-WebSocket-Protocol: a, c\r\nSec-WebSocket-Protocol: b\r\n")) ==
        HandshakeStatus::done);
  CHECK(h.selected_protocol() == "c");
  CHECK(h.response().find("Sec-WebSocket-Protocol: c\r\n") != std::string::npos);
}

TEST_CASE("no matching subprotocol fails the server handshake with 400") {
  ServerHandshake h({{"b"}, {}, false, kDefaultMaxHeaderBytes, {}});
  CHECK(feed(h, request("Sec-WebSocket-Protocol: a\r\n")) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
  CHECK(h.error() == "none of the requested subprotocols is supported");
  CHECK(h.response().rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
}

TEST_CASE("a client offering no subprotocol fails when the server requires one") {
  ServerHandshake h({{"b"}, {}, false, kDefaultMaxHeaderBytes, {}});
  CHECK(feed(h, request()) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
  CHECK(h.error() == "no subprotocol requested");
}

TEST_CASE("a server without subprotocols fails a client that offers some with 400") {
  ServerHandshake h({});
  CHECK(feed(h, request("Sec-WebSocket-Protocol: a\r\n")) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
}

TEST_CASE("a wrong version fails with 426 and names version 13") {
  ServerHandshake h({});
  CHECK(feed(h, request("", "8")) == HandshakeStatus::failed);
  CHECK(h.http_status() == 426);
  CHECK(h.response() ==
        "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n"
        "Content-Length: 0\r\n\r\n");
}

TEST_CASE("malformed or incomplete requests fail with 400") {
  struct Case {
    std::string req;
    std::string error;
  };
  const std::string key = "Sec-WebSocket-Key: " + kRfcKey + "\r\n";
  const std::string up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  const Case cases[] = {
      {request("", ""), "missing Sec-WebSocket-Version"},
      {request("", "13", "POST /chat HTTP/1.1"), "not a GET request"},
      {request("", "13", "GET /chat HTTP/1.0"), "HTTP version older than 1.1"},
      {request("", "13", "GET chat HTTP/1.1"), "request target is not a path"},
      {request("", "13", "GET /chat  HTTP/1.1"), "malformed request line"},
      {request("", "13", "GET /chat"), "malformed request line"},
      {"GET / HTTP/1.1\r\n" + up + key + "Sec-WebSocket-Version: 13\r\n\r\n",
       "missing or repeated Host header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + up + key + "Sec-WebSocket-Version: 13\r\n\r\n",
       "missing or repeated Host header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n" + key +
           "Sec-WebSocket-Version: 13\r\n\r\n",
       "missing \"Upgrade: websocket\""},
      {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: close\r\n" + key +
           "Sec-WebSocket-Version: 13\r\n\r\n",
       "Connection header lacks the \"upgrade\" token"},
      {"GET / HTTP/1.1\r\nHost: a\r\n" + up + "Sec-WebSocket-Version: 13\r\n\r\n",
       "missing or malformed Sec-WebSocket-Key"},
      {"GET / HTTP/1.1\r\nHost: a\r\n" + up +
           "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
       "missing or malformed Sec-WebSocket-Key"},
      {request(" folded: x\r\n"), "obsolete line folding in the header block"},
      {request("NoColon\r\n"), "header line without a colon"},
      {request("Bad Name: x\r\n"), "malformed header name"},
      {request("X: a\x01" "b\r\n"), "control character in a header value"},
  };
  for (const Case& c : cases) {
    ServerHandshake h({});
    INFO(c.req);
    CHECK(feed(h, c.req) == HandshakeStatus::failed);
    CHECK(h.http_status() == 400);
    CHECK(h.error() == c.error);
  }
}

TEST_CASE("a request that does not start with GET is refused from its first bytes") {
  ServerHandshake tls_hello({});
  CHECK(feed(tls_hello, "\x16\x03") == HandshakeStatus::failed);
  CHECK(tls_hello.http_status() == 400);
  CHECK(tls_hello.error() == "not a GET request");
  ServerHandshake post({});
  CHECK(feed(post, "GE") == HandshakeStatus::incomplete);
  CHECK(feed(post, "TX") == HandshakeStatus::failed);
}

TEST_CASE("a header block over the limit fails with 431 without buffering more") {
  ServerHandshake h({{}, {}, false, 1000, {}});
  std::size_t consumed = 0;
  CHECK(feed(h, "GET / HTTP/1.1\r\nX-Pad: " + std::string(5000, 'p'), &consumed) ==
        HandshakeStatus::failed);
  CHECK(consumed == 1000);
  CHECK(h.http_status() == 431);
  CHECK(h.response().rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
}

TEST_CASE("the default server header limit is 4096 bytes") {
  ServerHandshake fits({});
  const std::string req = request("X-Pad: " + std::string(4096 - request().size() - 9, 'p') + "\r\n");
  REQUIRE(req.size() == 4096);
  CHECK(feed(fits, req) == HandshakeStatus::done);
  ServerHandshake over({});
  CHECK(feed(over, request("X-Pad: " + std::string(4096, 'p') + "\r\n")) ==
        HandshakeStatus::failed);
  CHECK(over.http_status() == 431);
}

TEST_CASE("more than 100 header fields fail with 431") {
  std::string extra;
  for (int i = 0; i < 100; ++i) extra += "X: " + std::to_string(i) + "\r\n";
  ServerHandshake h({{}, {}, false, 8192, {}});
  CHECK(feed(h, request(extra)) == HandshakeStatus::failed);
  CHECK(h.http_status() == 431);
  CHECK(h.error() == "too many header fields");
}

TEST_CASE("the server's response is empty while the request is incomplete") {
  ServerHandshake h({});
  CHECK(feed(h, "GET / HTTP/1.1\r\nHost: a\r\n") == HandshakeStatus::incomplete);
  CHECK(h.response().empty());
  CHECK(h.http_status() == 0);
}
