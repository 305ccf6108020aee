// Soak: N connections for M seconds against an echo server, each sending messages of random
// size (0 B to 1 MiB, weighted toward small) in random fragments with pings between them, and
// now and then vanishing mid-message (FIN or RST) and reconnecting. Every echo is checked byte
// for byte. Prints a line a second (sent, echoed, lost, errors, the server's RSS) and a summary
// with every failure by reason; exits 1 when a message was lost or corrupted, when a connect
// failed, when a handshake failed that the client did not start too late (see FailureKind), when
// the server's RSS grew after warm-up (the last minute's peak more than 10% and 8 MiB over the
// first minute's; the last third against the first third for runs under three minutes), or when
// it passed --max-server-rss-mib.
//
//   bazel run --config=opt //tools:soak -- --server $(bazel info bazel-bin)/examples/echo_server
//   bazel run --config=opt //tools:soak -- --port 9001 --pid $(pidof echo_server)
//
// The client writes its frames itself (the coroutine API neither fragments nor pings on
// request), over io::TcpStream on one reactor.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io/file_descriptor.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_stream.h"
#include "tools/flags/flags.h"
#include "wsp/protocol/handshake.h"

extern char** environ;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Stats {
  long sent = 0;        // messages written whole
  long echoed = 0;      // echoes that matched byte for byte
  long lost = 0;        // written whole, never echoed (the connection ended first)
  long corrupt = 0;     // an echo that differed
  long abandoned = 0;   // cut off mid-message on purpose (not lost)
  long pings = 0, pongs = 0;
  long bytes = 0;       // payload bytes echoed
  long connects = 0;
  long err_connect = 0, err_handshake = 0, err_read = 0, err_write = 0, err_protocol = 0;
};

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 2000;
  int seconds = 60;
  double disconnect_probability = 0.002;  // per message
  unsigned seed = 1;
  long handshake_timeout_ms = 10000;  // the server's (the echo servers' default)
  int max_server_rss_mib = 0;  // 0: no bound
};

Stats stats;
Config config;
Clock::time_point end_of_run;
int running = 0;

// Why connections failed before their first message, and when: the server's handshake_timeout
// runs from its accept, which comes after the client started its connect, so a request written
// later than the timeout after that start may have been dropped for the client's own lateness
// (a saturated client resumes its connections late); one written in time must not fail.
struct FailureKind {
  long count = 0;
  long late = 0;                   // request written handshake_timeout or more after the connect began
  double min_request_delay = 1e9;  // seconds from starting the connect to the request written
  double max_request_delay = 0;
  double max_wait = 0;             // seconds from the request written to the failure
};
std::map<std::string, FailureKind> failures;  // "connect: ...", "handshake: ..."
long unexplained_failures = 0;                 // handshakes failed although the request was in time

// Seconds from starting the connect to the 101, for the handshakes that succeeded.
std::vector<float> handshake_seconds;
double max_client_lag = 0;  // the reporter's longest oversleep: how far behind the client ran

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void count_failure(const std::string& reason, double request_delay, double wait, bool handshake) {
  FailureKind& kind = failures[reason];
  ++kind.count;
  const bool late = config.handshake_timeout_ms > 0 && request_delay * 1000 >= double(config.handshake_timeout_ms);
  if (late) ++kind.late;
  if (handshake && !late) ++unexplained_failures;
  kind.min_request_delay = std::min(kind.min_request_delay, request_delay);
  kind.max_request_delay = std::max(kind.max_request_delay, request_delay);
  kind.max_wait = std::max(kind.max_wait, wait);
}

std::size_t random_size(std::mt19937& rng) {
  const double r = std::uniform_real_distribution<double>(0, 1)(rng);
  auto upto = [&](std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng); };
  if (r < 0.60) return upto(0, 125);
  if (r < 0.90) return upto(126, 4096);
  if (r < 0.99) return upto(4097, 65536);
  return upto(65537, 1 << 20);
}

