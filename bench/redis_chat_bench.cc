// Chat across servers through Redis: deliveries per second and latency from a sender on chat
// server A to the members of its room on chat server B (//examples:chat_server --redis, both
// sharing a redis-server this program starts on a free port with no persistence), against the
// same load with the members on A itself (local delivery, no Redis hop): the baseline of the
// same run. Local and remote runs alternate; the summary gives medians and their ratios.
//
// Each run: a sender and --members members join /rooms/bench-N; then a closed loop for
// --seconds (the sender keeps at most --window messages per member not yet received:
// deliveries per second), then an open loop at --rate messages per second for --seconds
// (latency from each message's intended send time to its receipt by each member, so a stall
// shows up as latency; p50, p99, p99.9). The sender's own copies are not counted. The CPU time
// the servers (A, B and redis-server) spent in the closed loop, per delivery, is the figure
// that a machine busy with other work disturbs least.
//
//   bazel run --config=opt //bench:redis_chat_bench -- [--seconds 3] [--rounds 3]
//       [--members 4] [--rate 5000] [--size 64] [--window 64] [--threads 1]
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/latencies.h"
#include "bench/runfile.h"
#include "io/event.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "tests/redis/redis_server.h"
#include "tools/flags/flags.h"
#include "wsp/websocket.h"

using Clock = std::chrono::steady_clock;
using bench::Latencies;
using bench::median;
using bench::now_ns;
using bench::percentile;
using namespace std::chrono_literals;

