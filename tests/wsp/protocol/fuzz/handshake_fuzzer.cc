// libFuzzer target: the client and server opening-handshake parsers, fed in chunks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "wsp/protocol/handshake.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

template <typename Handshake>
void drive(Handshake& h, const std::uint8_t* data, std::size_t size, std::size_t chunk) {
  std::size_t off = 0;
  wsp::HandshakeStatus st = wsp::HandshakeStatus::incomplete;
  while (off < size && st == wsp::HandshakeStatus::incomplete) {
    const std::size_t len = std::min(chunk, size - off);
    std::size_t consumed = 0;
    st = h.feed(data + off, len, consumed);
    check(consumed <= len);
    // Only the last call may stop short: after the head, the rest is frame data.
    if (st == wsp::HandshakeStatus::incomplete) check(consumed == len);
    off += consumed;
    if (consumed < len) break;
  }
  check(off <= 8192);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  ++data;
  --size;

  const bool require_match = (size & 2) != 0;
  wsp::ServerHandshake server(
      {{"chat", "superchat"}, {"X-Test: 1"}, (size & 1) != 0, 4096, require_match});
  drive(server, data, size, chunk);
  if (server.status() == wsp::HandshakeStatus::done) {
    check(server.http_status() == 101);
    check(!server.host().empty());
    check(!server.request_target().empty() && server.request_target()[0] == '/');
    check(server.selected_protocol() == "chat" || server.selected_protocol() == "superchat" ||
          (!require_match && server.selected_protocol().empty()));
    (void)server.requested_url();
    (void)server.header("sec-websocket-protocol");
  } else if (server.status() == wsp::HandshakeStatus::failed) {
    const int s = server.http_status();
    check(s == 400 || s == 426 || s == 431);
    check(!server.error().empty());
  }
  (void)server.response();

  // The same bytes as a response to a client that used the RFC's sample key.
  wsp::ClientHandshake client({"example.com", 80, false, "/", {"chat"}, {}},
                              "dGhlIHNhbXBsZSBub25jZQ==");
  drive(client, data, size, chunk);
  if (client.status() == wsp::HandshakeStatus::incomplete) client.end_of_stream();
  if (client.status() == wsp::HandshakeStatus::done) check(client.selected_protocol() == "chat");
  if (client.status() == wsp::HandshakeStatus::failed) check(!client.error().empty());
  // A refusal's reason is one line of printable ASCII.
  for (char c : client.error()) check(c >= 0x20 && c < 0x7f);
  return 0;
}
