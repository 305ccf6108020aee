// permessage-deflate negotiation (RFC 7692 §5, §7.1): offers, answers and what each side then
// does, as tables; and the same through the two handshakes.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "wsp/protocol/deflate_negotiation.h"
#include "wsp/protocol/handshake.h"

using namespace wsp;
using Mode = DeflateOptions::Mode;

namespace {

DeflateOptions options(Mode mode, int window_bits = 15) {
  DeflateOptions o;
  o.mode = mode;
  o.window_bits = window_bits;
  return o;
}

DeflateConfig config(int send_bits, bool send_nct, int receive_bits, bool receive_nct,
                     bool shared = false) {
  DeflateConfig c;
  c.shared = shared;
  c.send_window_bits = send_bits;
  c.send_no_context_takeover = send_nct;
  c.receive_window_bits = receive_bits;
  c.receive_no_context_takeover = receive_nct;
  c.min_size = shared ? 256 : 64;  // the modes' default min_size
  return c;
}

struct ServerCase {
  const char* offers;
  DeflateOptions policy;
  const char* response;  // "" when declined
  std::optional<DeflateConfig> result;
};

struct ClientCase {
  DeflateOptions policy;
  const char* response;
  std::optional<DeflateConfig> result;
  const char* error;  // when result is nullopt
};

std::optional<DeflateConfig> client_accepts(const DeflateOptions& policy, const std::string& response,
                                            std::string& error) {
  auto elements = parse_extensions(response);
  REQUIRE(elements.size() == 1);
  return accept_deflate_response(elements[0], policy, error);
}

}  // namespace

TEST_CASE("the server answers the first offer it can accept, with the parameters it uses") {
  const ServerCase cases[] = {
      // Shared: no context takeover both ways, whatever was offered (§7.1.1).
      {"permessage-deflate", options(Mode::shared),
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       config(15, true, 15, true, true)},
      {"permessage-deflate; client_max_window_bits", options(Mode::shared),
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       config(15, true, 15, true, true)},
      // Dedicated 15 bits: nothing to add.
      {"permessage-deflate; client_max_window_bits", options(Mode::dedicated),
       "permessage-deflate", config(15, false, 15, false)},
      {"permessage-deflate", options(Mode::dedicated), "permessage-deflate",
       config(15, false, 15, false)},
      // Dedicated 10 bits: our window announced; the client's limited where it allows it.
      {"permessage-deflate; client_max_window_bits", options(Mode::dedicated, 10),
       "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10",
       config(10, false, 10, false)},
      {"permessage-deflate", options(Mode::dedicated, 10),
       "permessage-deflate; server_max_window_bits=10", config(10, false, 15, false)},
      // 8 bits counts as 9 both ways (zlib cannot compress with 8).
      {"permessage-deflate; client_max_window_bits", options(Mode::dedicated, 8),
       "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
       config(9, false, 9, false)},
      // A client's own 8 for what it compresses is fine: we inflate with 9.
      {"permessage-deflate; client_max_window_bits=8", options(Mode::dedicated),
       "permessage-deflate; client_max_window_bits=8", config(15, false, 9, false)},
      // The client's own limits and hints.
      {"permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
       options(Mode::dedicated),
       "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
       config(12, false, 9, false)},
      {"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       options(Mode::dedicated),
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       config(15, true, 15, true)},
      {"permessage-deflate; server_max_window_bits=\"11\"", options(Mode::dedicated),
       "permessage-deflate; server_max_window_bits=11", config(11, false, 15, false)},
      // zlib cannot compress within 256 bytes: that offer is declined, the next one taken
      // (Autobahn 13.7's three offers).
      {"permessage-deflate; server_max_window_bits=8", options(Mode::dedicated), "", std::nullopt},
      {"permessage-deflate; client_no_context_takeover; client_max_window_bits; "
       "server_no_context_takeover; server_max_window_bits=8, "
       "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, "
       "permessage-deflate; client_no_context_takeover; client_max_window_bits",
       options(Mode::dedicated),
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       config(15, true, 15, true)},
      // Malformed offers are declined, not fatal (§7.1); another extension is skipped.
      {"permessage-deflate; x=1, permessage-deflate; client_max_window_bits=9",
       options(Mode::dedicated), "permessage-deflate; client_max_window_bits=9",
       config(15, false, 9, false)},
      {"x-webkit-deflate-frame, permessage-deflate", options(Mode::dedicated), "permessage-deflate",
       config(15, false, 15, false)},
      {"permessage-deflate; ;, permessage-deflate", options(Mode::dedicated), "permessage-deflate",
       config(15, false, 15, false)},
      {"permessage-deflate; server_max_window_bits", options(Mode::dedicated), "", std::nullopt},
      {"permessage-deflate; server_max_window_bits=16", options(Mode::dedicated), "", std::nullopt},
      {"permessage-deflate; server_max_window_bits=08", options(Mode::dedicated), "", std::nullopt},
      {"permessage-deflate; client_max_window_bits=7", options(Mode::dedicated), "", std::nullopt},
      {"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
       options(Mode::dedicated), "", std::nullopt},
      {"permessage-deflate; client_no_context_takeover=1", options(Mode::dedicated), "", std::nullopt},
      {"x-foo", options(Mode::dedicated), "", std::nullopt},
      // Off: every offer declined.
      {"permessage-deflate", options(Mode::off), "", std::nullopt},
  };
  for (const ServerCase& c : cases) {
    CAPTURE(c.offers, to_string(c.policy.mode), c.policy.window_bits);
    std::string response = "junk";
    const auto result = accept_deflate_offer(parse_extensions(c.offers), c.policy, response);
    CHECK(response == c.response);
    REQUIRE(result.has_value() == c.result.has_value());
    if (result) CHECK(*result == *c.result);
  }
}

