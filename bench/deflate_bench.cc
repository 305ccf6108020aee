// permessage-deflate cost through wsp's echo server: CPU per echoed message at 64 B, 1 KiB and
// 16 KiB of JSON-like text, with compression off, shared and dedicated. The echo server
// (//examples:echo_server, started with --deflate MODE) runs in a child process pinned to CPU
// 0; the load (wsp coroutine clients offering the same mode, pipelined) runs here pinned to
// CPU 1. Server CPU is read from /proc/PID/stat around each run.
//
//   bazel run --config=opt //bench:deflate_bench -- [--seconds 3] [--connections 16]
//       [--depth 4] [--rounds 1] [--level -1..9] [--server PATH]
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/runfile.h"
#include "io/event.h"
#include "io/reactor.h"
#include "wsp/websocket.h"

using Clock = std::chrono::steady_clock;
using Mode = wsp::DeflateOptions::Mode;

namespace {

struct Config {
  double seconds = 3;
  int connections = 16;
  int depth = 4;
  int rounds = 1;
  int level = -1;  // zlib level on both sides (-1: zlib's default, 6)
  std::string server;
};

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::size_t at = all.rfind(')');
  std::vector<std::string> fields;
  std::string field;
  for (std::size_t i = at + 2; i < all.size(); ++i) {
    if (all[i] == ' ') {
      fields.push_back(field);
      field.clear();
    } else {
      field += all[i];
    }
  }
  // Fields after the name: state is index 0, utime 11, stime 12 (proc(5) fields 14 and 15).
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

struct Server {
  pid_t pid = -1;
  int port = 0;
};

Server start_server(const Config& c, Mode mode) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  Server s;
  s.pid = fork();
  if (s.pid == 0) {
    pin_to_cpu(0);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    const std::string mode_name = wsp::to_string(mode), level = std::to_string(c.level);
    execl(c.server.c_str(), c.server.c_str(), "--port", "0", "--deflate", mode_name.c_str(),
          "--deflate-level", level.c_str(), nullptr);
    std::_Exit(127);
  }
  close(fds[1]);
  std::string line;
  char ch;
  while (read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(fds[0]);
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) {
    std::fprintf(stderr, "echo server did not start (%s): %s\n", c.server.c_str(), line.c_str());
    std::exit(1);
  }
  s.port = std::stoi(line.substr(prefix.size()));
  return s;
}

void stop_server(Server& s) {
  kill(s.pid, SIGTERM);
  waitpid(s.pid, nullptr, 0);
}

// Distinct JSON-like messages of `size` bytes (orders with varying fields), as a service sends.
std::vector<std::string> messages(std::size_t size) {
  std::mt19937 rng(42);
  static const char* symbols[] = {"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA", "META", "ORCL"};
  std::vector<std::string> out;
  for (int m = 0; m < 64; ++m) {
    std::string s = "{\"type\":\"orders\",\"seq\":" + std::to_string(rng() % 1000000) + ",\"items\":[";
    while (s.size() < size) {
      s += "{\"symbol\":\"" + std::string(symbols[rng() % 8]) + "\",\"price\":" + std::to_string(rng() % 100000) +
           ".25,\"qty\":" + std::to_string(rng() % 500) + ",\"side\":\"" + (rng() % 2 ? "buy" : "sell") + "\"},";
    }
    s.resize(size);
    out.push_back(std::move(s));
  }
  return out;
}

struct Result {
  long echoed = 0;
  double seconds = 0;
  double server_cpu = 0;
  std::uint64_t raw_bytes = 0, wire_bytes = 0;  // what the clients compressed, and into how much
};

