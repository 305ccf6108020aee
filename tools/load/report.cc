#include "tools/load/report.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstring>

namespace wsp_load {
namespace {

constexpr struct {
  const char* json;
  const char* label;
  double fraction;
} kPercentiles[] = {{"p50", "p50", 0.50},       {"p90", "p90", 0.90},
                    {"p99", "p99", 0.99},       {"p99_9", "p99.9", 0.999},
                    {"p99_99", "p99.99", 0.9999}};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}
std::string number(std::uint64_t v) { return std::to_string(v); }
std::string us(std::int64_t ns) { return number(static_cast<double>(ns) / 1e3); }

// A histogram as JSON: its figures in microseconds and its non-empty buckets.
std::string histogram_json(const Histogram& h) {
  std::string out = "{\"count\": " + number(h.count()) + ", \"min\": " + us(h.min()) +
                    ", \"mean\": " + number(h.mean() / 1e3);
  for (const auto& p : kPercentiles) out += ", \"" + std::string(p.json) + "\": " + us(h.percentile(p.fraction));
  out += ", \"max\": " + us(h.max()) + ", \"buckets\": [";
  bool first = true;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    if (!h.bucket_count(i)) continue;
    out += first ? "" : ", ";
    first = false;
    out += "[" + us(Histogram::lower_edge(i)) + ", " +
           us(std::min(Histogram::upper_edge(i), h.max())) + ", " + number(h.bucket_count(i)) + "]";
  }
  return out + "]}";
}

std::string errors_json(const ErrorCounts& e) {
  std::string out = "{";
  for (int k = 0; k < kErrorKinds; ++k)
    out += std::string(k ? ", " : "") + "\"" + error_name(k) + "\": " + number(e[k]);
  return out + "}";
}

std::string errors_text(const ErrorCounts& e) {
  std::string out;
  for (int k = 0; k < kErrorKinds; ++k) {
    if (!e[k]) continue;
    out += (out.empty() ? "" : ", ") + std::string(error_name(k)) + " " + with_commas(e[k]);
  }
  return out.empty() ? "none" : out;
}

