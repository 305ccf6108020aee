// libFuzzer target: the frame parser and state machine, both roles, input split at a point the
// fuzzer picks. Checks the invariants that must hold whatever the bytes are.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wsp/close_code.h"
#include "wsp/protocol.h"
#include "wsp/utf8.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void run(wsp::Role role, const std::uint8_t* data, std::size_t size, std::size_t chunk) {
  wsp::ProtocolConfig config;
  config.role = role;
  config.max_message_size = 4096;
  config.allow_rsv1 = (size & 1) != 0;
  wsp::Protocol p(config);
  wsp::Event ev;
  std::size_t off = 0;
  while (off < size) {
    const std::size_t len = std::min(chunk, size - off);
    std::size_t pos = 0;
    while (pos < len) {
      const std::size_t n = p.receive(data + off + pos, len - pos, ev);
      check(n <= len - pos);
      pos += n;
      if (ev.type == wsp::EventType::message) {
        check(ev.payload.size() <= config.max_message_size);
        if (ev.text && !ev.compressed) check(wsp::is_valid_utf8(ev.payload));
      } else if (ev.type == wsp::EventType::close) {
        check(ev.close_code == 1005 || wsp::is_valid_received_close_code(ev.close_code));
        check(wsp::is_valid_utf8(ev.close_reason));
      } else if (ev.type == wsp::EventType::ping || ev.type == wsp::EventType::pong) {
        check(ev.payload.size() <= 125);
      } else if (n == 0) {
        break;
      }
    }
    off += len;
  }
  const int failed = p.failed_code();
  check(failed == 0 || failed == 1002 || failed == 1007 || failed == 1009);
  if (failed != 0 || p.close_received()) check(p.state() == wsp::Protocol::State::closed);
  // Whatever happened, the output stays sendable and a close can still be attempted.
  (void)p.send_message(true, data, std::min<std::size_t>(size, 64));
  (void)p.send_close(1000, "bye");
  p.consume_output(p.pending_output_size());
  check(p.pending_output_size() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size, so splits at every boundary get exercised.
  const std::size_t chunk = 1 + data[0] % 17;
  run(wsp::Role::client, data + 1, size - 1, chunk);
  run(wsp::Role::server, data + 1, size - 1, size);
  return 0;
}
