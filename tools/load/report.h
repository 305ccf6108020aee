// RunReport: every figure of a finished run, and the three ways it is shown: the human-readable
// report (stdout), the JSON file (--json) and the live progress line (stderr).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/load/histogram.h"
#include "tools/load/load_options.h"
#include "tools/load/run_state.h"
#include "wsp/protocol/permessage_deflate.h"

namespace wsp_load {

struct SeriesPoint {
  int second = 0;
  double length_s = 1;  // the last second of a run is shorter
  std::uint64_t sent = 0, received = 0, open = 0;
  ErrorCounts errors{};
  std::uint64_t latency_count = 0;
  std::int64_t p50_ns = 0, p99_ns = 0, max_ns = 0;
  bool in_window = false;  // the whole second lies inside the measured window
};

struct ObjectiveResult {
  Objective objective;
  std::int64_t measured_ns = 0;
  bool met = false;
};

// One thread's share (the merged figures are in RunReport).
struct ThreadSummary {
  std::uint64_t opened = 0, sent = 0, received = 0, received_window = 0;
  std::uint64_t errors = 0;
  std::uint64_t latency_count = 0;
  std::int64_t p50_ns = 0, p99_ns = 0, max_ns = 0;
};

struct RunReport {
  const LoadOptions* options = nullptr;
  // Phases, seconds after the start.
  double load_start_s = 0, window_start_s = 0, window_end_s = 0, end_s = 0;
  double window_s = 0;  // measured length (shorter when interrupted)
  bool interrupted = false;

  std::uint64_t opened = 0;
  std::uint64_t deflate_connections = 0;  // permessage-deflate negotiated
  wsp::DeflateStats deflate;              // what it did on them, summed
  Histogram latency, connect, handshake;
  std::uint64_t sent = 0, received = 0, received_window = 0, bytes_window = 0, foreign = 0;
  ErrorCounts errors{};
  std::array<std::string, kErrorKinds> first_error;
  bool fanout_sender_missing = false;
  std::uint64_t fanout_pace_timeouts = 0;  // --fanout-pace all: sent anyway after 1 s

  // CPU over the window (getrusage, every thread of wsp-load).
  double cpu_user_s = 0, cpu_system_s = 0;
  double server_cpu_pct = -1;  // --server-pid, else -1

  std::vector<SeriesPoint> series;
  std::vector<ThreadSummary> threads;
  std::vector<ObjectiveResult> objectives;
  int exit_status = 0;

  std::uint64_t error_total() const;
  double msgs_per_s() const { return window_s > 0 ? received_window / window_s : 0; }
  double cpu_pct() const { return window_s > 0 ? 100 * (cpu_user_s + cpu_system_s) / window_s : 0; }
  // CPU microseconds per message received in the window (-1 when none was).
  double cpu_us_per_msg() const {
    return received_window ? 1e6 * (cpu_user_s + cpu_system_s) / received_window : -1;
  }
  bool errors_ok() const { return error_total() <= options->max_errors; }
};

// Fills objectives and exit_status (0 met, 1 not met, 3 no connection opened).
void judge(RunReport& report);
void print_report(std::FILE* out, const RunReport& report);
// False (with the reason) when the file cannot be written.
bool write_json(const std::string& path, const RunReport& report, std::string* error);

// "1,234,567", "523 us" / "1.23 ms" / "1.20 s".
std::string with_commas(std::uint64_t n);
std::string format_latency(std::int64_t ns);

// The progress line (no newline).
struct Progress {
  double elapsed_s = 0;
  std::uint64_t open = 0, requested = 0;
  double now_per_s = 0, mean_per_s = 0;
  std::int64_t p99_ns = 0;
  std::uint64_t latency_count = 0;
  ErrorCounts errors{};
  const char* phase = "";
};
std::string progress_line(const Progress& p);

}  // namespace wsp_load
