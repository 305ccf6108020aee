#include "tools/load/load_options.h"

#include <cstdio>
#include <cstdlib>

#include "tools/flags/deflate_flags.h"
#include "tools/flags/flags.h"
#include "wsp/protocol/url.h"

namespace wsp_load {
namespace {

// "5ms", "250us", "1.5s" -> ns; a unit is required.
std::string parse_latency(std::string_view text, std::int64_t& ns) {
  const std::string expected = "a latency with its unit (250us, 5ms, 1s)";
  double scale = 0;
  for (auto [suffix, factor] : {std::pair<std::string_view, double>{"us", 1e3}, {"ms", 1e6},
                                {"ns", 1.0}, {"s", 1e9}}) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
      scale = factor;
      break;
    }
  }
  double value = 0;
  if (scale == 0 || !flags::parse_number(text, 0, 1e7, value).empty()) return expected;
  ns = static_cast<std::int64_t>(value * scale);
  return {};
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "wsp-load: %s (see --help)\n", message.c_str());
  std::exit(2);
}

}  // namespace

std::string parse_seconds(std::string_view text, double& seconds) {
  double scale = 1;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    scale = 1e-3;
    text.remove_suffix(2);
  } else if (!text.empty() && text.back() == 's') {
    text.remove_suffix(1);
  } else if (!text.empty() && text.back() == 'm') {
    scale = 60;
    text.remove_suffix(1);
  }
  double value = 0;
  if (!flags::parse_number(text, 0, 1e6, value).empty())
    return "a duration in seconds (10, 10s, 500ms, 2m)";
  seconds = value * scale;
  return {};
}

std::string parse_objectives(std::string_view text, std::vector<Objective>& out) {
  const std::string expected = "objectives like p99=5ms or p50=1ms,p99.9=20ms,max=1s";
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return expected;
    Objective o;
    o.name = std::string(item.substr(0, eq));
    if (o.name == "max") {
      o.fraction = 1;
    } else {
      double percent = 0;
      if (o.name.size() < 2 || o.name[0] != 'p' ||
          !flags::parse_number(std::string_view(o.name).substr(1), 0.0001, 100, percent).empty())
        return expected;
      o.fraction = percent / 100;
    }
    if (!parse_latency(item.substr(eq + 1), o.limit_ns).empty()) return expected;
    out.push_back(std::move(o));
  }
  return out.empty() ? expected : std::string();
}

