// The opening handshake (RFC 6455 §4).
#include <catch2/catch.hpp>

#include <memory>
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
  return ClientHandshake({"server.example.com", 80, false, "/chat", std::move(protocols), {}},
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
                     {"Origin: http://example.com", "X-Token: 1"}},
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
    ClientHandshake h({std::move(host), port, tls, "/", {}, {}}, kRfcKey);
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
  ClientHandshake h({"h", 80, false, "", {}, {}}, kRfcKey);
  CHECK(h.request().rfind("GET / HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("extra headers with CR or LF are refused and left out of the request") {
  CHECK(ClientHandshake::valid_extra_header("X-A: b"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("X-A: b\r\nEvil: 1"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("X-A: b\n"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("X-A: b\r"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("no colon"));
  CHECK_FALSE(ClientHandshake::valid_extra_header("Bad Name: x"));
  ClientHandshake h({"h", 80, false, "/", {}, {"X-A: b\r\nEvil: 1", "X-Ok: 1"}}, kRfcKey);
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
  CHECK(h.error() == "server refused the handshake: 403 Forbidden");
  CHECK(h.http_status() == 403);
  ClientHandshake ok = rfc_client();
  CHECK(feed(ok, "HTTP/1.1 200 OK\r\n\r\n") == HandshakeStatus::failed);
  CHECK(ok.error() == "server answered 200 OK instead of 101 Switching Protocols");
  CHECK(ok.http_status() == 200);
}

TEST_CASE("a refusal's text/plain body is read and becomes the reason") {
  ClientHandshake h = rfc_client({"chat"});
  const std::string body = "no common subprotocol: offered chat, supported none\n";
  const std::string refusal = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t consumed = 0;
  CHECK(feed(h, refusal + "trailing", &consumed) == HandshakeStatus::failed);
  CHECK(consumed == refusal.size());
  CHECK(h.http_status() == 400);
  CHECK(h.error() ==
        "server refused the handshake: 400 Bad Request: no common subprotocol: offered chat, "
        "supported none");
}

TEST_CASE("a refusal fed one byte at a time waits for its whole body") {
  ClientHandshake h = rfc_client();
  const std::string refusal =
      "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nwhy\n";
  for (std::size_t i = 0; i < refusal.size(); ++i) {
    std::size_t n = 0;
    const auto st = h.feed(reinterpret_cast<const std::uint8_t*>(refusal.data()) + i, 1, n);
    CHECK(n == 1);
    CHECK(st == (i + 1 == refusal.size() ? HandshakeStatus::failed : HandshakeStatus::incomplete));
  }
  CHECK(h.error() == "server refused the handshake: 426 Upgrade Required: why");
}

TEST_CASE("a refusal body cut short by the end of the stream gives the part that came") {
  ClientHandshake h = rfc_client();
  CHECK(feed(h, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n"
                "\r\nnot a GET") == HandshakeStatus::incomplete);
  CHECK(h.end_of_stream() == HandshakeStatus::failed);
  CHECK(h.error() == "server refused the handshake: 400 Bad Request: not a GET");
  ClientHandshake cut = rfc_client();
  CHECK(feed(cut, "HTTP/1.1 101 Switching") == HandshakeStatus::incomplete);
  CHECK(cut.end_of_stream() == HandshakeStatus::failed);
  CHECK(cut.error() == "the server closed the connection during the handshake");
  CHECK(cut.http_status() == 0);
  ClientHandshake silent = rfc_client();
  CHECK(silent.end_of_stream() == HandshakeStatus::failed);
  CHECK(silent.error() == "the server closed the connection without answering the handshake");
}

TEST_CASE("a TLS record instead of a response says the server speaks TLS, from its first byte") {
  ClientHandshake alert = rfc_client();
  CHECK(feed(alert, std::string("\x15\x03\x03\x00\x02\x02\x46", 7)) == HandshakeStatus::failed);
  CHECK(alert.error() == "the server answered in TLS; perhaps it serves wss://, not plain ws://");
  ClientHandshake hello = rfc_client();
  CHECK(feed(hello, "\x16") == HandshakeStatus::failed);
  CHECK(hello.error() == "the server answered in TLS; perhaps it serves wss://, not plain ws://");
}

TEST_CASE("a refusal body is read up to 1 KiB, on one line, printable ASCII only") {
  ClientHandshake h = rfc_client();
  std::string body = "line one\r\nline\ttwo \x01\xc3\xa9 ";
  body += std::string(2000 - body.size(), 'x');
  const std::string head = "HTTP/1.1 400 Bad Request\r\nContent-Type: TEXT/PLAIN\r\n"
                           "Content-Length: 2000\r\n\r\n";
  std::size_t consumed = 0;
  CHECK(feed(h, head + body, &consumed) == HandshakeStatus::failed);
  CHECK(consumed == head.size() + kMaxRefusalBodyBytes);
  const std::string prefix = "server refused the handshake: 400 Bad Request: line one line two ???";
  REQUIRE(h.error().rfind(prefix + " xxx", 0) == 0);
  CHECK(h.error().size() == prefix.size() + 1 + (kMaxRefusalBodyBytes - 23));
}

TEST_CASE("a refusal body that is not text/plain, or not of announced length, is not read") {
  for (const std::string& head :
       {std::string("HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n"),
        std::string("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n"),
        std::string("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"),
        std::string("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9x\r\n\r\n")}) {
    INFO(head);
    ClientHandshake h = rfc_client();
    std::size_t consumed = 0;
    CHECK(feed(h, head + "<p>x</p>", &consumed) == HandshakeStatus::failed);
    CHECK(consumed == head.size());
    CHECK(h.error() == "server refused the handshake: 404 Not Found");
  }
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
  ClientHandshake h({"h", 80, false, "/", {}, {}}, "AAAAAAAAAAAAAAAAAAAAAA==");
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
  CHECK(h.error() == "malformed status line in the response");
  ClientHandshake letters = rfc_client();
  CHECK(feed(letters, "HTTP/1.1 abc Bad\r\n\r\n") == HandshakeStatus::failed);
  CHECK(letters.error() == "malformed status line in the response");
  CHECK(letters.http_status() == 0);
}

// ---- Server -----------------------------------------------------------------------------

TEST_CASE("the server answers the RFC 6455 sample request with 101 and the sample accept key") {
  ServerHandshake h({{}, {"X-Server: wsp"}, false});
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

TEST_CASE("handshakes made with sharing() point at one copy of the options and answer by it") {
  auto options = std::make_shared<const ServerHandshakeOptions>(
      ServerHandshakeOptions{{}, {"X-Server: shared"}, true});
  ServerHandshake a = ServerHandshake::sharing(options);
  ServerHandshake b = ServerHandshake::sharing(options);
  CHECK(options.use_count() == 3);  // not copied: a pending handshake holds a pointer
  for (ServerHandshake* h : {&a, &b}) {
    CHECK(feed(*h, request()) == HandshakeStatus::done);
    CHECK(h->response().find("X-Server: shared\r\n") != std::string::npos);
    CHECK(h->requested_url() == "wss://server.example.com/chat?x=1");
  }
}

TEST_CASE("the requested URL uses wss:// behind TLS") {
  ServerHandshake h({{}, {}, true});
  CHECK(feed(h, request()) == HandshakeStatus::done);
  CHECK(h.requested_url() == "wss://server.example.com/chat?x=1");
}

TEST_CASE("a client's request is read back by the server") {
  ClientHandshake c({"example.com", 8443, true, "/p?q", {"b"}, {"X-A: 1"}});
  ServerHandshake s({{"a", "b"}, {}, true});
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

TEST_CASE("the server reads its fields in place: repeats, moves and taking the fields out") {
  SECTION("an Upgrade or Connection token in a repeated field counts") {
    ServerHandshake h({});
    CHECK(feed(h, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nUpgrade: WebSocket\r\n"
                  "Connection: keep-alive\r\nConnection: upgrade\r\nSec-WebSocket-Key: " +
                  kRfcKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n") == HandshakeStatus::done);
  }
  SECTION("a repeated version is the joined list, refused with 426") {
    ServerHandshake h({});
    CHECK(feed(h, request("Sec-WebSocket-Version: 13\r\n")) == HandshakeStatus::failed);
    CHECK(h.http_status() == 426);
    CHECK(h.error() == "unsupported Sec-WebSocket-Version: offered 13, 13, supported 13");
  }
  SECTION("a key that is not base64 of 16 bytes, or repeated, is refused with 400") {
    for (const std::string& key : std::vector<std::string>{"AAAAAAAAAAAAAAAAAAAAAAAA", "dGhlIHNhbXBsZSBub25jZQ!=",
                                  "dGhlIHNhbXBsZSBub25jZQ", kRfcKey + "\r\nSec-WebSocket-Key: " + kRfcKey}) {
      ServerHandshake h({});
      INFO(key);
      CHECK(feed(h, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n") ==
            HandshakeStatus::failed);
      CHECK(h.http_status() == 400);
      CHECK(h.error() == "missing or malformed Sec-WebSocket-Key");
    }
  }
  SECTION("a moved handshake keeps its target and host") {
    ServerHandshake h({});
    CHECK(feed(h, request()) == HandshakeStatus::done);
    ServerHandshake moved(std::move(h));
    CHECK(moved.request_target() == "/chat?x=1");
    CHECK(moved.host() == "server.example.com");
    CHECK(moved.requested_url() == "ws://server.example.com/chat?x=1");
  }
  SECTION("the fields taken out are the request's, and none are left") {
    ServerHandshake h({});
    CHECK(feed(h, request("X-Long-Header-Name: a value longer than fifteen bytes\r\n")) ==
          HandshakeStatus::done);
    CHECK(h.headers().size() == 6);
    const HeaderList taken = h.take_headers();
    REQUIRE(taken.size() == 6);
    CHECK(taken[4] == std::pair<std::string, std::string>("Sec-WebSocket-Version", "13"));
    CHECK(taken[5] == std::pair<std::string, std::string>("X-Long-Header-Name",
                                                          "a value longer than fifteen bytes"));
    CHECK(h.headers().empty());
    CHECK(h.header("Host").empty());
  }
}

TEST_CASE("the server selects the first of the client's protocols that it supports") {
  ServerHandshake h({{"b", "c"}, {}, false});
  CHECK(feed(h, request("Sec-WebSocket-Protocol: a, c\r\nSec-WebSocket-Protocol: b\r\n")) ==
        HandshakeStatus::done);
  CHECK(h.selected_protocol() == "c");
  CHECK(h.response().find("Sec-WebSocket-Protocol: c\r\n") != std::string::npos);
}

// ServerHandshakeOptions that require a common subprotocol, as the WebSocketPeer façade does.
static ServerHandshakeOptions requiring(std::vector<std::string> supported) {
  ServerHandshakeOptions o;
  o.supported_protocols = std::move(supported);
  o.require_protocol_match = true;
  return o;
}

TEST_CASE("by default a server answers without a subprotocol when none is common (RFC 6455 §4.2.2)") {
  ServerHandshake none_supported({});
  CHECK(feed(none_supported, request("Sec-WebSocket-Protocol: chat\r\n")) == HandshakeStatus::done);
  CHECK(none_supported.selected_protocol().empty());
  CHECK(none_supported.response().find("Sec-WebSocket-Protocol") == std::string::npos);
  ServerHandshake other({{"b"}, {}, false});
  CHECK(feed(other, request("Sec-WebSocket-Protocol: a\r\n")) == HandshakeStatus::done);
  CHECK(other.selected_protocol().empty());
  ServerHandshake none_offered({{"b"}, {}, false});
  CHECK(feed(none_offered, request()) == HandshakeStatus::done);
  CHECK(none_offered.selected_protocol().empty());
}

TEST_CASE("requiring a match, no common subprotocol fails the server handshake with 400") {
  ServerHandshake h(requiring({"b", "c"}));
  CHECK(feed(h, request("Sec-WebSocket-Protocol: a, d\r\n")) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
  CHECK(h.error() == "no common subprotocol: offered a d, supported b c");
  CHECK(h.response().rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
}

TEST_CASE("requiring a match, a client offering no subprotocol fails when the server has some") {
  ServerHandshake h(requiring({"b"}));
  CHECK(feed(h, request()) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
  CHECK(h.error() == "no common subprotocol: offered none, supported b");
}

TEST_CASE("requiring a match, a list of only commas offers nothing: accepted by a server with none") {
  ServerHandshake h(requiring({}));
  CHECK(feed(h, request("Sec-WebSocket-Protocol: , ,\r\n")) == HandshakeStatus::done);
  CHECK(h.selected_protocol().empty());
  ServerHandshake with_one(requiring({"b"}));
  CHECK(feed(with_one, request("Sec-WebSocket-Protocol: ,\r\n")) == HandshakeStatus::failed);
  CHECK(with_one.error() == "no common subprotocol: offered none, supported b");
}

TEST_CASE("requiring a match, a server without subprotocols refuses a client that offers some") {
  ServerHandshake h(requiring({}));
  CHECK(feed(h, request("Sec-WebSocket-Protocol: chat\r\n")) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
  CHECK(h.response() ==
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 52\r\n\r\n"
        "no common subprotocol: offered chat, supported none\n");
  ServerHandshake neither(requiring({}));
  CHECK(feed(neither, request()) == HandshakeStatus::done);
}

TEST_CASE("a long or odd subprotocol list is cut and made printable in the reason") {
  ServerHandshake h(requiring({"b"}));
  std::string many;
  for (int i = 0; i < 50; ++i) many += (i ? ", p" : "p") + std::to_string(i);
  CHECK(feed(h, request("Sec-WebSocket-Protocol: " + many + ", \xc3\xa9\r\n")) ==
        HandshakeStatus::failed);
  const std::string error = h.error();
  CHECK(error.rfind("no common subprotocol: offered p0 p1 p2 ", 0) == 0);
  CHECK(error.size() == std::string("no common subprotocol: offered ").size() + 100 + 3 +
                            std::string(", supported b").size());
  CHECK(error.find("..., supported b") != std::string::npos);
}

TEST_CASE("a wrong version fails with 426, names version 13 and says why in the body") {
  ServerHandshake h({});
  CHECK(feed(h, request("", "8")) == HandshakeStatus::failed);
  CHECK(h.http_status() == 426);
  CHECK(h.error() == "unsupported Sec-WebSocket-Version: offered 8, supported 13");
  CHECK(h.response() ==
        "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 59\r\n\r\n"
        "unsupported Sec-WebSocket-Version: offered 8, supported 13\n");
}

TEST_CASE("a client reads the reason of every refusal a server sends") {
  struct Case {
    std::string request;
    std::string reason;
  };
  const Case cases[] = {
      {request("Sec-WebSocket-Protocol: chat\r\n"),
       "server refused the handshake: 400 Bad Request: no common subprotocol: offered chat, "
       "supported none"},
      {request("", "8"),
       "server refused the handshake: 426 Upgrade Required: unsupported Sec-WebSocket-Version: "
       "offered 8, supported 13"},
      {"GET / HTTP/1.1\r\nX-Pad: " + std::string(5000, 'p'),
       "server refused the handshake: 431 Request Header Fields Too Large: request header block "
       "larger than 4096 bytes"},
      {"POST / HTTP/1.1\r\n\r\n", "server refused the handshake: 400 Bad Request: not a GET request"},
  };
  for (const Case& c : cases) {
    INFO(c.request.substr(0, 40));
    ServerHandshake server(requiring({}));
    CHECK(feed(server, c.request) == HandshakeStatus::failed);
    ClientHandshake client = rfc_client();
    CHECK(feed(client, server.response()) == HandshakeStatus::failed);
    CHECK(client.error() == c.reason);
  }
}

TEST_CASE("a server that sees the client leave mid-request fails with nothing to answer") {
  ServerHandshake h({});
  CHECK(feed(h, "GET / HTTP/1.1\r\nHost: a\r\n") == HandshakeStatus::incomplete);
  CHECK(h.end_of_stream() == HandshakeStatus::failed);
  CHECK(h.http_status() == 0);
  CHECK(h.error() == "the client closed the connection during the handshake");
  CHECK(h.response().empty());
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
  CHECK(tls_hello.error() == "TLS handshake on a plain ws:// port: the client wants wss://");
  ServerHandshake binary({});
  CHECK(feed(binary, "\x01") == HandshakeStatus::failed);
  CHECK(binary.error() == "not a GET request");
  ServerHandshake post({});
  CHECK(feed(post, "GE") == HandshakeStatus::incomplete);
  CHECK(feed(post, "TX") == HandshakeStatus::failed);
}

TEST_CASE("a whole ClientHello holding \"\\n\\n\" (a bare-LF empty line) is still a TLS client on a plain port") {
  // Its random bytes (client random, session id, key share) hold "\n\n", the end of a header
  // block with bare LFs, in about one hello in 700.
  const std::string hello = std::string("\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03", 11) +
                            std::string(32, 'r') + std::string("\x00\x00\x02\x0a\x0a\x01\x00", 7);
  ServerHandshake h({});
  CHECK(feed(h, hello) == HandshakeStatus::failed);
  CHECK(h.http_status() == 400);
  CHECK(h.error() == "TLS handshake on a plain ws:// port: the client wants wss://");
  ServerHandshake post({});
  CHECK(feed(post, "POST / HTTP/1.1\n\n") == HandshakeStatus::failed);
  CHECK(post.error() == "not a GET request");
}

TEST_CASE("a header block over the limit fails with 431 without buffering more") {
  ServerHandshake h({{}, {}, false, 1000});
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
  ServerHandshake h({{}, {}, false, 8192});
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
