// wsp-load: a WebSocket load generator. See tools/load/load_options.cc for the command line
// and README.md for an example.
//
// The main thread resolves the targets, starts one Worker per --threads (each with its own
// reactor and its share of the connections), then only watches: once a second it merges the
// samples the workers published and prints the progress line; at the window's edges it reads
// the process's CPU time. SIGINT or SIGTERM ends the window early (a second one exits at once).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "io/file_descriptor.h"
#include "io/reactor.h"
#include "io/resolver.h"
#include "tls/tls_options.h"
#include "tls/x509_certificate.h"
#include "tools/load/load_options.h"
#include "tools/load/plot.h"
#include "tools/load/report.h"
#include "tools/load/worker.h"

using namespace wsp_load;

namespace {

[[noreturn]] void fail(int status, const std::string& message) {
  std::fprintf(stderr, "wsp-load: %s\n", message.c_str());
  std::exit(status);
}

std::vector<Target> resolve_targets(const LoadOptions& options) {
  std::shared_ptr<tls::TLSOptions> tls_options;
  std::vector<Target> targets;
  io::Reactor reactor;
  for (const std::string& url : options.urls) {
    Target t;
    t.url = url;
    wsp::parse_websocket_url(url, t.parsed);  // checked by the option parser
    auto addresses = reactor.sync_wait(
        io::resolve(reactor, t.parsed.host, static_cast<std::uint16_t>(t.parsed.port)));
    if (!addresses || addresses->empty())
      fail(3, "cannot resolve " + t.parsed.host + " (" + url + ")" +
                  (addresses ? "" : ": " + addresses.error().message()));
    t.address = addresses->front();
    if (t.parsed.tls) {
      if (!tls_options) {
        if (options.insecure) {
          tls_options = tls::TLSOptions::client_unsafe();
        } else if (!options.ca_file.empty()) {
          std::string error;
          auto ca = tls::X509Certificate::load(options.ca_file, &error);
          if (!ca) fail(2, "--ca: cannot load " + options.ca_file + ": " + error);
          tls_options = tls::TLSOptions::client(ca);
        } else {
          tls_options = tls::TLSOptions::client();
        }
        if (!tls_options->valid()) fail(2, "TLS: " + tls_options->error());
      }
      t.tls = tls_options;
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

double cpu_seconds(const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; }

// utime + stime of a process in seconds (/proc/PID/stat), -1 when unreadable.
double process_cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double utime = -1, stime = -1;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The per-second series as the main thread assembles it from the workers' samples.
class Series {
 public:
  void add(SecondSample&& s) {
    Entry& e = seconds_[s.second];
    e.point.second = s.second;
    e.point.length_s = s.length_s;  // the same for every thread but the last second's
    e.point.sent += s.sent;
    e.point.received += s.received;
    e.point.open += s.open;
    for (int k = 0; k < kErrorKinds; ++k) e.point.errors[k] += s.errors[k];
    if (!e.latency) e.latency = std::make_unique<Histogram>();
    e.latency->merge(*s.latency);
    ++e.samples;
  }
  bool complete(int second, int workers) const {
    auto it = seconds_.find(second);
    return it != seconds_.end() && it->second.samples >= workers;
  }
  const SeriesPoint* point(int second) {
    auto it = seconds_.find(second);
    if (it == seconds_.end()) return nullptr;
    finish(it->second);
    return &it->second.point;
  }
  const Histogram* latency(int second) const {
    auto it = seconds_.find(second);
    return it == seconds_.end() ? nullptr : it->second.latency.get();
  }
  std::vector<SeriesPoint> points(double window_start_s, double window_end_s) {
    std::vector<SeriesPoint> out;
    for (auto& [second, e] : seconds_) {
      finish(e);
      e.point.in_window = second >= window_start_s && second + 1 <= window_end_s;
      out.push_back(e.point);
    }
    return out;
  }

 private:
  struct Entry {
    SeriesPoint point;
    std::unique_ptr<Histogram> latency;
    int samples = 0;
  };
  static void finish(Entry& e) {
    e.point.latency_count = e.latency->count();
    e.point.p50_ns = e.latency->percentile(0.5);
    e.point.p99_ns = e.latency->percentile(0.99);
    e.point.max_ns = e.latency->max();
  }
  std::map<int, Entry> seconds_;
};

}  // namespace

int main(int argc, char** argv) {
  LoadOptions options = parse_load_options(argc, argv);
  const int server_pid = options.server_pid;
  const std::vector<Target> targets = resolve_targets(options);
  if (io::raise_open_files_limit() < static_cast<std::uint64_t>(options.connections) + 64)
    std::fprintf(stderr, "wsp-load: warning: the open-files limit is below %d connections\n",
                 options.connections);

  // Signals are taken by this thread only, with sigtimedwait as its sleep.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // --payload random|chat: the messages made before the clock starts, shared by the threads. A
  // pool's entries have the largest size: a fixed size sends them uncopied.
  std::shared_ptr<const MessagePool> pool;
  if (options.payload != PayloadKind::pattern)
    pool = std::make_shared<const MessagePool>(options.payload, options.sizes.max(), options.payload_seed);
  RunPhases phases;
  phases.start_ns = now_ns();
  phases.slowest = std::make_unique<RunPhases::ThreadSlowest[]>(static_cast<std::size_t>(options.threads));
  std::vector<std::vector<int>> shares(static_cast<std::size_t>(options.threads));
  for (int id = 0; id < options.connections; ++id)
    shares[static_cast<std::size_t>(id % options.threads)].push_back(id);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < options.threads; ++t)
    workers.push_back(std::make_unique<Worker>(options, targets, phases, t, std::move(shares[t]), pool));
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&finished, worker = w.get()] {
      worker->run();
      finished.fetch_add(1, std::memory_order_release);
    });

