// Connection churn: `--cycles` WebSocket connections, each opened (TCP connect + handshake) and
// closed again (close handshake) at once, `--concurrency` at a time on each of `--threads`
// reactor threads (one thread may be what limits the rate: compare the server's CPU).
// Prints one line of key=value figures: the cycles per second a server sustains (its accept
// path: accept, hand-over, handshake, close), and how many failed. bench/accept_modes.sh
// drives it and takes the server's CPU from /proc.
//
//   bazel run --config=opt //bench:connect_churn -- ws://127.0.0.1:9001/ [--cycles 10000]
//       [--concurrency 32] [--threads 1]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "io/reactor.h"
#include "io/reactor_pool.h"
#include "io/task.h"
#include "tools/flags/flags.h"
#include "wsp/websocket.h"

namespace {

struct Run {
  std::string url;
  int cycles = 10000;
  int concurrency = 32;
  unsigned threads = 1;
  std::atomic<int> started{0};
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
};

// One of `concurrency` loops: takes the next cycle until all are started.
io::Task<void> churn(io::Reactor& reactor, Run& run) {
  while (run.started++ < run.cycles) {
    auto ws = co_await wsp::connect(reactor, run.url);
    if (!ws) {
      ++run.failed;
    } else {
      co_await (*ws)->close(1000);
    }
    ++run.done;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  flags::Flags f("connect_churn", "Opens and closes WebSocket connections as fast as a server takes them.");
  f.positional("URL", &run.url, "ws:// URL of the server", true);
  f.add("--cycles", &run.cycles, 1, 100'000'000, "connections opened and closed in all (default 10000)");
  f.add("--concurrency", &run.concurrency, 1, 100'000, "cycles under way at once per thread (default 32)");
  f.add("--threads", &run.threads, 1u, 1024u, "client threads, one reactor each (default 1)");
  f.parse(argc, argv);
  io::ReactorPool pool({.threads = run.threads, .reactor = {}});
  const auto start = std::chrono::steady_clock::now();
  pool.run([&](std::size_t, io::Reactor& reactor) {
    for (int i = 0; i < run.concurrency; ++i) reactor.spawn(churn(reactor, run));
    reactor.run();
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("cycles=%d failed=%d seconds=%.3f cycles_per_s=%.0f\n", run.done.load(), run.failed.load(),
              seconds, seconds > 0 ? run.done / seconds : 0.0);
  return run.failed == 0 ? 0 : 1;
}