namespace {

struct Config {
  double seconds = 3;
  int rounds = 3;
  int members = 4;
  int rate = 5000;
  std::size_t size = 64;
  int window = 64;
  int threads = 1;  // chat_server --threads
  std::string chat_server;
};

// A chat_server child process with --redis; its log (stderr) goes to /dev/null.
class ChatServer {
 public:
  ChatServer(const Config& c, std::uint16_t redis_port) {
    int fds[2];
    if (pipe(fds) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDERR_FILENO);
      close(fds[0]);
      const std::string redis = "127.0.0.1:" + std::to_string(redis_port);
      const std::string threads = std::to_string(c.threads);
      execl(c.chat_server.c_str(), c.chat_server.c_str(), "--port", "0", "--threads",
            threads.c_str(), "--redis", redis.c_str(), nullptr);
      std::_Exit(127);
    }
    close(fds[1]);
    std::string line;
    char ch;
    while (read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(fds[0]);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) {
      std::fprintf(stderr, "chat server did not start (%s): %s\n", c.chat_server.c_str(), line.c_str());
      std::exit(1);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
  }
  ~ChatServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// CPU time (user + system) a process has used so far, in seconds.
double cpu_seconds(pid_t pid) {
  clockid_t clock;
  timespec t{};
  if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &t) != 0) return 0;
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// What one run measured.
struct Result {
  double deliveries_per_second = 0;
  double server_cpu_us = 0;  // per delivery in the closed loop: A + B + redis-server
  double p50_us = 0, p99_us = 0, p999_us = 0;
  std::uint64_t lost = 0;  // sent in the latency phase, not received by a member after 2 s
};

// "m <intended ns> <seq> " and padding up to the size.
std::string message(std::int64_t intended, std::uint64_t seq, std::size_t size) {
  std::string m = "m " + std::to_string(intended) + " " + std::to_string(seq) + " ";
  if (m.size() < size) m.append(size - m.size(), 'x');
  return m;
}

struct Member {
  std::unique_ptr<wsp::WebSocket> ws;
  bool synced = false;
  std::uint64_t received = 0;  // "m" messages
};

struct Run {
  io::Reactor& reactor;
  std::vector<Member> members;
  std::uint64_t received = 0;   // over every member
  bool measuring = false;
  Latencies latency;
  io::Event progress;
  explicit Run(io::Reactor& r) : reactor(r), progress(r) {}
};

io::Task<void> read_member(Run& run, Member& m) {
  for (;;) {
    wsp::Received r = co_await m.ws->receive();
    if (r.closed) co_return;
    const std::string& d = r.data;
    if (d.rfind("sync", 0) == 0) {
      m.synced = true;
    } else if (d.rfind("m ", 0) == 0) {
      std::int64_t intended = 0;
      std::from_chars(d.data() + 2, d.data() + d.size(), intended);
      if (run.measuring) run.latency.push_back(now_ns() - intended);
      ++m.received;
      ++run.received;
      run.progress.set();
    }
  }
}

// Drains the sender's own copies (the chat server sends to the sender too).
io::Task<void> drain(wsp::WebSocket& ws) {
  for (;;) {
    wsp::Received r = co_await ws.receive();
    if (r.closed) co_return;
  }
}

io::Task<Result> measure(const Config& c, io::Reactor& reactor, std::uint16_t sender_port,
                         std::uint16_t members_port, int run_number, const std::vector<pid_t>& servers) {
  auto servers_cpu = [&] {
    double sum = 0;
    for (pid_t pid : servers) sum += cpu_seconds(pid);
    return sum;
  };
  Result result;
  const std::string path = "/rooms/bench-" + std::to_string(run_number);
  auto sender = co_await wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(sender_port) + path);
  if (!sender) {
    std::fprintf(stderr, "sender cannot connect: %s\n", sender.error().message().c_str());
    std::exit(1);
  }
  reactor.spawn(drain(**sender));
  Run run(reactor);
  run.members.resize(static_cast<std::size_t>(c.members));
  for (Member& m : run.members) {
    auto ws = co_await wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(members_port) + path);
    if (!ws) {
      std::fprintf(stderr, "member cannot connect: %s\n", ws.error().message().c_str());
      std::exit(1);
    }
    m.ws = std::move(*ws);
    reactor.spawn(read_member(run, m));
  }
  // Every member hears the sender (the room is joined on both servers, the Redis links are up).
  for (;;) {
    bool all = true;
    for (Member& m : run.members) all = all && m.synced;
    if (all) break;
    (void)co_await (*sender)->send_text("sync");
    co_await io::sleep_for(reactor, 20ms);
  }

  // Closed loop: deliveries per second.
  const std::uint64_t per_member_window = static_cast<std::uint64_t>(c.window);
  const std::uint64_t members = run.members.size();
  std::uint64_t seq = 0;
  const std::uint64_t received_before = run.received;
  const double cpu_before = servers_cpu();
  auto start = Clock::now();
  const auto closed_end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.seconds));
  while (Clock::now() < closed_end) {
    while (seq * members - (run.received - received_before) >= per_member_window * members) {
      run.progress.reset();
      co_await run.progress.wait();
    }
    (void)co_await (*sender)->send_text(message(now_ns(), seq++, c.size));
  }
  const auto settle_until = Clock::now() + 2s;
  while (run.received - received_before < seq * members && Clock::now() < settle_until)
    co_await io::sleep_for(reactor, 1ms);
  result.deliveries_per_second =
      static_cast<double>(run.received - received_before) /
      std::chrono::duration<double>(Clock::now() - start).count();
  if (run.received > received_before)
    result.server_cpu_us = (servers_cpu() - cpu_before) * 1e6 / static_cast<double>(run.received - received_before);

  // Open loop at --rate: latency from the intended send time.
  const std::uint64_t open_received_before = run.received;
  run.measuring = true;
  const std::int64_t open_start = now_ns();
  const std::int64_t open_end = open_start + static_cast<std::int64_t>(c.seconds * 1e9);
  std::uint64_t sent = 0;
  for (std::int64_t now = open_start; now < open_end; now = now_ns()) {
    const auto due = static_cast<std::uint64_t>(static_cast<double>(now - open_start) * c.rate / 1e9);
    while (sent < due) {
      const std::int64_t intended = open_start + static_cast<std::int64_t>(static_cast<double>(sent) * 1e9 / c.rate);
      (void)co_await (*sender)->send_text(message(intended, seq++, c.size));
      ++sent;
    }
    co_await io::sleep_for(reactor, 200us);
  }
  const auto drain_until = Clock::now() + 2s;
  while (run.received - open_received_before < sent * members && Clock::now() < drain_until)
    co_await io::sleep_for(reactor, 1ms);
  run.measuring = false;
  result.lost = sent * members - (run.received - open_received_before);
  result.p50_us = static_cast<double>(percentile(run.latency, 0.50)) / 1e3;
  result.p99_us = static_cast<double>(percentile(run.latency, 0.99)) / 1e3;
  result.p999_us = static_cast<double>(percentile(run.latency, 0.999)) / 1e3;

  for (Member& m : run.members) m.ws->abort();
  (*sender)->abort();
  co_await io::sleep_for(reactor, 50ms);  // the readers see their ends
  co_return result;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  c.chat_server = bench::runfile(argv[0], "examples/chat_server");
  flags::Flags f("redis_chat_bench",
                 "Chat through Redis: deliveries/s and latency from server A to members on server B, "
                 "against members on A in the same run.");
  f.add("--seconds", &c.seconds, 0.1, 600.0, "length of each phase of a run (default 3)");
  f.add("--rounds", &c.rounds, 1, 100, "local/remote pairs of runs (default 3)");
  f.add("--members", &c.members, 1, 1000, "members of the room besides the sender (default 4)");
  f.add("--rate", &c.rate, 1, 10'000'000, "messages per second of the latency phase (default 5000)");
  f.add("--size", &c.size, std::size_t{24}, std::size_t{1} << 20, "message size in bytes (default 64)");
  f.add("--window", &c.window, 1, 1'000'000, "closed loop: messages in flight per member (default 64)");
  f.add("--threads", &c.threads, 1, 64, "chat_server --threads (default 1)");
  f.add("--chat-server", &c.chat_server, "path of //examples:chat_server");
  f.parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);

  testing_support::RedisServer redis;
  ChatServer a(c, redis.port());
  ChatServer b(c, redis.port());
  io::Reactor reactor;
  std::printf("sender on A, %d members on A (local) or on B (remote, through redis-server %s), "
              "%zu-byte text, closed loop window %d per member, latency at %d msg/s, %.1f s each\n",
              c.members, redis.address().c_str(), c.size, c.window, c.rate, c.seconds);
  std::printf("%-8s %5s %14s %12s %10s %10s %10s %6s\n", "members", "round", "deliveries/s",
              "cpu us/dlv", "p50 us", "p99 us", "p99.9 us", "lost");
  std::vector<double> rate[2], p99[2], p50[2], cpu[2];
  const std::vector<pid_t> servers{a.pid(), b.pid(), redis.pid()};
  int run_number = 0;
  for (int round = 1; round <= c.rounds; ++round) {
    for (int remote = 0; remote <= 1; ++remote) {
      const Result r = reactor.sync_wait(
          measure(c, reactor, a.port(), remote ? b.port() : a.port(), ++run_number, servers));
      std::printf("%-8s %5d %14.0f %12.2f %10.0f %10.0f %10.0f %6llu\n", remote ? "on B" : "on A", round,
                  r.deliveries_per_second, r.server_cpu_us, r.p50_us, r.p99_us, r.p999_us,
                  static_cast<unsigned long long>(r.lost));
      std::fflush(stdout);
      rate[remote].push_back(r.deliveries_per_second);
      p50[remote].push_back(r.p50_us);
      p99[remote].push_back(r.p99_us);
      cpu[remote].push_back(r.server_cpu_us);
    }
  }
  std::printf("median: local %.0f deliveries/s, %.2f us server CPU each, p50 %.0f us, p99 %.0f us\n",
              median(rate[0]), median(cpu[0]), median(p50[0]), median(p99[0]));
  std::printf("median: through Redis %.0f deliveries/s (%.2fx local), %.2f us server CPU each (%.2fx), "
              "p50 %.0f us, p99 %.0f us (%.2fx local)\n",
              median(rate[1]), median(rate[1]) / median(rate[0]), median(cpu[1]),
              median(cpu[1]) / median(cpu[0]), median(p50[1]), median(p99[1]), median(p99[1]) / median(p99[0]));
  return 0;
}