// A masked client frame (RFC 6455 §5.2, §5.3).
void append_frame(std::string& out, int opcode, bool fin, std::string_view payload, std::mt19937& rng) {
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(std::uint64_t(n) >> (8 * i)));
  }
  const std::uint32_t m = rng();
  const unsigned char mask[4] = {static_cast<unsigned char>(m), static_cast<unsigned char>(m >> 8),
                                 static_cast<unsigned char>(m >> 16), static_cast<unsigned char>(m >> 24)};
  for (unsigned char b : mask) out.push_back(static_cast<char>(b));
  const std::size_t at = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < n; ++i) out[at + i] = static_cast<char>(out[at + i] ^ mask[i % 4]);
}

struct Reader {
  explicit Reader(io::TcpStream& stream) : tcp(stream) {}
  io::TcpStream& tcp;
  std::string in;
  std::vector<std::uint8_t> chunk = std::vector<std::uint8_t>(65536);
  std::string error;  // why the last fill() failed: the error, or "end of stream"

  io::Task<bool> fill() {
    auto n = co_await tcp.read_some(chunk);
    if (!n || *n == 0) {
      error = n ? "end of stream" : n.error().message();
      co_return false;
    }
    in.append(reinterpret_cast<const char*>(chunk.data()), *n);
    co_return true;
  }
  // The next server frame: opcode, payload; false at EOF or error.
  io::Task<bool> frame(int& opcode, bool& fin, std::string& payload) {
    for (;;) {
      if (in.size() >= 2) {
        auto b = [&](std::size_t i) { return static_cast<unsigned char>(in[i]); };
        std::size_t header = 2;
        std::uint64_t n = b(1) & 0x7f;
        bool have_length = true;
        if (n == 126) {
          header = 4;
          have_length = in.size() >= 4;
          if (have_length) n = (std::uint64_t(b(2)) << 8) | b(3);
        } else if (n == 127) {
          header = 10;
          have_length = in.size() >= 10;
          if (have_length) {
            n = 0;
            for (std::size_t i = 2; i < 10; ++i) n = (n << 8) | b(i);
          }
        }
        if (have_length && in.size() >= header + n) {
          opcode = b(0) & 0x0f;
          fin = (b(0) & 0x80) != 0;
          payload.assign(in, header, n);
          in.erase(0, header + n);
          co_return true;
        }
      }
      if (!co_await fill()) co_return false;
    }
  }
};

// The upgrade; returns why it failed, or an empty string. `written` gets the time the request
// was written.
io::Task<std::string> handshake(io::TcpStream& tcp, Reader& reader, Clock::time_point& written) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string request = "GET / HTTP/1.1\r\nHost: " + config.host + "\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
                        "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  iovec v{request.data(), request.size()};
  written = Clock::now();
  if (auto sent = co_await tcp.write_all({&v, 1}); !sent) co_return "request not written: " + sent.error().message();
  written = Clock::now();
  for (;;) {
    if (auto end = reader.in.find("\r\n\r\n"); end != std::string::npos) {
      std::string why;
      if (reader.in.rfind("HTTP/1.1 101", 0) != 0)
        why = "answered " + reader.in.substr(0, std::min(reader.in.find("\r\n"), std::size_t{40}));
      else if (reader.in.find(wsp::compute_accept_key(key)) > end)
        why = "101 without the right Sec-WebSocket-Accept";
      reader.in.erase(0, end + 4);
      co_return why;
    }
    if (!co_await reader.fill())
      co_return (reader.in.empty() ? "no answer: " : "answer cut off: ") + reader.error;
  }
}