TEST_CASE("the client's offer follows its mode and window") {
  CHECK(deflate_offer_header(options(Mode::off)).empty());
  CHECK(deflate_offer_header(options(Mode::shared)) ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits");
  CHECK(deflate_offer_header(options(Mode::dedicated)) == "permessage-deflate; client_max_window_bits");
  CHECK(deflate_offer_header(options(Mode::dedicated, 10)) ==
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10");
  CHECK(deflate_offer_header(options(Mode::dedicated, 8)) ==
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9");
  DeflateOptions several = options(Mode::dedicated);
  several.offers = {{.server_no_context_takeover = true, .server_max_window_bits = 8},
                    {.server_no_context_takeover = true},
                    {.client_max_window_bits = DeflateParameters::kNoValue}};
  CHECK(deflate_offer_header(several) ==
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=8, "
        "permessage-deflate; server_no_context_takeover, permessage-deflate; client_max_window_bits");
}

TEST_CASE("the client takes a valid answer to one of its offers and fails on anything else") {
  DeflateOptions several = options(Mode::dedicated);
  several.offers = {{.server_no_context_takeover = true, .server_max_window_bits = 8},
                    {.server_no_context_takeover = true},
                    {}};
  const ClientCase cases[] = {
      {options(Mode::dedicated), "permessage-deflate", config(15, false, 15, false), ""},
      // python-websockets' default server answer.
      {options(Mode::dedicated), "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
       config(12, false, 12, false), ""},
      {options(Mode::dedicated), "permessage-deflate; server_no_context_takeover",
       config(15, false, 15, true), ""},
      {options(Mode::dedicated), "permessage-deflate; client_no_context_takeover",
       config(15, true, 15, false), ""},
      {options(Mode::dedicated), "permessage-deflate; server_max_window_bits=8",
       config(15, false, 9, false), ""},
      {options(Mode::dedicated), "permessage-deflate; client_max_window_bits=8", std::nullopt,
       "permessage-deflate response \"permessage-deflate; client_max_window_bits=8\": the server asked "
       "for client_max_window_bits=8, and zlib cannot compress with a 256-byte window"},
      {options(Mode::dedicated), "permessage-deflate; client_max_window_bits", std::nullopt,
       "invalid permessage-deflate response: client_max_window_bits needs a value"},
      {options(Mode::dedicated), "permessage-deflate; server_max_window_bits=16", std::nullopt,
       "invalid permessage-deflate response: server_max_window_bits=16 is not 8..15"},
      {options(Mode::dedicated), "permessage-deflate; foo=1", std::nullopt,
       "invalid permessage-deflate response: unknown parameter foo"},
      {options(Mode::dedicated), "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
       std::nullopt, "invalid permessage-deflate response: parameter server_no_context_takeover given twice"},
      {options(Mode::dedicated), "permessage-deflate; server_no_context_takeover=yes", std::nullopt,
       "invalid permessage-deflate response: server_no_context_takeover takes no value"},
      // Shared: the offered server_no_context_takeover must come back (§7.1.1.1).
      {options(Mode::shared), "permessage-deflate; server_no_context_takeover",
       config(15, true, 15, true, true), ""},
      {options(Mode::shared), "permessage-deflate", std::nullopt,
       "permessage-deflate response \"permessage-deflate\": the server did not confirm "
       "server_no_context_takeover"},
      // Windows we asked for (§7.1.2.1).
      {options(Mode::dedicated, 10), "permessage-deflate; server_max_window_bits=10",
       config(10, false, 10, false), ""},
      {options(Mode::dedicated, 10), "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
       config(9, false, 9, false), ""},
      {options(Mode::dedicated, 10), "permessage-deflate", std::nullopt,
       "permessage-deflate response \"permessage-deflate\": the server did not confirm server_max_window_bits"},
      {options(Mode::dedicated, 10), "permessage-deflate; server_max_window_bits=11", std::nullopt,
       "permessage-deflate response \"permessage-deflate; server_max_window_bits=11\": "
       "server_max_window_bits=11 is larger than the 10 offered"},
      // Several offers: the answer must fit one of them.
      {several, "permessage-deflate", config(15, false, 15, false), ""},
      {several, "permessage-deflate; server_no_context_takeover; server_max_window_bits=8",
       config(15, false, 9, true), ""},
      // (the reason given is the first offer's)
      {several, "permessage-deflate; client_max_window_bits=10", std::nullopt,
       "permessage-deflate response \"permessage-deflate; client_max_window_bits=10\": "
       "the server did not confirm server_no_context_takeover"},
  };
  for (const ClientCase& c : cases) {
    CAPTURE(c.response, to_string(c.policy.mode), c.policy.window_bits);
    std::string error;
    const auto result = client_accepts(c.policy, c.response, error);
    REQUIRE(result.has_value() == c.result.has_value());
    if (result) CHECK(*result == *c.result);
    else CHECK(error == c.error);
  }
}

TEST_CASE("deflate options outside their ranges are refused with the field named") {
  std::string error;
  CHECK(valid_deflate_options(options(Mode::dedicated, 8), error));
  CHECK_FALSE(valid_deflate_options(options(Mode::dedicated, 7), error));
  CHECK(error == "window_bits must be 8..15");
  DeflateOptions o = options(Mode::dedicated);
  o.mem_level = 10;
  error.clear();
  CHECK_FALSE(valid_deflate_options(o, error));
  CHECK(error == "mem_level must be 1..9");
  o = options(Mode::shared);
  o.offers = {{.server_max_window_bits = 16}};
  error.clear();
  CHECK_FALSE(valid_deflate_options(o, error));
}

// ---- through the handshakes ---------------------------------------------------------------

namespace {

const std::string kKey = "dGhlIHNhbXBsZSBub25jZQ==";

HandshakeStatus feed(auto& h, const std::string& s) {
  std::size_t n = 0;
  return h.feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), n);
}

}  // namespace

TEST_CASE("client and server handshakes agree on mirrored deflate configurations") {
  struct Pair {
    DeflateOptions client, server;
  };
  const Pair pairs[] = {
      {options(Mode::shared), options(Mode::shared)},
      {options(Mode::shared), options(Mode::dedicated)},
      {options(Mode::dedicated), options(Mode::shared)},
      {options(Mode::dedicated), options(Mode::dedicated)},
      {options(Mode::dedicated, 9), options(Mode::dedicated, 12)},
      {options(Mode::dedicated, 12), options(Mode::dedicated, 9)},
      {options(Mode::dedicated, 8), options(Mode::dedicated, 8)},
  };
  for (const Pair& p : pairs) {
    CAPTURE(to_string(p.client.mode), p.client.window_bits, to_string(p.server.mode), p.server.window_bits);
    ClientHandshake client({"example.com", 80, false, "/", {}, {}, p.client}, kKey);
    ServerHandshake server(ServerHandshakeOptions{.supported_protocols = {}, .extra_response_headers = {}, .deflate = p.server});
    REQUIRE(feed(server, client.request()) == HandshakeStatus::done);
    REQUIRE(server.deflate());
    const std::string response = server.response();
    CHECK(response.find("Sec-WebSocket-Extensions: " + server.extensions_response() + "\r\n") !=
          std::string::npos);
    REQUIRE(feed(client, response) == HandshakeStatus::done);
    REQUIRE(client.deflate());
    // What one side compresses with never exceeds what the other inflates with.
    CHECK(client.deflate()->send_window_bits <= server.deflate()->receive_window_bits);
    CHECK(server.deflate()->send_window_bits <= client.deflate()->receive_window_bits);
    CHECK(client.deflate()->send_no_context_takeover == server.deflate()->receive_no_context_takeover);
    CHECK(server.deflate()->send_no_context_takeover == client.deflate()->receive_no_context_takeover);
  }
}

TEST_CASE("a server with deflate off answers no extension and the client goes on without") {
  ClientHandshake client({"example.com", 80, false, "/", {}, {}, options(Mode::shared)}, kKey);
  ServerHandshake server(ServerHandshakeOptions{});
  REQUIRE(feed(server, client.request()) == HandshakeStatus::done);
  CHECK(server.response().find("Sec-WebSocket-Extensions") == std::string::npos);
  REQUIRE(feed(client, server.response()) == HandshakeStatus::done);
  CHECK_FALSE(client.deflate());
}

TEST_CASE("a client fails on an extension it did not offer, twice the same, or a malformed list") {
  const std::string base = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  struct Case {
    Mode mode;
    const char* header;
    const char* error;
  };
  const Case cases[] = {
      {Mode::off, "permessage-deflate", "server selected extension \"permessage-deflate\" that was not offered"},
      {Mode::dedicated, "x-foo; a=1", "server selected extension \"x-foo; a=1\" that was not offered"},
      {Mode::dedicated, "permessage-deflate, permessage-deflate", "server selected permessage-deflate twice"},
      {Mode::dedicated, "permessage-deflate; ;", "malformed Sec-WebSocket-Extensions \"permessage-deflate; ;\""},
      {Mode::dedicated, "permessage-deflate; client_max_window_bits=8",
       "permessage-deflate response \"permessage-deflate; client_max_window_bits=8\": the server asked "
       "for client_max_window_bits=8, and zlib cannot compress with a 256-byte window"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    ClientHandshake client({"example.com", 80, false, "/", {}, {}, options(c.mode)}, kKey);
    CHECK(feed(client, base + "Sec-WebSocket-Extensions: " + c.header + "\r\n\r\n") == HandshakeStatus::failed);
    CHECK(client.error() == c.error);
  }
}

TEST_CASE("a server declines a malformed extension header without failing the handshake") {
  ServerHandshake server(ServerHandshakeOptions{.supported_protocols = {}, .extra_response_headers = {}, .deflate = options(Mode::shared)});
  const std::string request = "GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: " + kKey + "\r\nSec-WebSocket-Version: 13\r\n"
                              "Sec-WebSocket-Extensions: permessage-deflate; \"x\r\n\r\n";
  REQUIRE(feed(server, request) == HandshakeStatus::done);
  CHECK_FALSE(server.deflate());
  CHECK(server.response().find("Sec-WebSocket-Extensions") == std::string::npos);
}

TEST_CASE("min_size follows the mode unless given: 256 bytes shared, 64 dedicated") {
  CHECK(min_size_of(options(Mode::shared)) == 256);
  CHECK(min_size_of(options(Mode::dedicated)) == 64);
  DeflateOptions given = options(Mode::shared);
  given.min_size = 64;
  CHECK(min_size_of(given) == 64);
  given.min_size = 0;
  CHECK(min_size_of(given) == 0);
  // What a negotiated connection uses, both sides.
  std::string response, error;
  auto server = accept_deflate_offer(parse_extensions("permessage-deflate"), options(Mode::shared), response);
  REQUIRE(server);
  CHECK(server->min_size == 256);
  auto client = client_accepts(options(Mode::dedicated), "permessage-deflate", error);
  REQUIRE(client);
  CHECK(client->min_size == 64);
}
