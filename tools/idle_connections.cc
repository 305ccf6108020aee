// Memory held by idle WebSocket connections on a server: opens N connections (handshake only,
// then silence), and reports the server process's RSS before and while they are open.
//
//   idle_connections --pid SERVER_PID --url ws://127.0.0.1:9001/ [--connections 10000]
//       [--deflate off|shared|dedicated [--deflate-window-bits ...]] [--messages N]
//
// --deflate (and its numbers, as the echo servers and wsp-load take them) makes each client
// offer permessage-deflate in that mode; --messages N has each connection echo N compressible
// 256-byte text messages before it falls silent, so a server's zlib state made on first use is
// there when RSS is read. The report ends with a line of figures for scripts:
//   result connections=N failed=N deflate=N rss_before_kib=N rss_kib=N bytes_per_connection=N
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "io/file_descriptor.h"
#include "io/reactor.h"
#include "tools/flags/deflate_flags.h"
#include "tools/flags/flags.h"
#include "wsp/protocol/url.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int pid = 0, connections = 10000, messages = 0, hold_seconds = 0;
  std::string url = "ws://127.0.0.1:9001/";
  wsp::DeflateOptions deflate;
  flags::Flags flags("idle_connections",
                     "Opens idle WebSocket connections and reports the server's RSS per connection.");
  flags.add("--pid", &pid, 1, 4194304, "the server's process id (required)");
  flags.add("--url", "URL",
            [&url](std::string_view v) {
              wsp::WebSocketUrl parsed;
              if (!wsp::parse_websocket_url(v, parsed)) return std::string("a ws:// or wss:// URL");
              url = v;
              return std::string();
            },
            "the server (default ws://127.0.0.1:9001/)");
  flags.add("--connections", &connections, 1, 1000000, "how many (default 10000)");
  flags.add("--messages", &messages, 0, 1000000,
            "compressible messages each connection echoes first (default 0)");
  flags.add("--hold-seconds", &hold_seconds, 0, 3600,
            "keep the connections open this long after reporting, to inspect the server (default 0)");
  flags::add_deflate_flags(flags, deflate);
  flags.parse(argc, argv);
  if (pid == 0) flags.fail("--pid: missing (the server's process id)");
  if (std::string error; !wsp::valid_deflate_options(deflate, error)) flags.fail("--deflate-*: " + error);
  io::raise_open_files_limit();

  io::Reactor reactor;
  long before = rss_kib(pid);
  std::vector<std::unique_ptr<wsp::WebSocket>> open;
  int failed = 0;
  std::string text;
  while (text.size() < 256) text += "{\"id\":" + std::to_string(text.size()) + ",\"state\":\"idle\"},";
  text.resize(256);
  int compressed = 0;
  auto connect_one = [&]() -> io::Task<void> {
    wsp::ConnectOptions options;
    options.deflate = deflate;
    auto ws = co_await wsp::connect(reactor, url, options);
    if (!ws) {
      ++failed;
      co_return;
    }
    for (int i = 0; i < messages; ++i) {
      if (!co_await (*ws)->send_text(text) || (co_await (*ws)->receive()).data != text) {
        ++failed;
        co_return;
      }
    }
    if ((*ws)->connection().deflate()) ++compressed;
    open.push_back(std::move(*ws));
  };
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (int started = 0; started < connections;) {
    for (int i = 0; i < 256 && started < connections; ++i, ++started) reactor.spawn(connect_one());
    while (static_cast<int>(open.size()) + failed < started && std::chrono::steady_clock::now() < deadline) {
      reactor.run_once(10ms);
    }
  }
  // Let the server settle (its handshake tasks finish, buffers shrink).
  for (int i = 0; i < 100; ++i) reactor.run_once(10ms);
  long during = rss_kib(pid);
  if (deflate.mode != wsp::DeflateOptions::Mode::off) {
    std::printf("permessage-deflate (%s) negotiated on %d connections, %d messages each\n",
                wsp::to_string(deflate.mode), compressed, messages);
  }
  std::printf("%d idle connections open (%d failed): server RSS %.1f MiB before, %.1f MiB with them, "
              "%.0f bytes per connection\n",
              static_cast<int>(open.size()), failed, before / 1024.0, during / 1024.0,
              open.empty() ? 0.0 : (during - before) * 1024.0 / open.size());
  std::printf("result connections=%d failed=%d deflate=%d rss_before_kib=%ld rss_kib=%ld "
              "bytes_per_connection=%.0f\n",
              static_cast<int>(open.size()), failed, compressed, before, during,
              open.empty() ? 0.0 : (during - before) * 1024.0 / open.size());
  std::fflush(stdout);
  const auto hold_until = std::chrono::steady_clock::now() + std::chrono::seconds(hold_seconds);
  while (std::chrono::steady_clock::now() < hold_until) reactor.run_once(100ms);
  return failed == 0 ? 0 : 1;
}