// One connection slot: connect, echo messages, now and then vanish and come back, until the end.
io::Task<void> slot(io::Reactor& reactor, unsigned id) {
  std::mt19937 rng(config.seed * 1000003u + id);
  ++running;
  while (Clock::now() < end_of_run) {
    const auto started = Clock::now();
    auto connected = co_await io::TcpStream::connect(reactor, config.host, static_cast<std::uint16_t>(config.port));
    if (!connected) {
      ++stats.err_connect;
      count_failure("connect: " + connected.error().message(), seconds_since(started), 0, false);
      co_await io::sleep_for(reactor, 100ms);
      continue;
    }
    io::TcpStream tcp = std::move(*connected);
    Reader reader(tcp);
    ++stats.connects;
    Clock::time_point written;
    if (std::string why = co_await handshake(tcp, reader, written); !why.empty()) {
      ++stats.err_handshake;
      count_failure("handshake: " + why, std::chrono::duration<double>(written - started).count(),
                    seconds_since(written), true);
      tcp.close();
      co_await io::sleep_for(reactor, 100ms);
      continue;
    }
    handshake_seconds.push_back(static_cast<float>(seconds_since(started)));
    bool healthy = true;
    while (healthy && Clock::now() < end_of_run) {
      const std::size_t size = random_size(rng);
      std::string message(size, '\0');
      for (std::size_t i = 0; i < size; i += 4) {  // 4 random bytes a draw
        const std::uint32_t r = rng();
        std::memcpy(&message[i], &r, std::min<std::size_t>(4, size - i));
      }
      // Random fragmentation: up to 8 pieces at random cut points, pings between them.
      std::vector<std::size_t> cuts{0, size};
      const int pieces = size == 0 ? 1 : 1 + static_cast<int>(rng() % std::min<std::size_t>(8, size));
      for (int i = 1; i < pieces; ++i) cuts.push_back(1 + rng() % size);
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      if (cuts.size() == 1) cuts.push_back(0);  // size 0: one empty frame
      std::string wire;
      int pings = 0;
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        const bool last = i + 2 == cuts.size();
        append_frame(wire, i == 0 ? 0x2 : 0x0, last, std::string_view(message).substr(cuts[i], cuts[i + 1] - cuts[i]), rng);
        if (!last && rng() % 5 == 0) {
          append_frame(wire, 0x9, true, "soak-ping", rng);  // RFC 6455 §5.4: control frames may interleave
          ++pings;
        }
      }
      if (std::uniform_real_distribution<double>(0, 1)(rng) < config.disconnect_probability) {
        // Vanish mid-message: half the bytes, then a FIN or an RST.
        iovec v{wire.data(), wire.size() / 2};
        (void)co_await tcp.write_all({&v, 1});  // leaving anyway
        if (rng() % 2) {
          linger l{1, 0};
          setsockopt(tcp.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        tcp.close();
        ++stats.abandoned;
        healthy = false;
        break;
      }
      iovec v{wire.data(), wire.size()};
      if (!co_await tcp.write_all({&v, 1})) {
        ++stats.err_write;
        healthy = false;
        break;
      }
      ++stats.sent;
      stats.pings += pings;
      std::string echo, payload;
      bool whole = false;
      for (;;) {
        int opcode = 0;
        bool fin = false;
        if (!co_await reader.frame(opcode, fin, payload)) break;
        if (opcode == 0xA) {
          ++stats.pongs;
          continue;
        }
        if (opcode == 0x2 || opcode == 0x0) {
          echo += payload;
          if (fin) {
            whole = true;
            break;
          }
          continue;
        }
        ++stats.err_protocol;  // a close, text, or anything unexpected
        break;
      }
      if (!whole) {
        ++stats.lost;
        ++stats.err_read;
        healthy = false;
      } else if (echo != message) {
        ++stats.corrupt;
        healthy = false;
      } else {
        ++stats.echoed;
        stats.bytes += static_cast<long>(size);
      }
    }
    if (tcp.is_open()) {
      std::string bye;
      append_frame(bye, 0x8, true, std::string("\x03\xe8", 2), rng);  // 1000
      iovec v{bye.data(), bye.size()};
      (void)co_await tcp.write_all({&v, 1});  // a courtesy: closing either way
      tcp.close();
    }
  }
  --running;
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// A line per wake-up (about a second; later when the client itself is saturated, hence the
// wall-clock time on each line).
io::Task<void> report(io::Reactor& reactor, int pid, std::vector<long>& rss) {
  const auto start = Clock::now();
  const auto give_up = end_of_run + 30s;  // slots finish the message in hand, then stop
  for (int second = 1;; ++second) {
    const auto asleep = Clock::now();
    co_await io::sleep_for(reactor, 1s);
    const double lag = seconds_since(asleep) - 1.0;
    max_client_lag = std::max(max_client_lag, lag);
    const long now_rss = pid > 0 ? rss_kib(pid) : -1;
    if (Clock::now() < end_of_run) rss.push_back(now_rss);  // the wind-down is not the run
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("sample=%d t=%.1fs sent=%ld echoed=%ld lost=%ld corrupt=%ld abandoned=%ld open_slots=%d "
                "connects=%ld handshake_errors=%ld pings=%ld pongs=%ld MiB=%.1f client_lag=%.2fs server_rss_kib=%ld\n",
                second, elapsed, stats.sent, stats.echoed, stats.lost, stats.corrupt, stats.abandoned, running,
                stats.connects, stats.err_handshake, stats.pings, stats.pongs, double(stats.bytes) / (1 << 20), lag,
                now_rss);
    std::fflush(stdout);
    if ((Clock::now() >= end_of_run && running == 0) || Clock::now() >= give_up) break;
  }
  reactor.stop();
}

}  // namespace

int main(int argc, char** argv) {
  std::string server;
  int pid = 0;
  flags::Flags f("soak", "N connections echoing random fragmented messages for M seconds");
  f.add("--server", &server, "echo server binary to start on 127.0.0.1 (--port 0)");
  f.add("--host", &config.host, "server address when not started here");
  f.add("--port", &config.port, 0, 65535, "server port when not started here");
  f.add("--pid", &pid, 0, 1 << 30, "server process whose RSS to watch when not started here");
  f.add("--connections", &config.connections, 1, 100000, "connections at once (2000)");
  f.add("--seconds", &config.seconds, 1, 86400, "length of the run (60)");
  f.add("--disconnect-probability", &config.disconnect_probability, 0, 1, "per message (0.002)");
  f.add("--seed", &config.seed, 0, ~0u, "random seed (1)");
  f.add("--handshake-timeout-ms", &config.handshake_timeout_ms, 0L, long{INT_MAX},
        "the server's handshake timeout, given to the server started here (10000); a handshake "
        "whose request went out sooner than this after its connect began must not fail");
  f.add("--max-server-rss-mib", &config.max_server_rss_mib, 0, 1 << 20,
        "fail when the server's RSS passes this (0: no bound; not checked in sanitizer builds)");
  f.parse(argc, argv);

  io::raise_open_files_limit();
  pid_t child = -1;
  if (!server.empty()) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return 1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<std::string> args{server, "--port", "0", "--inbound-buffer-size", "2097152",
                                  "--outbound-buffer-size", "2097152", "--handshake-timeout-ms",
                                  std::to_string(config.handshake_timeout_ms)};
    std::vector<char*> argp;
    for (auto& a : args) argp.push_back(a.data());
    argp.push_back(nullptr);
    const int spawned = posix_spawn(&child, argp[0], &actions, nullptr, argp.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      std::fprintf(stderr, "soak: cannot start %s\n", server.c_str());
      return 1;
    }
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(fds[0]);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) {
      std::fprintf(stderr, "soak: the server said \"%s\"\n", line.c_str());
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      return 1;
    }
    config.port = std::stoi(line.substr(prefix.size()));
    pid = child;
  }
  if (config.port == 0) {
    std::fprintf(stderr, "soak: give --server, or --port (and --pid)\n");
    return 2;
  }

  io::Reactor reactor;
  end_of_run = Clock::now() + std::chrono::seconds(config.seconds);
  std::vector<long> rss;
  for (int i = 0; i < config.connections; ++i) reactor.spawn(slot(reactor, static_cast<unsigned>(i)));
  reactor.spawn(report(reactor, pid, rss));
  reactor.run();
  // Slots still waiting for an echo after the grace period: their message is lost.
  const long in_flight = stats.sent - stats.echoed - stats.lost - stats.corrupt;
  stats.lost += std::max(0L, in_flight);

  if (child > 0) {
    kill(child, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200 && waitpid(child, &status, WNOHANG) == 0; ++i) usleep(10000);
    if (waitpid(child, &status, WNOHANG) == 0) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
    }
  }

