// Raw TCP echo benchmark: the io_uring reactor's echo server against a plain epoll echo server,
// under the same client load, in the same run. Each server runs in a child process pinned to
// CPU 0; the load generator (epoll, pipelined) runs pinned to CPU 1.
//
//   bazel run --config=opt //bench:tcp_echo_bench -- [--seconds 3] [--connections 64]
//       [--depth 16] [--size 64] [--rounds 3]
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <memory>
#include <span>
#include <vector>

#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tools/flags/flags.h"

namespace {

struct Config {
  double seconds = 3;
  int connections = 64;
  int depth = 16;
  int size = 64;
  int rounds = 3;
};

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// --- servers (child processes) -----------------------------------------------------------

// The reactor's fast path, as the WebSocket Connection uses it: a multishot receive into the
// shared buffer ring, and one sendmsg of everything received meanwhile.
class UringEcho final : io::StreamHandler {
 public:
  explicit UringEcho(io::TcpStream stream) : stream_(std::move(stream)) { stream_.start_receiving(*this); }
  bool done() const { return done_; }

 private:
  bool on_received(std::span<const std::uint8_t> data) override {
    pending_.insert(pending_.end(), data.begin(), data.end());
    if (!writing_) flush();
    return true;
  }
  void on_receive_end(std::error_code) override { done_ = true; }
  void on_written(std::error_code error) override {
    writing_ = false;
    if (error) done_ = true;
    else if (!pending_.empty()) flush();
  }
  void flush() {
    writing_buffer_.swap(pending_);
    pending_.clear();
    iovec part{writing_buffer_.data(), writing_buffer_.size()};
    writing_ = true;
    stream_.start_write({&part, 1}, *this);
  }

  io::TcpStream stream_;
  std::vector<std::uint8_t> pending_, writing_buffer_;
  bool writing_ = false;
  bool done_ = false;
};

io::Task<void> uring_accept_loop(io::Reactor& reactor, io::TcpListener& listener) {
  std::vector<std::unique_ptr<UringEcho>> connections;
  for (;;) {
    auto stream = co_await listener.accept();
    if (!stream) co_return;
    std::erase_if(connections, [](const auto& c) { return c->done(); });
    connections.push_back(std::make_unique<UringEcho>(std::move(*stream)));
  }
}

[[noreturn]] void run_uring_server(int port_pipe) {
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", 0);
  if (!listener) _exit(2);
  std::uint16_t port = listener->local_port();
  if (write(port_pipe, &port, sizeof port) != sizeof port) _exit(2);
  reactor.spawn(uring_accept_loop(reactor, *listener));
  reactor.run();
  _exit(0);
}

[[noreturn]] void run_epoll_server(int port_pipe) {
  int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(2);
  listen(listen_fd, 4096);
  socklen_t len = sizeof addr;
  getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::uint16_t port = ntohs(addr.sin_port);
  if (write(port_pipe, &port, sizeof port) != sizeof port) _exit(2);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::vector<char> buffer(64 * 1024);
  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        for (;;) {
          int c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t got = read(fd, buffer.data(), buffer.size());
      if (got <= 0) {
        close(fd);
        continue;
      }
      // Echo loads are small; block on the rare short write rather than buffer it.
      ssize_t off = 0;
      while (off < got) {
        ssize_t w = send(fd, buffer.data() + off, got - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
          pollfd p{fd, POLLOUT, 0};
          poll(&p, 1, 100);
          continue;
        }
        if (w <= 0) break;
        off += w;
      }
    }
  }
}

// --- load generator ----------------------------------------------------------------------

struct LoadResult {
  double messages_per_second = 0;
  double server_cpu_seconds = 0;
};

