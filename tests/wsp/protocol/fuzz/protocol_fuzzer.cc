// libFuzzer target: the frame parser and state machine, both roles, input split at a point the
// fuzzer picks. Checks the invariants that must hold whatever the bytes are, and that the
// input split in pieces gives exactly what it gives in one piece (whole frames take the
// parser's fast path, split ones the general path: they must agree on every rule).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/close_code.h"
#include "wsp/protocol/protocol.h"
#include "wsp/protocol/utf8.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Returns a transcript: every event, the failure code and the bytes queued in answer.
std::string run(wsp::Role role, const std::uint8_t* data, std::size_t size, std::size_t chunk) {
  std::string transcript;
  wsp::test::FixedMaskKeys keys;
  wsp::ProtocolConfig config;
  config.role = role;
  config.mask_keys = &keys;
  config.max_message_size = 4096;
  config.allow_rsv1 = (size & 1) != 0;
  wsp::Protocol p(config);
  wsp::ProtocolEvent ev;
  std::size_t off = 0;
  while (off < size) {
    const std::size_t len = std::min(chunk, size - off);
    std::size_t pos = 0;
    while (pos < len) {
      const std::size_t n = p.receive(data + off + pos, len - pos, ev);
      check(n <= len - pos);
      pos += n;
      if (ev.type != wsp::ProtocolEventType::none) {
        transcript += std::to_string(static_cast<int>(ev.type)) + (ev.text ? "t" : "b") +
                      (ev.compressed ? "c" : "") + std::to_string(ev.close_code) + ":" +
                      ev.payload + "|" + ev.close_reason + ";";
      }
      if (ev.type == wsp::ProtocolEventType::message) {
        check(ev.payload.size() <= config.max_message_size);
        if (ev.text && !ev.compressed) check(wsp::is_valid_utf8(ev.payload));
      } else if (ev.type == wsp::ProtocolEventType::close) {
        check(ev.close_code == 1005 || wsp::is_valid_received_close_code(ev.close_code));
        check(wsp::is_valid_utf8(ev.close_reason));
      } else if (ev.type == wsp::ProtocolEventType::ping || ev.type == wsp::ProtocolEventType::pong) {
        check(ev.payload.size() <= 125);
      } else if (n == 0) {
        break;
      }
    }
    off += len;
  }
  const int failed = p.failed_code();
  check(failed == 0 || failed == 1002 || failed == 1007 || failed == 1009);
  if (failed != 0 || p.close_received()) check(p.close_handshake() == wsp::Protocol::CloseHandshake::done);
  transcript += "failed=" + std::to_string(failed) + " out=";
  // A client masks with random keys: only the server's answer is comparable byte for byte.
  transcript += role == wsp::Role::server ? std::string(p.pending_output())
                                          : std::to_string(p.pending_output_size());
  // Whatever happened, the output stays sendable and a close can still be attempted.
  (void)p.send_message(true, data, std::min<std::size_t>(size, 64));
  (void)p.send_close(1000, "bye");
  p.consume_output(p.pending_output_size());
  check(p.pending_output_size() == 0);
  return transcript;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size, so splits at every boundary get exercised.
  const std::size_t chunk = 1 + data[0] % 17;
  for (wsp::Role role : {wsp::Role::client, wsp::Role::server}) {
    check(run(role, data + 1, size - 1, chunk) == run(role, data + 1, size - 1, size));
  }
  return 0;
}
