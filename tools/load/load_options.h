// LoadOptions: wsp-load's command line, read with tools/flags (a bad value exits with status 2
// and one line naming the flag).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/load/message_sizes.h"
#include "tools/load/payload.h"
#include "wsp/protocol/deflate_negotiation.h"

namespace wsp_load {

enum class Scenario { echo, fanout };
// Closed-loop fanout: a publish is in flight until every subscriber has it (all), or until the
// sender has its own copy (sender), which overdrives subscribers a server serves later.
enum class FanoutPace { all, sender };

// One objective of --slo: "p99=5ms" (or p50, p99.9, max ...).
struct Objective {
  std::string name;     // as given: "p99"
  double fraction = 0;  // 0.99; 1 for max
  std::int64_t limit_ns = 0;
};

struct LoadOptions {
  std::vector<std::string> urls;
  std::string ca_file;  // trust these instead of the system store (wss://)
  bool insecure = false;
  std::vector<std::string> headers;    // extra request header lines
  std::vector<std::string> protocols;  // Sec-WebSocket-Protocol offers

  int threads = 1;
  int connections = 64;
  double connect_rate = 0;  // connections per second in total; 0: as fast as they open
  double duration_s = 10;
  double warmup_s = 1;
  double connect_timeout_s = 10;
  double drain_timeout_s = 5;

  MessageSizes sizes;
  bool text = false;  // echo: binary unless --text; fanout: text unless --binary
  PayloadKind payload = PayloadKind::pattern;  // what echo messages hold (payload.h)
  std::uint64_t payload_seed = 1;              // random and chat pools are made from it
  wsp::DeflateOptions deflate;  // permessage-deflate (RFC 7692) offered to the servers

  Scenario scenario = Scenario::echo;
  int pipeline = 1;  // closed loop: messages in flight per connection
  FanoutPace fanout_pace = FanoutPace::all;
  double rate = 0;   // open loop when > 0: messages per second in total, on schedule
  // Completions a reactor waits for per wake-up, for at most batch_wait_us (io::Reactor's
  // Options::batch_*): fewer wake-ups per message, each receipt seen up to batch_wait_us later.
  // -1 (auto): half the messages in flight per thread, at most 64, in the closed-loop echo
  // scenario; 0 elsewhere, where latency is the point.
  int batch = -1;
  unsigned batch_wait_us = 100;

  std::string json_file;
  std::string plot_file;
  std::uint64_t max_errors = 0;
  std::vector<Objective> objectives;
  bool progress = true;  // the once-a-second line on stderr
  int server_pid = 0;    // also report this process's CPU use over the window
  bool print_stats = false;  // each thread's reactor counters at the end (stderr)

  bool open_loop() const { return rate > 0; }
  bool fanout_paced_by_every_subscriber() const {
    return scenario == Scenario::fanout && !open_loop() && fanout_pace == FanoutPace::all;
  }
};

// Parses the command line; exits with status 2 (one line naming the problem) when it is bad,
// 0 after --help.
LoadOptions parse_load_options(int argc, char** argv);

// Pieces of the parser, for tests: each returns an empty string when good, else what the
// value should have been.
std::string parse_seconds(std::string_view text, double& seconds);      // "10", "10s", "500ms", "2m"
std::string parse_objectives(std::string_view text, std::vector<Objective>& out);  // "p99=5ms,max=1s"

}  // namespace wsp_load
