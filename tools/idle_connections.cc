// Memory held by idle WebSocket connections on a server: opens N connections (handshake only,
// then silence), and reports the server process's RSS before and while they are open.
//
//   idle_connections --pid SERVER_PID --url ws://127.0.0.1:9001/ [--connections 10000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "io/file_descriptor.h"
#include "io/reactor.h"
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
  int pid = 0, connections = 10000;
  std::string url = "ws://127.0.0.1:9001/";
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
  flags.parse(argc, argv);
  if (pid == 0) flags.fail("--pid: missing (the server's process id)");
  io::raise_open_files_limit();

  io::Reactor reactor;
  long before = rss_kib(pid);
  std::vector<std::unique_ptr<wsp::WebSocket>> open;
  int failed = 0;
  auto connect_one = [&]() -> io::Task<void> {
    auto ws = co_await wsp::connect(reactor, url);
    if (ws) {
      open.push_back(std::move(*ws));
    } else {
      ++failed;
    }
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
  std::printf("%d idle connections open (%d failed): server RSS %.1f MiB before, %.1f MiB with them, "
              "%.0f bytes per connection\n",
              static_cast<int>(open.size()), failed, before / 1024.0, during / 1024.0,
              open.empty() ? 0.0 : (during - before) * 1024.0 / open.size());
  return failed == 0 ? 0 : 1;
}