  const bool tty = options.progress && isatty(STDERR_FILENO);
  Series series;
  Histogram so_far;  // the live p99: the window's seconds once it has started
  bool so_far_in_window = false;
  int next_tick = 1;  // the progress line for second next_tick - 1 is due at next_tick s
  rusage cpu_start{}, cpu_end{};
  double server_start = -1, server_end = -1;
  bool have_cpu_start = false, have_cpu_end = false, interrupted = false;
  std::uint64_t mean_received = 0;
  int mean_seconds = 0;
  ErrorCounts errors_so_far{};

  auto collect = [&] {
    for (auto& w : workers)
      for (SecondSample& s : w->take_samples()) series.add(std::move(s));
  };
  while (finished.load(std::memory_order_acquire) < options.threads) {
    const std::int64_t now = now_ns();
    const std::int64_t window_start = phases.window_start.load(std::memory_order_relaxed);
    const std::int64_t window_end = phases.window_end.load(std::memory_order_relaxed);
    if (!have_cpu_start && now >= window_start) {
      getrusage(RUSAGE_SELF, &cpu_start);
      if (server_pid) server_start = process_cpu_seconds(server_pid);
      have_cpu_start = true;
    }
    if (have_cpu_start && !have_cpu_end && now >= window_end) {
      getrusage(RUSAGE_SELF, &cpu_end);
      if (server_pid) server_end = process_cpu_seconds(server_pid);
      have_cpu_end = true;
    }
    // 50 ms after each second, when the workers have published it.
    const std::int64_t tick_at = phases.start_ns + next_tick * std::int64_t{1'000'000'000} + 50'000'000;
    if (now >= tick_at) {
      collect();
      const int second = next_tick - 1;
      ++next_tick;
      if (const SeriesPoint* p = series.point(second)) {
        const bool in_window = phases.start_ns + second * std::int64_t{1'000'000'000} >= window_start;
        if (in_window && !so_far_in_window) {
          so_far.clear();
          so_far_in_window = true;
          mean_received = 0;
          mean_seconds = 0;
        }
        if (const Histogram* h = series.latency(second)) so_far.merge(*h);
        mean_received += p->received;
        ++mean_seconds;
        for (int k = 0; k < kErrorKinds; ++k) errors_so_far[k] += p->errors[k];
        if (options.progress) {
          Progress line;
          line.elapsed_s = next_tick - 1;
          line.open = p->open;
          line.requested = static_cast<std::uint64_t>(options.connections);
          line.now_per_s = static_cast<double>(p->received);
          line.mean_per_s = static_cast<double>(mean_received) / mean_seconds;
          line.p99_ns = so_far.percentile(0.99);
          line.latency_count = so_far.count();
          line.errors = errors_so_far;
          line.phase = now >= window_end ? " drain" : in_window ? "" : " warm";
          const std::string text = progress_line(line);
          if (tty) std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
          else std::fprintf(stderr, "%s\n", text.c_str());
          std::fflush(stderr);
        }
      }
      continue;
    }
    // Asleep until the next tick or edge of the window (this thread shares the workers' cores:
    // no wake-ups during the window beyond one a second); before the window is set and after
    // it ends, every 50 ms to see it set or the workers done.
    std::int64_t wake = tick_at;
    if (!have_cpu_start) wake = std::min(wake, window_start);
    else if (!have_cpu_end) wake = std::min(wake, window_end);
    if (window_start == kNever || have_cpu_end) wake = std::min(wake, now + 50'000'000);
    const std::int64_t wait = std::max<std::int64_t>(wake - now, 0);
    timespec timeout{wait / 1'000'000'000, wait % 1'000'000'000};
    if (sigtimedwait(&signals, nullptr, &timeout) > 0) {
      if (interrupted) _exit(130);
      interrupted = true;
      // End the window now (or make it empty if it has not begun); the workers drain and stop.
      const std::int64_t t = now_ns();
      if (phases.window_start.load() > t) phases.window_start.store(t);
      if (phases.window_end.load() > t) phases.window_end.store(t);
      if (phases.load_start.load() == kNever) phases.load_start.store(t, std::memory_order_release);
      if (tty) std::fputc('\n', stderr);
      std::fprintf(stderr, "wsp-load: interrupted: draining and reporting (again to quit at once)\n");
    }
  }
  for (std::thread& t : threads) t.join();
  if (tty && options.progress) std::fputc('\n', stderr);
  collect();
  const std::int64_t end = now_ns();
  if (!have_cpu_start) getrusage(RUSAGE_SELF, &cpu_start);
  if (!have_cpu_end) {
    getrusage(RUSAGE_SELF, &cpu_end);
    if (server_pid) server_end = process_cpu_seconds(server_pid);
  }

  RunReport report;
  report.options = &options;
  auto seconds_since_start = [&](std::int64_t t) {
    return t == kNever ? 0.0 : static_cast<double>(t - phases.start_ns) / 1e9;
  };
  report.load_start_s = seconds_since_start(phases.load_start.load());
  report.window_start_s = seconds_since_start(phases.window_start.load());
  report.window_end_s = seconds_since_start(phases.window_end.load());
  report.window_s = std::max(0.0, report.window_end_s - report.window_start_s);
  report.end_s = seconds_since_start(end);
  report.interrupted = interrupted;
  for (auto& w : workers) {
    const WorkerResult& r = w->result();
    report.latency.merge(r.latency);
    report.connect.merge(r.connect);
    report.handshake.merge(r.handshake);
    report.sent += r.sent;
    report.received += r.received;
    report.received_window += r.received_window;
    report.bytes_window += r.bytes_window;
    report.foreign += r.foreign;
    report.fanout_pace_timeouts += r.pace_timeouts;
    report.opened += r.opened;
    report.deflate_connections += r.deflate_connections;
    report.deflate += r.deflate;
    ThreadSummary t{r.opened, r.sent, r.received, r.received_window, 0, r.latency.count(),
                    r.latency.percentile(0.5), r.latency.percentile(0.99), r.latency.max()};
    for (int k = 0; k < kErrorKinds; ++k) {
      report.errors[k] += r.errors[k];
      t.errors += r.errors[k];
      if (report.first_error[k].empty()) report.first_error[k] = r.first_error[k];
    }
    report.threads.push_back(t);
  }
  report.fanout_sender_missing = options.scenario == Scenario::fanout && report.sent == 0 &&
                                 report.opened > 0;
  report.cpu_user_s = cpu_seconds(cpu_end.ru_utime) - cpu_seconds(cpu_start.ru_utime);
  report.cpu_system_s = cpu_seconds(cpu_end.ru_stime) - cpu_seconds(cpu_start.ru_stime);
  if (server_start >= 0 && server_end >= 0 && report.window_s > 0)
    report.server_cpu_pct = 100 * (server_end - server_start) / report.window_s;
  report.series = series.points(report.window_start_s, report.window_end_s);
  judge(report);

  if (report.opened == 0) {
    std::string why = report.first_error[static_cast<int>(ErrorKind::connect)];
    if (why.empty()) why = report.first_error[static_cast<int>(ErrorKind::handshake)];
    std::fprintf(stderr, "wsp-load: no connection could be opened: %s\n", why.c_str());
  }
  print_report(stdout, report);
  std::fflush(stdout);
  // A report asked for and not written fails a run that passed.
  int status = report.exit_status;
  std::string error;
  if (!options.json_file.empty() && !write_json(options.json_file, report, &error)) {
    std::fprintf(stderr, "wsp-load: %s\n", error.c_str());
    if (status == 0) status = 1;
  }
  if (!options.plot_file.empty() && !write_plot(options.plot_file, report, &error)) {
    std::fprintf(stderr, "wsp-load: %s\n", error.c_str());
    if (status == 0) status = 1;
  }
  return status;
}
