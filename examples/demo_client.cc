// The demo client of the README's first command: talks to an echo server with the coroutine
// API, checks every echo, runs a short load, and prints what happened.
//
//   bazel run //examples:demo_client -- ws://127.0.0.1:9001 [--deflate off|shared|dedicated]
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "examples/echo_options.h"
#include "io/event.h"
#include "io/reactor.h"
#include "tools/flags/flags.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

io::Task<bool> round_trip(wsp::WebSocket& ws, const std::string& data, bool text, const char* what) {
  auto start = Clock::now();
  auto sent = co_await ws.send(data, text);
  if (!sent) {
    std::printf("  %-34s send failed: %s\n", what, sent.error().message().c_str());
    co_return false;
  }
  wsp::Received echo = co_await ws.receive();
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  bool ok = !echo.closed && echo.data == data && echo.text == text;
  std::printf("  %-34s %s (%zu bytes, %s, %.2f ms)\n", what, ok ? "echoed" : "MISMATCH",
              echo.data.size(), echo.text ? "text" : "binary", ms);
  co_return ok;
}

// `connections` clients, each keeping `in_flight` messages outstanding for `duration`.
io::Task<long> load_connection(io::Reactor& reactor, std::string url, int in_flight,
                               Clock::time_point until, bool& failed, wsp::DeflateOptions deflate) {
  wsp::ConnectOptions options;
  options.deflate = deflate;
  auto ws = co_await wsp::connect(reactor, url, options);
  if (!ws) {
    failed = true;
    co_return 0;
  }
  std::string payload(64, 'x');
  long echoed = 0;
  int outstanding = 0;
  for (; outstanding < in_flight; ++outstanding) {
    io::Result<void> sent = co_await (*ws)->send(payload, false);
    if (!sent) {
      failed = true;
      break;
    }
  }
  while (outstanding > 0) {
    wsp::Received echo = co_await (*ws)->receive();
    if (echo.closed || echo.data != payload) {
      failed = true;
      break;
    }
    ++echoed;
    --outstanding;
    if (Clock::now() < until) {
      io::Result<void> sent = co_await (*ws)->send(payload, false);
      if (!sent) {
        failed = true;
        break;
      }
      ++outstanding;
    }
  }
  co_await (*ws)->close(1000, "load done");
  co_return echoed;
}

// What permessage-deflate did on a connection (nothing when it was not negotiated).
void print_compression(wsp::WebSocket& ws) {
  const std::optional<wsp::DeflateView> deflate = ws.connection().deflate();
  if (!deflate) {
    std::printf("permessage-deflate: not negotiated\n");
    return;
  }
  const wsp::DeflateStats& s = deflate->stats();
  auto ratio = [](std::uint64_t before, std::uint64_t after) {
    return after ? static_cast<double>(before) / static_cast<double>(after) : 0.0;
  };
  std::printf("permessage-deflate (%s): sent %llu messages compressed, %llu -> %llu bytes (%.1fx); "
              "received %llu, %llu -> %llu bytes (%.1fx)\n",
              deflate->config().shared ? "shared" : "dedicated",
              (unsigned long long)s.messages_compressed, (unsigned long long)s.bytes_before_compression,
              (unsigned long long)s.bytes_after_compression,
              ratio(s.bytes_before_compression, s.bytes_after_compression),
              (unsigned long long)s.messages_inflated, (unsigned long long)s.bytes_before_inflation,
              (unsigned long long)s.bytes_after_inflation,
              ratio(s.bytes_after_inflation, s.bytes_before_inflation));
}

io::Task<int> demo(io::Reactor& reactor, std::string url, wsp::DeflateOptions deflate) {
  std::printf("connecting to %s\n", url.c_str());
  std::string reason;
  wsp::ConnectOptions options;
  options.failure_reason = &reason;
  options.limits.inbound_buffer_size = 4 << 20;
  options.limits.outbound_buffer_size = 4 << 20;
  options.deflate = deflate;
  auto ws = co_await wsp::connect(reactor, url, options);
  if (!ws) {
    std::printf("connection failed: %s\n", reason.c_str());
    co_return 1;
  }
  std::printf("connected (coroutine API)\n");
  bool ok = true;
  ok &= co_await round_trip(**ws, "hello, wsp", true, "text message");
  ok &= co_await round_trip(**ws, "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x8c\x8d", true, "UTF-8 text");
  ok &= co_await round_trip(**ws, std::string("\x00\x01\x02\xff", 4), false, "binary message");
  ok &= co_await round_trip(**ws, "", false, "empty message");
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ok &= co_await round_trip(**ws, big, false, "1 MiB binary message");
  if (deflate.mode != wsp::DeflateOptions::Mode::off) print_compression(**ws);
  co_await (*ws)->close(1000, "bye");
  std::printf("closed: code %d, reason \"%s\"\n", (*ws)->close_code(), (*ws)->close_reason().c_str());

  constexpr int kConnections = 32, kInFlight = 8;
  std::printf("load: %d connections x %d messages of 64 bytes in flight for 1 s\n", kConnections, kInFlight);
  auto start = Clock::now();
  auto until = start + 1s;
  std::vector<long> counts(kConnections, 0);
  bool failed = false;
  int finished = 0;
  io::Event all_done(reactor);
  auto run_one = [&](int i) -> io::Task<void> {
    counts[i] = co_await load_connection(reactor, url, kInFlight, until, failed, deflate);
    if (++finished == kConnections) all_done.set();
  };
  for (int i = 0; i < kConnections; ++i) reactor.spawn(run_one(i));
  co_await all_done.wait();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  long total = 0;
  for (long c : counts) total += c;
  std::printf("load: %ld messages echoed and verified in %.2f s (%.0f msgs/s)%s\n", total, seconds,
              total / seconds, failed ? ", WITH FAILURES" : "");
  ok &= !failed && total > 0;
  std::printf("%s\n", ok ? "demo: all echoes verified" : "demo: FAILED");
  co_return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "ws://127.0.0.1:9001";
  wsp::DeflateOptions deflate;
  flags::Flags flags("demo_client", "Checks an echo server's echoes, then runs a short load.");
  flags.positional("URL", &url, "the echo server (default ws://127.0.0.1:9001)", false);
  add_deflate_flags(flags, deflate);
  flags.parse(argc, argv);
  io::Reactor reactor;
  return reactor.sync_wait(demo(reactor, url, deflate));
}