LoadResult run_load(const Config& config, std::uint16_t port) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds;
  std::vector<long> pending_bytes(config.connections, 0);
  std::string burst(static_cast<std::size_t>(config.size) * config.depth, 'e');
  for (int i = 0; i < config.connections; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      std::exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  for (int fd : fds) {
    if (send(fd, burst.data(), burst.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(burst.size())) {
      std::perror("send");
      std::exit(1);
    }
  }
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto measure_from = start + std::chrono::milliseconds(500);
  auto end = measure_from + std::chrono::duration<double>(config.seconds);
  long long counted_bytes = 0;
  bool measuring = false;
  std::vector<char> buffer(256 * 1024);
  std::string refill;
  epoll_event events[256];
  for (;;) {
    auto now = Clock::now();
    if (now >= end) break;
    if (!measuring && now >= measure_from) measuring = true;
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      int idx = static_cast<int>(events[i].data.u32);
      ssize_t got = read(fds[idx], buffer.data(), buffer.size());
      if (got <= 0) continue;
      if (measuring) counted_bytes += got;
      // Keep `depth` messages in flight: every whole echoed message is sent again.
      pending_bytes[idx] += got;
      long whole = pending_bytes[idx] / config.size;
      pending_bytes[idx] %= config.size;
      if (whole > 0) {
        refill.assign(static_cast<std::size_t>(whole) * config.size, 'e');
        std::size_t off = 0;
        while (off < refill.size()) {
          ssize_t w = send(fds[idx], refill.data() + off, refill.size() - off, MSG_NOSIGNAL);
          if (w < 0 && errno == EAGAIN) continue;
          if (w <= 0) break;
          off += w;
        }
      }
    }
  }
  for (int fd : fds) close(fd);
  close(ep);
  LoadResult r;
  r.messages_per_second = static_cast<double>(counted_bytes) / config.size / config.seconds;
  return r;
}

LoadResult bench_server(const Config& config, bool uring) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) std::exit(1);
  pid_t child = fork();
  if (child == 0) {
    pin_to_cpu(0);
    close(pipe_fds[0]);
    if (uring) run_uring_server(pipe_fds[1]);
    run_epoll_server(pipe_fds[1]);
  }
  close(pipe_fds[1]);
  std::uint16_t port = 0;
  if (read(pipe_fds[0], &port, sizeof port) != sizeof port) {
    std::fprintf(stderr, "server failed to start\n");
    std::exit(1);
  }
  close(pipe_fds[0]);
  LoadResult r = run_load(config, port);
  kill(child, SIGKILL);
  int status = 0;
  rusage usage{};
  wait4(child, &status, 0, &usage);
  r.server_cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  flags::Flags flags("tcp_echo_bench", "Raw TCP echo: the io_uring reactor against epoll.");
  flags.add("--seconds", &config.seconds, 0.1, 3600.0, "seconds per run (default 3)");
  flags.add("--connections", &config.connections, 1, 10000, "client connections (default 64)");
  flags.add("--depth", &config.depth, 1, 4096, "messages in flight per connection (default 16)");
  flags.add("--size", &config.size, 1, 1 << 20, "bytes per message (default 64)");
  flags.add("--rounds", &config.rounds, 1, 100, "rounds, each server once per round (default 3)");
  flags.parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  pin_to_cpu(1);
  std::printf("tcp echo: %d connections x %d in flight x %d B, %.1f s per run, %d rounds\n",
              config.connections, config.depth, config.size, config.seconds, config.rounds);
  std::vector<double> uring_rates, epoll_rates, uring_cpu, epoll_cpu;
  for (int round = 0; round < config.rounds; ++round) {
    // Alternate the order so drift on a shared machine hits both servers alike.
    for (int k = 0; k < 2; ++k) {
      bool uring = (round + k) % 2 == 0;
      LoadResult r = bench_server(config, uring);
      double cpu_per_million = r.server_cpu_seconds / (r.messages_per_second * (config.seconds + 0.5)) * 1e6;
      std::printf("  round %d %-8s %12.0f msgs/s  server CPU %.2f s/M msgs\n", round,
                  uring ? "io_uring" : "epoll", r.messages_per_second, cpu_per_million);
      (uring ? uring_rates : epoll_rates).push_back(r.messages_per_second);
      (uring ? uring_cpu : epoll_cpu).push_back(cpu_per_million);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double u = median(uring_rates), e = median(epoll_rates);
  std::printf("median io_uring %.0f msgs/s, epoll %.0f msgs/s, ratio %.2fx\n", u, e, u / e);
  std::printf("median server CPU per million messages: io_uring %.2f s, epoll %.2f s\n",
              median(uring_cpu), median(epoll_cpu));
  return 0;
}