LoadOptions parse_load_options(int argc, char** argv) {
  LoadOptions o;
  std::string scenario = "echo";
  bool text = false, binary = false;
  flags::Flags f("wsp-load", "WebSocket load generator: echo (checked byte for byte) or fanout, "
                             "closed loop (--pipeline) or open loop (--rate), HDR-style latency "
                             "histograms, JSON and PNG reports.");
  f.positionals("URL", &o.urls, "ws:// or wss:// targets (IPv4, [IPv6], names); connections "
                "go to them in turn", true);
  auto seconds = [](double* out) {
    return [out](std::string_view v) { return parse_seconds(v, *out); };
  };
  f.add("--scenario", "echo|fanout", [&](std::string_view v) {
    if (v != "echo" && v != "fanout") return std::string("echo or fanout");
    scenario = std::string(v);
    return std::string();
  }, "echo (default; every reply checked byte for byte) or fanout (a chat room: one sender, "
     "latency to every receipt)");
  f.add("--threads", &o.threads, 1, 1024, "threads, one reactor each (1)");
  f.add("--connections", &o.connections, 1, 10000000, "connections in total (64)");
  f.add("--connect-rate", &o.connect_rate, 0, 1e9,
        "connections opened per second in total, a ramp (0: all at once)");
  f.add("--duration", "SECONDS", seconds(&o.duration_s), "measured time after the warm-up (10)");
  f.add("--warmup", "SECONDS", seconds(&o.warmup_s),
        "time after every connection was attempted before measuring starts (1)");
  f.add("--connect-timeout", "SECONDS", seconds(&o.connect_timeout_s),
        "for each TCP connect and each handshake (10)");
  f.add("--drain-timeout", "SECONDS", seconds(&o.drain_timeout_s),
        "how long replies are awaited after the window (5)");
  f.add("--size", "SIZE", [&](std::string_view v) { return MessageSizes::parse(v, o.sizes); },
        "message size: 64, a range 64-1024, or weighted 64:9,4096:1 (64)");
  f.add("--payload", "pattern|random|chat", [&](std::string_view v) {
    return parse_payload_kind(v, o.payload) ? std::string() : std::string("pattern, random or chat");
  }, "echo messages: pattern (default; a sequence tag then the same printable bytes in every "
     "message, which flatters compression), random (incompressible bytes; --binary only) or chat "
     "(JSON chat messages, each different, words from a fixed list: text that compresses like "
     "chat); random and chat cycle through a pool made before the run");
  f.add("--payload-seed", "N", [&](std::string_view v) {
    unsigned long long n = 0;
    std::string why = flags::parse_unsigned(v, 0, ~0ull, n);
    if (why.empty()) o.payload_seed = n;
    return why;
  }, "seed of the random and chat pools: the same seed, the same messages (1)");
  f.add("--text", &text, "text messages (the default for fanout)");
  f.add("--binary", &binary, "binary messages (the default for echo)");
  flags::add_deflate_flags(f, o.deflate);
  f.add("--pipeline", &o.pipeline, 1, 1000000,
        "closed loop: messages in flight per connection; fanout: publishes in flight (1)");
  f.add("--fanout-pace", "all|sender", [&](std::string_view v) {
    if (v != "all" && v != "sender") return std::string("all or sender");
    o.fanout_pace = v == "all" ? FanoutPace::all : FanoutPace::sender;
    return std::string();
  }, "closed-loop fanout: a publish stays in flight until every subscriber has it (all, the "
     "default; a subscriber silent for 1 s lets the sender go on, counted as a pace timeout) or "
     "only until the sender has its own copy (sender), which overdrives subscribers the server "
     "serves later, e.g. on another reactor thread");
  f.add("--rate", &o.rate, 0, 1e9,
        "open loop: messages per second in total, sent on schedule whatever the server does; "
        "latency from the intended send time");
  f.add("--batch", &o.batch, 0, 4096,
        "completions each thread waits for per wake-up, for at most --batch-wait: fewer wake-ups, "
        "each receipt seen up to --batch-wait later (default: half the messages in flight per "
        "thread, at most 64, in a closed-loop echo run; 0, no waiting, in open loop and fanout)");
  f.add("--batch-wait", &o.batch_wait_us, 0, 1000000,
        "microseconds a wake-up waits for --batch completions (100)");
  f.add("--ca", &o.ca_file, "PEM file of the certificates to trust for wss://");
  f.add("--insecure", &o.insecure, "wss:// without verifying the server's certificate");
  f.add("--header", &o.headers, "extra request header line 'Name: value' (repeatable)");
  f.add("--protocol", &o.protocols, "subprotocol to offer (repeatable)");
  f.add("--json", &o.json_file, "write every figure, the histograms and the per-second series here");
  f.add("--plot", &o.plot_file, "draw the latency percentile spectrum and msgs/s over time (PNG)");
  f.add("--max-errors", "N", [&](std::string_view v) {
    unsigned long long n = 0;
    std::string why = flags::parse_unsigned(v, 0, ~0ull, n);
    if (why.empty()) o.max_errors = n;
    return why;
  }, "errors allowed before the run counts as failed (0)");
  f.add("--slo", "OBJECTIVES", [&](std::string_view v) { return parse_objectives(v, o.objectives); },
        "latency objectives, e.g. p99=5ms or p50=1ms,p99.9=20ms (repeatable); missed: exit 1");
  f.add("--progress", &o.progress, "the live line on stderr once a second (1)");
  f.add("--server-pid", &o.server_pid, 0, 1 << 30,
        "also report this process's CPU use over the window (which side saturated)");
  f.add("--print-stats", &o.print_stats,
        "each thread's reactor counters at the end on stderr (turns, io_uring_enter, SQEs, CQEs)");
  f.parse(argc, argv);

  o.scenario = scenario == "fanout" ? Scenario::fanout : Scenario::echo;
  for (const std::string& url : o.urls) {
    wsp::WebSocketUrl parsed;
    if (!wsp::parse_websocket_url(url, parsed) ||
        (url.rfind("ws://", 0) != 0 && url.rfind("wss://", 0) != 0))
      usage_error("'" + url + "' is not a ws:// or wss:// URL");
  }
  if (text && binary) usage_error("--text and --binary exclude each other");
  o.text = o.scenario == Scenario::fanout ? !binary : text;
  if (o.payload != PayloadKind::pattern && o.scenario == Scenario::fanout)
    usage_error("--payload: fanout messages carry their tag in the pattern; use --payload pattern");
  if (o.payload == PayloadKind::random && o.text)
    usage_error("--payload random is not UTF-8: use it with --binary (or --payload chat for text)");
  if (std::string error; !wsp::valid_deflate_options(o.deflate, error)) usage_error("--deflate-*: " + error);
  if (o.duration_s <= 0) usage_error("--duration must be more than 0");
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.scenario == Scenario::fanout && o.sizes.min() < 36)
    usage_error("--size: fanout messages carry a 36-byte tag; use at least 36 bytes");
  if (!o.ca_file.empty() && o.insecure) usage_error("--ca and --insecure exclude each other");
  if (o.batch < 0) {
    const long in_flight = static_cast<long>(o.connections / o.threads) * o.pipeline;
    o.batch = o.scenario == Scenario::echo && !o.open_loop()
                  ? static_cast<int>(std::min<long>(64, in_flight / 2))
                  : 0;
  }
  return o;
}

}  // namespace wsp_load
