// Microbenchmarks of the protocol core's hot loops, each beside a byte-at-a-time baseline in
// the same run: masking, UTF-8 validation (ASCII-heavy, mixed multi-byte), frame parsing
// (64-byte frames: frames/s, 64 KiB frames: bytes/s).
//   bazel run --config=opt //bench:protocol_bench
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "wsp/engine/per_thread.h"
#include "wsp/protocol/frame.h"
#include "wsp/protocol/mask.h"
#include "wsp/protocol/protocol.h"
#include "wsp/protocol/utf8.h"

namespace {

constexpr std::size_t kBuf = 64 * 1024;
const std::array<std::uint8_t, 4> kKey{0x37, 0xfa, 0x21, 0x3d};

// ---- Masking ----------------------------------------------------------------------------

void BM_Mask(benchmark::State& state) {
  std::vector<std::uint8_t> buf(kBuf + 1, 0x55);
  for (auto _ : state) {
    wsp::apply_mask(buf.data() + 1, kBuf, kKey);  // deliberately misaligned
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBuf);
}
BENCHMARK(BM_Mask);

void BM_MaskBytewise(benchmark::State& state) {
  std::vector<std::uint8_t> buf(kBuf + 1, 0x55);
  for (auto _ : state) {
    wsp::mask_copy_bytewise(buf.data() + 1, buf.data() + 1, kBuf, kKey);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBuf);
}
BENCHMARK(BM_MaskBytewise);

// ---- UTF-8 ------------------------------------------------------------------------------

// English prose with an accented letter now and then: what JSON APIs mostly carry.
std::string ascii_heavy() {
  std::string s;
  while (s.size() < kBuf) s += "The quick brown fox jumps over the lazy dog; caf\xc3\xa9 {\"k\": 42}. ";
  s.resize(kBuf - 64);
  while (!wsp::is_valid_utf8(s)) s.pop_back();
  return s;
}

// Random mix of 1-, 2-, 3- and 4-byte code points (Latin, Greek, Cyrillic, CJK, emoji).
std::string mixed() {
  const char* pieces[] = {"a", "Z", " ", "\xc3\xa9", "\xce\xba", "\xd0\x96", "\xe3\x81\x93",
                          "\xe4\xb8\xad", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf0\x9f\x8c\x8d"};
  std::mt19937 rng(1);
  std::string s;
  while (s.size() < kBuf - 4) s += pieces[rng() % 11];
  return s;
}

void BM_Utf8(benchmark::State& state, bool ascii, bool bytewise) {
  const std::string s = ascii ? ascii_heavy() : mixed();
  for (auto _ : state) {
    const bool ok = bytewise ? wsp::is_valid_utf8_bytewise(s) : wsp::is_valid_utf8(s);
    if (!ok) state.SkipWithError("invalid");
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * s.size());
}
BENCHMARK_CAPTURE(BM_Utf8, ascii_heavy, true, false);
BENCHMARK_CAPTURE(BM_Utf8, ascii_heavy_bytewise, true, true);
BENCHMARK_CAPTURE(BM_Utf8, mixed, false, false);
BENCHMARK_CAPTURE(BM_Utf8, mixed_bytewise, false, true);

// ---- Frame parsing ----------------------------------------------------------------------

// `count` frames with `payload` bytes each, as a server (unmasked) or a client (masked) sends.
std::string stream(std::size_t payload, std::size_t count, bool masked, wsp::Opcode op) {
  std::string body(payload, 'x');
  std::string out;
  std::uint8_t h[wsp::kMaxFrameHeader];
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t n = wsp::encode_frame_header(h, op, true, payload, masked ? kKey.data() : nullptr);
    out.append(reinterpret_cast<char*>(h), n);
    std::string b = body;
    if (masked) wsp::apply_mask(reinterpret_cast<std::uint8_t*>(b.data()), b.size(), kKey);
    out += b;
  }
  return out;
}

// `chunk` = 0 feeds whole buffers (the real case: one socket read); 1 feeds one byte per
// receive() call, the byte-at-a-time baseline through the same parser.
void BM_Parse(benchmark::State& state, std::size_t payload, std::size_t count, wsp::Role role,
              wsp::Opcode op, std::size_t chunk) {
  const std::string s = stream(payload, count, role == wsp::Role::server, op);
  wsp::ProtocolConfig config;
  config.role = role;
  config.mask_keys = &wsp::thread_mask_keys();
  config.max_message_size = 0;
  wsp::Protocol p(config);
  wsp::ProtocolEvent ev;
  const auto* data = reinterpret_cast<const std::uint8_t*>(s.data());
  std::size_t messages = 0;
  for (auto _ : state) {
    std::size_t pos = 0;
    while (pos < s.size()) {
      const std::size_t len = chunk ? std::min(chunk, s.size() - pos) : s.size() - pos;
      pos += p.receive(data + pos, len, ev);
      if (ev.type == wsp::ProtocolEventType::message) ++messages;
      benchmark::DoNotOptimize(ev.payload.data());
    }
  }
  if (messages != state.iterations() * count || p.failed_code() != 0)
    state.SkipWithError("parser lost frames");
  state.SetItemsProcessed(state.iterations() * count);
  state.SetBytesProcessed(state.iterations() * s.size());
}
BENCHMARK_CAPTURE(BM_Parse, frames64_client_binary, 64, 1024, wsp::Role::client,
                  wsp::Opcode::binary, 0);
BENCHMARK_CAPTURE(BM_Parse, frames64_server_masked_binary, 64, 1024, wsp::Role::server,
                  wsp::Opcode::binary, 0);
BENCHMARK_CAPTURE(BM_Parse, frames64_client_text, 64, 1024, wsp::Role::client,
                  wsp::Opcode::text, 0);
BENCHMARK_CAPTURE(BM_Parse, frames64_client_binary_bytewise, 64, 1024, wsp::Role::client,
                  wsp::Opcode::binary, 1);
BENCHMARK_CAPTURE(BM_Parse, frames64k_client_binary, 65536, 16, wsp::Role::client,
                  wsp::Opcode::binary, 0);
BENCHMARK_CAPTURE(BM_Parse, frames64k_server_masked_binary, 65536, 16, wsp::Role::server,
                  wsp::Opcode::binary, 0);
BENCHMARK_CAPTURE(BM_Parse, frames64k_server_masked_text, 65536, 16, wsp::Role::server,
                  wsp::Opcode::text, 0);
BENCHMARK_CAPTURE(BM_Parse, frames64k_client_binary_bytewise, 65536, 16, wsp::Role::client,
                  wsp::Opcode::binary, 1);

// ---- Serializing ------------------------------------------------------------------------

void BM_Send(benchmark::State& state, std::size_t payload, wsp::Role role) {
  wsp::ProtocolConfig config;
  config.role = role;
  config.mask_keys = &wsp::thread_mask_keys();
  wsp::Protocol p(config);
  const std::string body(payload, 'y');
  for (auto _ : state) {
    p.send_message(false, reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    p.consume_output(p.pending_output_size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * payload);
}
BENCHMARK_CAPTURE(BM_Send, frames64_client_masked, 64, wsp::Role::client);
BENCHMARK_CAPTURE(BM_Send, frames64k_client_masked, 65536, wsp::Role::client);

}  // namespace

BENCHMARK_MAIN();
