// libFuzzer target: the permessage-deflate receive path (RFC 7692 §7.2.2). The first byte picks
// the configuration (context takeover, window, shared or dedicated streams, whether to expect
// text); the rest is a sequence of compressed messages, each a length byte and that many bytes,
// framed with RSV1 and fed to a client Protocol with a 4 KiB limit. Whatever the bytes are:
// no crash, no message past the limit, text only when valid UTF-8, only the RFC's close codes;
// and inflating directly never yields more than the limit. Then a round trip: the same bytes
// compressed and inflated come back equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/permessage_deflate.h"
#include "wsp/protocol/protocol.h"
#include "wsp/protocol/utf8.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::size_t kLimit = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t pick = data[0];
  wsp::DeflateConfig config;
  config.receive_no_context_takeover = config.send_no_context_takeover = pick & 1;
  config.receive_window_bits = config.send_window_bits = 9 + (pick >> 1) % 7;
  config.shared = (pick & 0x10) && config.receive_no_context_takeover;
  config.min_size = 0;
  const bool text = pick & 0x20;
  ++data;
  --size;

  wsp::SharedDeflateStreams shared;
  wsp::test::FixedMaskKeys keys;
  wsp::ProtocolConfig pc;
  pc.role = wsp::Role::client;
  pc.max_message_size = kLimit;
  pc.deflate = wsp::DeflateSlot(config);
  pc.deflate_streams = &shared;
  pc.mask_keys = &keys;
  wsp::Protocol protocol(pc);

  std::string wire;
  for (std::size_t at = 0; at < size;) {
    const std::size_t n = std::min<std::size_t>(data[at], size - at - 1);
    const std::string payload(reinterpret_cast<const char*>(data + at + 1), n);
    wire += wsp::test::raw_frame(text ? 0xc1 : 0xc2, payload, false);
    at += 1 + n;

    // The same payload inflated directly: bounded whatever it holds.
    wsp::PerMessageDeflate alone(config, &shared);
    std::string in = payload, out;
    const auto result = alone.inflate(in, out, kLimit);
    check(out.size() <= kLimit);
    check(in == payload);  // the 4-byte tail is taken off again
    if (result != wsp::PerMessageDeflate::InflateResult::ok) check(out.empty());
  }
  for (const wsp::ProtocolEvent& ev : wsp::test::feed(protocol, wire, 1 + pick % 13)) {
    if (ev.type != wsp::ProtocolEventType::message) continue;
    check(ev.payload.size() <= kLimit);
    check(!ev.compressed);
    if (ev.text) check(wsp::is_valid_utf8(ev.payload));
  }
  const int failed = protocol.failed_code();
  check(failed == 0 || failed == 1002 || failed == 1007 || failed == 1009 || failed == 1011);

  // Round trip of the raw bytes through a fresh pair.
  wsp::PerMessageDeflate compressor(config, &shared), inflater(config, &shared);
  std::string compressed;
  if (compressor.compress(data, size, compressed)) {
    std::string back;
    check(inflater.inflate(compressed, back, 0) == wsp::PerMessageDeflate::InflateResult::ok);
    check(back == std::string(reinterpret_cast<const char*>(data), size));
  }
  return 0;
}