io::Task<void> connection(io::Reactor& reactor, int port, Mode mode, int level,
                          const std::vector<std::string>& msgs, int depth, Clock::time_point until,
                          Result& r, bool& failed) {
  wsp::ConnectOptions options;
  options.deflate.mode = mode;
  options.deflate.level = level;
  options.limits.inbound_buffer_size = 1 << 20;
  options.limits.outbound_buffer_size = 1 << 20;
  auto ws = co_await wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(port) + "/", options);
  if (!ws) {
    failed = true;
    co_return;
  }
  std::size_t next = 0;
  int outstanding = 0;
  for (; outstanding < depth; ++outstanding) (void)co_await (*ws)->send_text(msgs[next++ % msgs.size()]);
  while (outstanding > 0) {
    wsp::Received echo = co_await (*ws)->receive();
    if (echo.closed) {
      failed = true;
      break;
    }
    ++r.echoed;
    --outstanding;
    (*ws)->recycle(std::move(echo.data));
    if (Clock::now() < until) {
      (void)co_await (*ws)->send_text(msgs[next++ % msgs.size()]);
      ++outstanding;
    }
  }
  if (const auto d = (*ws)->connection().deflate()) {
    r.raw_bytes += d->stats().bytes_before_compression;
    r.wire_bytes += d->stats().bytes_after_compression;
  }
  co_await (*ws)->close(1000, "");
}

Result run(const Config& c, Mode mode, std::size_t size) {
  Server server = start_server(c, mode);
  const std::vector<std::string> msgs = messages(size);
  io::Reactor reactor;
  Result r;
  bool failed = false;
  int finished = 0;
  io::Event done(reactor);
  const double cpu_before = cpu_seconds(server.pid);
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.seconds));
  auto one = [&]() -> io::Task<void> {
    co_await connection(reactor, server.port, mode, c.level, msgs, c.depth, until, r, failed);
    if (++finished == c.connections) done.set();
  };
  for (int i = 0; i < c.connections; ++i) reactor.spawn(one());
  reactor.sync_wait([&]() -> io::Task<void> { co_await done.wait(); }());
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.server_cpu = cpu_seconds(server.pid) - cpu_before;
  stop_server(server);
  if (failed) std::fprintf(stderr, "warning: a connection failed (%s, %zu B)\n", wsp::to_string(mode), size);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  c.server = bench::runfile(argv[0], "examples/echo_server");
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") c.seconds = std::atof(argv[i + 1]);
    else if (flag == "--connections") c.connections = std::atoi(argv[i + 1]);
    else if (flag == "--depth") c.depth = std::atoi(argv[i + 1]);
    else if (flag == "--rounds") c.rounds = std::atoi(argv[i + 1]);
    else if (flag == "--server") c.server = argv[i + 1];
    else if (flag == "--level") c.level = std::atoi(argv[i + 1]);
  }
  pin_to_cpu(1);
  std::printf("%d connections x %d in flight, %.1f s per run, zlib level %d, server on CPU 0, "
              "load on CPU 1\n", c.connections, c.depth, c.seconds, c.level);
  std::printf("%-8s %-10s %5s %12s %16s %14s %10s\n", "size", "deflate", "round", "msgs/s",
              "server us/msg", "+us vs off", "ratio");
  for (std::size_t size : {std::size_t{64}, std::size_t{1024}, std::size_t{16384}}) {
    for (int round = 1; round <= c.rounds; ++round) {
      double off_us = 0;
      for (Mode mode : {Mode::off, Mode::shared, Mode::dedicated}) {
        const Result r = run(c, mode, size);
        const double us = r.echoed ? r.server_cpu * 1e6 / static_cast<double>(r.echoed) : 0;
        if (mode == Mode::off) off_us = us;
        char ratio[32] = "-";
        if (r.wire_bytes) std::snprintf(ratio, sizeof ratio, "%.2fx", double(r.raw_bytes) / double(r.wire_bytes));
        std::printf("%-8zu %-10s %5d %12.0f %16.2f %14.2f %10s\n", size, wsp::to_string(mode), round,
                    r.echoed / r.seconds, us, us - off_us, ratio);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
