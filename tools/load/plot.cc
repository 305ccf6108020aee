#include "tools/load/plot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

extern char** environ;

namespace wsp_load {
namespace {

// gnuplot's string syntax: single quotes, a quote doubled.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Percentile spectrum points: (1/(1-p), latency ms) at every bucket edge, up to 99.9999%.
void write_spectrum(std::ofstream& out, const Histogram& h) {
  const double count = static_cast<double>(h.count());
  double seen = 0;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    if (!h.bucket_count(i)) continue;
    seen += static_cast<double>(h.bucket_count(i));
    const double p = seen / count;
    const double x = p >= 1 ? 1e6 : std::min(1e6, 1 / (1 - p));
    const double ms = static_cast<double>(std::min(Histogram::upper_edge(i), h.max())) / 1e6;
    out << x << ' ' << ms << '\n';
    if (p >= 1) break;
  }
}

}  // namespace

bool write_plot(const std::string& path, const RunReport& r, std::string* error) {
  namespace fs = std::filesystem;
  char dir_template[] = "/tmp/wsp-load-plot-XXXXXX";
  if (!mkdtemp(dir_template)) {
    *error = "cannot make a temporary directory for the plot";
    return false;
  }
  const fs::path dir = dir_template;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};

  {
    std::ofstream spectrum(dir / "spectrum.dat");
    if (r.latency.count()) write_spectrum(spectrum, r.latency);
    else spectrum << "1 0\n";
    std::ofstream series(dir / "series.dat");
    for (const SeriesPoint& p : r.series) {
      if (p.length_s < 0.05) continue;  // too short a last second for a rate
      series << p.second + p.length_s / 2 << ' ' << p.received / p.length_s << ' '
             << (p.latency_count ? static_cast<double>(p.p99_ns) / 1e6 : NAN) << '\n';
    }
    if (r.series.empty()) series << "0 0 0\n";
  }
  const LoadOptions& o = *r.options;
  char title[256];
  std::snprintf(title, sizeof title, "wsp-load %s, %s, %d connections, %s B%s",
                o.scenario == Scenario::fanout ? "fanout" : "echo",
                o.open_loop() ? ("open loop " + with_commas(static_cast<std::uint64_t>(o.rate)) + "/s").c_str()
                              : ("closed loop x" + std::to_string(o.pipeline)).c_str(),
                o.connections, o.sizes.describe().c_str(),
                o.open_loop() ? " (latency from intended send time)" : "");
  std::ofstream script(dir / "plot.gp");
  script << "set terminal pngcairo size 1100,900 font 'sans,10'\n"
         << "set output " << quoted(path) << "\n"
         << "set multiplot layout 2,1 title " << quoted(title) << "\n"
         << "set logscale x\nset grid\n"
         // Tick labels are format strings: %% is a percent sign.
         << "set xtics ('50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, "
            "'99.999%%' 100000, '99.9999%%' 1000000)\n"
         << "set xrange [1:1000000]\n"
         << "set xlabel 'percentile'\nset ylabel 'latency (ms)'\n"
         << "set title 'latency by percentile (window: " << with_commas(r.latency.count())
         << " messages)'\n"
         << "plot " << quoted((dir / "spectrum.dat").string())
         << " using 1:2 with steps lw 2 title 'latency'\n"
         << "unset logscale x\nset xtics auto\nset autoscale x\n"
         << "set xlabel 'seconds since start'\nset ylabel 'msgs/s'\nset y2label 'p99 (ms)'\n"
         << "set ytics nomirror\nset y2tics\nset yrange [0:*]\nset y2range [0:*]\n"
         << "set title 'throughput and p99 per second'\n";
  if (r.window_s > 0)
    script << "set object 1 rect from " << r.window_start_s << ", graph 0 to " << r.window_end_s
           << ", graph 1 fc rgb '#e8f0ff' fs solid behind\n";
  script << "plot " << quoted((dir / "series.dat").string())
         << " using 1:2 with linespoints lw 2 title 'msgs/s' axes x1y1, '' using 1:3 with points "
            "pt 7 title 'p99 (ms)' axes x1y2\n"
         << "unset multiplot\n";
  script.close();

  std::string script_path = (dir / "plot.gp").string();
  std::string program = "gnuplot";
  char* argv[] = {program.data(), script_path.data(), nullptr};
  pid_t pid;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot run gnuplot (install Debian's gnuplot-nox)";
    return false;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "gnuplot failed drawing " + path;
    return false;
  }
  return true;
}

}  // namespace wsp_load