std::string histogram_line(const Histogram& h) {
  if (!h.count()) return "(none)";
  std::string out;
  for (const auto& p : kPercentiles) out += std::string(p.label) + " " + format_latency(h.percentile(p.fraction)) + "  ";
  return out + "max " + format_latency(h.max()) + "  (mean " +
         format_latency(static_cast<std::int64_t>(h.mean())) + ", " + with_commas(h.count()) + ")";
}

}  // namespace

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_latency(std::int64_t ns) {
  char buffer[32];
  if (ns < 1'000'000) std::snprintf(buffer, sizeof buffer, "%.0f us", ns / 1e3);
  else if (ns < 1'000'000'000) std::snprintf(buffer, sizeof buffer, "%.2f ms", ns / 1e6);
  else std::snprintf(buffer, sizeof buffer, "%.2f s", ns / 1e9);
  return buffer;
}

std::uint64_t RunReport::error_total() const {
  std::uint64_t total = 0;
  for (std::uint64_t e : errors) total += e;
  return total;
}

void judge(RunReport& r) {
  r.objectives.clear();
  bool met = r.errors_ok();
  for (const Objective& o : r.options->objectives) {
    ObjectiveResult result{o, o.fraction >= 1 ? r.latency.max() : r.latency.percentile(o.fraction), false};
    // No latency measured at all meets no objective.
    result.met = r.latency.count() > 0 && result.measured_ns <= o.limit_ns;
    met = met && result.met;
    r.objectives.push_back(result);
  }
  r.exit_status = r.opened == 0 ? 3 : met ? 0 : 1;
}

void print_report(std::FILE* out, const RunReport& r) {
  const LoadOptions& o = *r.options;
  const bool fanout = o.scenario == Scenario::fanout;
  std::string mode = o.open_loop() ? "open loop, " + with_commas(static_cast<std::uint64_t>(o.rate)) +
                                         " msgs/s on schedule"
                                   : "closed loop, " + std::to_string(o.pipeline) +
                                         (!fanout ? " in flight per connection"
                                          : o.fanout_pace == FanoutPace::all
                                              ? " in flight until every subscriber has it"
                                              : " in flight from the sender");
  std::fprintf(out, "wsp-load: %s, %s; %d connections on %d thread%s; %s messages of %s bytes, "
               "payload %s\n",
               fanout ? "fanout" : "echo", mode.c_str(), o.connections, o.threads,
               o.threads == 1 ? "" : "s", o.text ? "text" : "binary", o.sizes.describe().c_str(),
               to_string(o.payload));
  for (const std::string& url : o.urls) std::fprintf(out, "  target       %s\n", url.c_str());
  if (o.batch > 1 && o.batch_wait_us > 0)
    std::fprintf(out, "  wake-ups     each waits up to %u us for %d completions: a receipt may be "
                 "seen that much later (--batch 0: none)\n", o.batch_wait_us, o.batch);
  std::fprintf(out, "  connections  %s opened of %d\n", with_commas(r.opened).c_str(), o.connections);
  std::fprintf(out, "  connect      %s\n", histogram_line(r.connect).c_str());
  std::fprintf(out, "  handshake    %s\n", histogram_line(r.handshake).c_str());
  std::fprintf(out, "  window       %.2f s from %.2f s (warm-up %.2f s after the last connection attempt)%s\n",
               r.window_s, r.window_start_s, o.warmup_s, r.interrupted ? ", cut short by a signal" : "");
  std::fprintf(out, "  messages     %s %s in the window: %s/s, %.2f MB/s of payload; %s sent in all\n",
               with_commas(r.received_window).c_str(), fanout ? "receipts" : "replies",
               with_commas(static_cast<std::uint64_t>(r.msgs_per_s())).c_str(),
               r.window_s > 0 ? r.bytes_window / r.window_s / 1e6 : 0.0, with_commas(r.sent).c_str());
  if (o.deflate.mode != wsp::DeflateOptions::Mode::off) {
    const wsp::DeflateStats& d = r.deflate;
    std::fprintf(out, "  deflate      %s offered, negotiated on %s of %s connections; sent %s compressed "
                      "(%s -> %s bytes), received %s compressed (%s -> %s bytes)\n",
                 wsp::to_string(o.deflate.mode), with_commas(r.deflate_connections).c_str(),
                 with_commas(r.opened).c_str(), with_commas(d.messages_compressed).c_str(),
                 with_commas(d.bytes_before_compression).c_str(),
                 with_commas(d.bytes_after_compression).c_str(), with_commas(d.messages_inflated).c_str(),
                 with_commas(d.bytes_before_inflation).c_str(), with_commas(d.bytes_after_inflation).c_str());
  }
  if (fanout && r.foreign)
    std::fprintf(out, "  other        %s messages from the server itself (ignored)\n", with_commas(r.foreign).c_str());
  std::fprintf(out, "  latency      %s\n", histogram_line(r.latency).c_str());
  std::fprintf(out, "               %s\n", o.open_loop() ? "from each message's intended send time (coordinated omission corrected)"
                                                       : "from each message's send time (closed loop)");
  std::fprintf(out, "  errors       %s\n", errors_text(r.errors).c_str());
  for (int k = 0; k < kErrorKinds; ++k)
    if (!r.first_error[k].empty()) std::fprintf(out, "    first %-9s %s\n", error_name(k), r.first_error[k].c_str());
  if (r.fanout_sender_missing) std::fprintf(out, "  fanout       the sender (connection 0) did not open: nothing was sent\n");
  if (o.fanout_paced_by_every_subscriber())
    std::fprintf(out, "  pace         %s pace timeouts (publishes sent anyway after the slowest "
                      "subscriber got nothing new for 1 s)\n", with_commas(r.fanout_pace_timeouts).c_str());
  if (r.cpu_us_per_msg() >= 0) {
    std::fprintf(out, "  cpu          wsp-load %.1f%% of a core (user %.2f s, system %.2f s): %.3f us per message\n",
                 r.cpu_pct(), r.cpu_user_s, r.cpu_system_s, r.cpu_us_per_msg());
  }
  if (r.server_cpu_pct >= 0) std::fprintf(out, "               server %.1f%% of a core\n", r.server_cpu_pct);
  const double per_thread = r.cpu_pct() / o.threads;
  if (per_thread > 90)
    std::fprintf(out, "  note         wsp-load ran at %.0f%% of its core%s: the load generator may be the bottleneck; add --threads\n",
                 per_thread, o.threads == 1 ? "" : "s");
  else if (r.server_cpu_pct > 90)
    std::fprintf(out, "  note         the server ran at %.0f%% of a core: it saturated before wsp-load (%.0f%%)\n",
                 r.server_cpu_pct, per_thread);
  std::string verdict = r.exit_status == 3 ? "failed: no connection could be opened"
                        : r.exit_status == 0 ? "passed" : "failed";
  std::fprintf(out, "  verdict      %s (errors %s, allowed %s", verdict.c_str(), with_commas(r.error_total()).c_str(),
               with_commas(o.max_errors).c_str());
  for (const ObjectiveResult& obj : r.objectives)
    std::fprintf(out, "; %s %s %s %s", obj.objective.name.c_str(), format_latency(obj.measured_ns).c_str(),
                 obj.met ? "<=" : ">", format_latency(obj.objective.limit_ns).c_str());
  std::fprintf(out, ")\n");
}

bool write_json(const std::string& path, const RunReport& r, std::string* error) {
  const LoadOptions& o = *r.options;
  std::string j = "{\n  \"tool\": \"wsp-load\",\n  \"schema\": 1,\n";
  j += "  \"config\": {\"urls\": [";
  for (std::size_t i = 0; i < o.urls.size(); ++i) j += (i ? ", " : "") + json_string(o.urls[i]);
  j += "], \"scenario\": " + json_string(o.scenario == Scenario::fanout ? "fanout" : "echo") +
       ", \"mode\": " + json_string(o.open_loop() ? "open" : "closed") +
       ", \"pipeline\": " + std::to_string(o.pipeline) + ", \"fanout_pace\": " +
       json_string(o.fanout_pace == FanoutPace::all ? "all" : "sender") + ", \"rate\": " + number(o.rate) +
       ", \"batch\": " + std::to_string(o.batch) + ", \"batch_wait_us\": " + std::to_string(o.batch_wait_us) +
       ", \"threads\": " + std::to_string(o.threads) + ", \"connections\": " + std::to_string(o.connections) +
       ", \"connect_rate\": " + number(o.connect_rate) + ", \"duration_s\": " + number(o.duration_s) +
       ", \"warmup_s\": " + number(o.warmup_s) + ", \"size\": " + json_string(o.sizes.describe()) +
       ", \"text\": " + (o.text ? "true" : "false") + ", \"payload\": " +
       json_string(to_string(o.payload)) + ", \"payload_seed\": " + number(o.payload_seed) +
       ", \"max_errors\": " + number(o.max_errors) + "},\n";
  j += "  \"phases_s\": {\"load_start\": " + number(r.load_start_s) + ", \"window_start\": " +
       number(r.window_start_s) + ", \"window_end\": " + number(r.window_end_s) + ", \"end\": " +
       number(r.end_s) + ", \"window\": " + number(r.window_s) + ", \"interrupted\": " +
       (r.interrupted ? "true" : "false") + "},\n";
  j += "  \"connections\": {\"requested\": " + std::to_string(o.connections) + ", \"opened\": " +
       number(r.opened) + "},\n";
  j += "  \"messages\": {\"sent\": " + number(r.sent) + ", \"received\": " + number(r.received) +
       ", \"received_in_window\": " + number(r.received_window) + ", \"per_second\": " +
       number(r.msgs_per_s()) + ", \"payload_bytes_per_second\": " +
       number(r.window_s > 0 ? r.bytes_window / r.window_s : 0.0) + ", \"foreign\": " +
       number(r.foreign) + "},\n";
  const wsp::DeflateStats& d = r.deflate;
  j += "  \"deflate\": {\"offered\": " + json_string(wsp::to_string(o.deflate.mode)) +
       ", \"negotiated_connections\": " + number(r.deflate_connections) +
       ", \"messages_compressed\": " + number(d.messages_compressed) +
       ", \"bytes_before_compression\": " + number(d.bytes_before_compression) +
       ", \"bytes_after_compression\": " + number(d.bytes_after_compression) +
       ", \"messages_inflated\": " + number(d.messages_inflated) +
       ", \"bytes_before_inflation\": " + number(d.bytes_before_inflation) +
       ", \"bytes_after_inflation\": " + number(d.bytes_after_inflation) + "},\n";
  j += "  \"latency_us\": " + histogram_json(r.latency) + ",\n";
  j += "  \"connect_time_us\": " + histogram_json(r.connect) + ",\n";
  j += "  \"handshake_time_us\": " + histogram_json(r.handshake) + ",\n";
  j += "  \"fanout\": {\"pace_timeouts\": " + number(r.fanout_pace_timeouts) + "},\n";
  j += "  \"errors\": " + errors_json(r.errors) + ",\n";
  j += "  \"errors_total\": " + number(r.error_total()) + ",\n  \"first_errors\": {";
  bool first = true;
  for (int k = 0; k < kErrorKinds; ++k) {
    if (r.first_error[k].empty()) continue;
    j += std::string(first ? "" : ", ") + "\"" + error_name(k) + "\": " + json_string(r.first_error[k]);
    first = false;
  }
  j += "},\n";
  j += "  \"cpu\": {\"user_s\": " + number(r.cpu_user_s) + ", \"system_s\": " + number(r.cpu_system_s) +
       ", \"percent_of_core\": " + number(r.cpu_pct()) + ", \"us_per_message\": " +
       (r.cpu_us_per_msg() >= 0 ? number(r.cpu_us_per_msg()) : "null") +
       ", \"server_percent_of_core\": " + (r.server_cpu_pct >= 0 ? number(r.server_cpu_pct) : "null") + "},\n";
  j += "  \"series\": [";
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const SeriesPoint& p = r.series[i];
    j += std::string(i ? ",\n    " : "\n    ") + "{\"second\": " + std::to_string(p.second) +
         ", \"length_s\": " + number(p.length_s) + ", \"sent\": " + number(p.sent) + ", \"received\": " + number(p.received) +
         ", \"open\": " + number(p.open) + ", \"in_window\": " + (p.in_window ? "true" : "false") +
         ", \"errors\": " + errors_json(p.errors) + ", \"latency_count\": " + number(p.latency_count) +
         ", \"p50_us\": " + us(p.p50_ns) + ", \"p99_us\": " + us(p.p99_ns) + ", \"max_us\": " + us(p.max_ns) + "}";
  }
  j += "],\n  \"threads\": [";
  for (std::size_t i = 0; i < r.threads.size(); ++i) {
    const ThreadSummary& t = r.threads[i];
    j += std::string(i ? ", " : "") + "{\"thread\": " + std::to_string(i) + ", \"opened\": " +
         number(t.opened) + ", \"sent\": " + number(t.sent) + ", \"received\": " +
         number(t.received) + ", \"received_in_window\": " + number(t.received_window) +
         ", \"errors\": " + number(t.errors) + ", \"latency_count\": " + number(t.latency_count) +
         ", \"p50_us\": " + us(t.p50_ns) + ", \"p99_us\": " + us(t.p99_ns) + ", \"max_us\": " +
         us(t.max_ns) + "}";
  }
  j += "],\n  \"slo\": [";
  for (std::size_t i = 0; i < r.objectives.size(); ++i) {
    const ObjectiveResult& obj = r.objectives[i];
    j += std::string(i ? ", " : "") + "{\"objective\": " + json_string(obj.objective.name) +
         ", \"limit_us\": " + us(obj.objective.limit_ns) + ", \"measured_us\": " + us(obj.measured_ns) +
         ", \"met\": " + (obj.met ? "true" : "false") + "}";
  }
  j += "],\n  \"passed\": " + std::string(r.exit_status == 0 ? "true" : "false") +
       ",\n  \"exit_status\": " + std::to_string(r.exit_status) + "\n}\n";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    if (error) *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = std::fwrite(j.data(), 1, j.size(), f) == j.size();
  const bool closed = std::fclose(f) == 0;
  if (!(ok && closed)) {
    if (error) *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::string progress_line(const Progress& p) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, "[%5.0fs%s] conns %s/%s  msgs/s %s (mean %s)  p99 %s  errors %s",
                p.elapsed_s, p.phase, with_commas(p.open).c_str(), with_commas(p.requested).c_str(),
                with_commas(static_cast<std::uint64_t>(p.now_per_s)).c_str(),
                with_commas(static_cast<std::uint64_t>(p.mean_per_s)).c_str(),
                p.latency_count ? format_latency(p.p99_ns).c_str() : "-",
                errors_text(p.errors).c_str());
  return buffer;
}

}  // namespace wsp_load