#ifdef WSP_SANITIZED
  // ASan's quarantine and shadow memory, not the server's own use, would set the figures.
  const bool rss_checked = false;
#else
  const bool rss_checked = pid > 0;
#endif
  // Warm-up excluded: first and last minute, or first and last third of a short run.
  bool rss_flat = true;
  long first_peak = -1, last_peak = -1;
  if (rss_checked && rss.size() >= 3) {
    const std::size_t window = rss.size() >= 180 ? 60 : rss.size() / 3;
    first_peak = *std::max_element(rss.begin(), rss.begin() + static_cast<long>(window));
    last_peak = *std::max_element(rss.end() - static_cast<long>(window), rss.end());
    // The 8 MiB: a few large messages in flight at the sample, on a small server.
    rss_flat = last_peak <= first_peak + std::max(first_peak / 10, 8L * 1024);
  }
  const long peak = rss.empty() ? -1 : *std::max_element(rss.begin(), rss.end());
  const bool rss_bounded =
      !rss_checked || config.max_server_rss_mib == 0 || peak <= config.max_server_rss_mib * 1024L;
  std::printf("summary: sent=%ld echoed=%ld lost=%ld corrupt=%ld abandoned=%ld pings=%ld pongs=%ld "
              "connects=%ld MiB=%.1f\n",
              stats.sent, stats.echoed, stats.lost, stats.corrupt, stats.abandoned, stats.pings,
              stats.pongs, stats.connects, double(stats.bytes) / (1 << 20));
  std::printf("errors: connect=%ld handshake=%ld read=%ld write=%ld protocol=%ld\n", stats.err_connect,
              stats.err_handshake, stats.err_read, stats.err_write, stats.err_protocol);
  for (const auto& [reason, kind] : failures) {
    if (reason.rfind("connect: ", 0) == 0) {
      std::printf("failed %ld times: %s (up to %.1f s after the connect started)\n", kind.count,
                  reason.c_str(), kind.max_request_delay);
      continue;
    }
    std::printf("failed %ld times: %s (%ld of them late; request written %.1f to %.1f s after the "
                "connect started, failure up to %.1f s after the request)\n",
                kind.count, reason.c_str(), kind.late, kind.min_request_delay, kind.max_request_delay,
                kind.max_wait);
  }
  if (stats.err_handshake > 0) {
    std::printf("handshakes failed: %ld; %ld with the request written %.1f s (the server's handshake "
                "timeout) or more after the connect started, the client's lateness; %ld unexplained\n",
                stats.err_handshake, stats.err_handshake - unexplained_failures,
                double(config.handshake_timeout_ms) / 1000, unexplained_failures);
  }
  if (!handshake_seconds.empty()) {
    std::sort(handshake_seconds.begin(), handshake_seconds.end());
    auto at = [&](double q) { return handshake_seconds[static_cast<std::size_t>(q * double(handshake_seconds.size() - 1))]; };
    std::printf("handshakes: %zu, connect to 101 p50 %.3f s, p99 %.3f s, max %.3f s; client lag up to %.1f s\n",
                handshake_seconds.size(), at(0.5), at(0.99), handshake_seconds.back(), max_client_lag);
  }
  if (rss_checked) {
    std::printf("server rss: first window peak %ld KiB, last window peak %ld KiB: %s\n", first_peak,  // -1: too few samples
                last_peak, rss_flat ? "flat" : "GREW");
  } else {
    std::printf("server rss: not checked (%s)\n", pid > 0 ? "sanitizer build" : "no --pid");
  }
  if (rss_checked && config.max_server_rss_mib > 0) {
    std::printf("server rss: peak %ld KiB, bound %d MiB: %s\n", peak, config.max_server_rss_mib,
                rss_bounded ? "within" : "EXCEEDED");
  }
  const bool ok = stats.lost == 0 && stats.corrupt == 0 && stats.err_connect == 0 &&
                  unexplained_failures == 0 && rss_flat && rss_bounded;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
