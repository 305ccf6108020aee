// wsp-load run as a child process against wsp's echo and chat servers, faulty_echo_server
// (which corrupts or stalls on purpose) and lagging_room_server (a room that serves all but the
// sender late), all on 127.0.0.1 with ports from the OS. Reports are read back through check_load_json.py (Debian's /usr/bin/python3).
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "tests/ports.h"
#include "tests/tls/test_certs.h"
#include "tests/tools/tool_process.h"

using namespace tool_test;

namespace {

std::string load() { return runfile("tools/load/wsp-load"); }

// wsp-load with `args` after the URL, quiet (no progress lines).
Output run_load(const std::string& url, std::vector<std::string> args,
                std::chrono::milliseconds timeout = 60s) {
  std::vector<std::string> argv{load(), url, "--progress", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout);
}

double number(const std::map<std::string, std::string>& figures, const std::string& name) {
  auto it = figures.find(name);
  REQUIRE(it != figures.end());
  return std::stod(it->second);
}

}  // namespace

// --- the command line ---------------------------------------------------------------------

TEST_CASE("wsp-load refuses an unknown flag with a line naming it and exit status 2") {
  Output out = run({load(), "ws://127.0.0.1:1/", "--bogus"});
  CHECK(out.status == 2);
  REQUIRE_FALSE(out.lines.empty());
  CHECK(out.lines[0] == "wsp-load: unknown option --bogus");
}

TEST_CASE("wsp-load refuses a bad value or a URL that is not ws:// or wss:// with exit status 2") {
  Output url = run({load(), "http://127.0.0.1/"});
  CHECK(url.status == 2);
  CHECK(url.lines == std::vector<std::string>{
                         "wsp-load: 'http://127.0.0.1/' is not a ws:// or wss:// URL (see --help)"});
  Output none = run({load()});
  CHECK(none.status == 2);
  REQUIRE_FALSE(none.lines.empty());
  CHECK(none.lines[0] == "wsp-load: missing URL");
  Output value = run({load(), "ws://127.0.0.1:1/", "--connections", "many"});
  CHECK(value.status == 2);
  REQUIRE_FALSE(value.lines.empty());
  CHECK(value.lines[0] ==
        "wsp-load: --connections: 'many' is not a whole number from 1 to 10000000");
  Output size = run({load(), "ws://127.0.0.1:1/", "--size", "10-5"});
  CHECK(size.status == 2);
  Output deflate = run({load(), "ws://127.0.0.1:1/", "--deflate", "always"});
  CHECK(deflate.status == 2);
  REQUIRE_FALSE(deflate.lines.empty());
  CHECK(deflate.lines[0] == "wsp-load: --deflate: 'always' is not off, shared or dedicated");
  Output payload = run({load(), "ws://127.0.0.1:1/", "--payload", "lorem"});
  CHECK(payload.status == 2);
  REQUIRE_FALSE(payload.lines.empty());
  CHECK(payload.lines[0] == "wsp-load: --payload: 'lorem' is not pattern, random or chat");
  Output random_text = run({load(), "ws://127.0.0.1:1/", "--payload", "random", "--text"});
  CHECK(random_text.status == 2);
  REQUIRE_FALSE(random_text.lines.empty());
  CHECK_THAT(random_text.lines[0], Catch::StartsWith("wsp-load: --payload random is not UTF-8"));
  Output fanout = run({load(), "ws://127.0.0.1:1/", "--scenario", "fanout", "--payload", "chat"});
  CHECK(fanout.status == 2);
  Output pace = run({load(), "ws://127.0.0.1:1/", "--fanout-pace", "fast"});
  CHECK(pace.status == 2);
  REQUIRE_FALSE(pace.lines.empty());
  CHECK(pace.lines[0] == "wsp-load: --fanout-pace: 'fast' is not all or sender");
}

TEST_CASE("wsp-load against a port nobody listens on says so and exits with status 3") {
  testing_support::RefusingPort refusing;
  const std::string url = "ws://127.0.0.1:" + std::to_string(refusing.port()) + "/";
  Output out = run_load(url, {"--connections", "3", "--duration", "1"}, 30s);
  CHECK(out.status == 3);
  CHECK_THAT(out.text(), Catch::Contains("wsp-load: no connection could be opened: cannot connect "
                                         "to 127.0.0.1:") &&
                             Catch::Contains("Connection refused"));
  CHECK_THAT(out.text(), Catch::Contains("errors       connect 3"));
}

// --- targets ------------------------------------------------------------------------------

TEST_CASE("wsp-load reaches an IPv6 server at ws://[::1]:PORT/") {
  Server server({runfile("examples/echo_server"), "--host", "::1", "--port", "0"}, "::1");
  Output out = run_load(server.url(), {"--connections", "2", "--duration", "0.5", "--warmup", "0"});
  INFO(out.text());
  CHECK(out.status == 0);
  CHECK_THAT(out.text(), Catch::Contains("connections  2 opened of 2"));
}

TEST_CASE("wss://: --ca trusts the server's CA, without it the certificate is refused, --insecure skips the check") {
  const auto& certs = tls::testing::test_certificates();
  Server server({runfile("examples/echo_server"), "--port", "0", "--tls-cert",
                 certs.server.cert_file, "--tls-key", certs.server.key_file});
  const std::vector<std::string> short_run{"--connections", "2", "--duration", "0.5", "--warmup", "0"};
  std::vector<std::string> with_ca = short_run;
  with_ca.insert(with_ca.end(), {"--ca", certs.ca.cert_file});
  Output trusted = run_load(server.url("wss"), with_ca);
  INFO(trusted.text());
  CHECK(trusted.status == 0);
  CHECK_THAT(trusted.text(), Catch::Contains("errors       none"));
  Output refused = run_load(server.url("wss"), short_run);
  CHECK(refused.status == 3);
  CHECK_THAT(refused.text(), Catch::Contains("errors       handshake 2") &&
                                 Catch::Contains("TLS handshake with 127.0.0.1:"));
  std::vector<std::string> insecure = short_run;
  insecure.push_back("--insecure");
  Output unchecked = run_load(server.url("wss"), insecure);
  CHECK(unchecked.status == 0);
}

// --- reports ------------------------------------------------------------------------------

TEST_CASE("the JSON report holds every required field, and its figures agree") {
  Server server = echo_server();
  const std::string json = temp_path("echo.json");
  Output out = run_load(server.url(), {"--connections", "4", "--threads", "2", "--pipeline", "4", "--duration", "1",
                                       "--warmup", "0.2", "--size", "16-200", "--json", json});
  INFO(out.text());
  CHECK(out.status == 0);
  auto figures = json_figures(json);
  CHECK(figures["schema"] == "ok");
  CHECK(number(figures, "opened") == 4);
  CHECK(number(figures, "latency_count") > 0);
  CHECK(number(figures, "received") == number(figures, "sent"));
  CHECK(number(figures, "errors.mismatch") == 0);
  CHECK(number(figures, "exit_status") == 0);
}

// --- permessage-deflate --------------------------------------------------------------------

namespace {

// A wsp-load run with `deflate_args` against wsp's echo server started with `server_args`:
// its JSON figures, after checking that the run passed with every reply as sent.
std::map<std::string, std::string> deflate_run(std::vector<std::string> server_args,
                                               std::vector<std::string> deflate_args) {
  std::vector<std::string> argv{runfile("examples/echo_server"), "--port", "0"};
  argv.insert(argv.end(), server_args.begin(), server_args.end());
  Server server(argv);
  const std::string json = temp_path("deflate.json");
  std::vector<std::string> args{"--connections", "4", "--pipeline", "4", "--duration", "1",
                                "--warmup", "0.2", "--size", "1-2000", "--json", json};
  args.insert(args.end(), deflate_args.begin(), deflate_args.end());
  Output out = run_load(server.url(), args);
  INFO(out.text());
  CHECK(out.status == 0);
  auto figures = json_figures(json);
  CHECK(figures["schema"] == "ok");
  CHECK(number(figures, "errors.mismatch") == 0);
  CHECK(number(figures, "errors.protocol") == 0);
  CHECK(number(figures, "received") == number(figures, "sent"));
  return figures;
}

}  // namespace

TEST_CASE("--deflate shared against the echo server with --deflate shared: negotiated on every "
          "connection, messages compressed both ways, every echo as sent") {
  auto figures = deflate_run({"--deflate", "shared"}, {"--deflate", "shared", "--text"});
  CHECK(figures["deflate.offered"] == "shared");
  CHECK(number(figures, "deflate.negotiated_connections") == 4);
  CHECK(number(figures, "deflate.messages_compressed") > 0);
  CHECK(number(figures, "deflate.messages_inflated") > 0);
  // The random printable pattern shrinks (94 symbols of 256: Huffman coding saves about 1/5).
  CHECK(number(figures, "deflate.bytes_after_compression") <
        number(figures, "deflate.bytes_before_compression"));
  CHECK(number(figures, "deflate.bytes_after_inflation") >
        number(figures, "deflate.bytes_before_inflation"));
}

TEST_CASE("--deflate dedicated with a 10-bit window and level 1: context kept, every echo as sent") {
  auto figures = deflate_run({"--deflate", "dedicated"},
                             {"--deflate", "dedicated", "--deflate-window-bits", "10",
                              "--deflate-level", "1", "--deflate-min-size", "0", "--binary"});
  CHECK(figures["deflate.offered"] == "dedicated");
  CHECK(number(figures, "deflate.negotiated_connections") == 4);
  // --deflate-min-size 0: every message goes compressed (context takeover never declines).
  CHECK(number(figures, "deflate.messages_compressed") == number(figures, "sent"));
  CHECK(number(figures, "deflate.messages_inflated") > 0);
}

TEST_CASE("--payload chat as text through --deflate dedicated: every echo as sent, and it shrinks "
          "by more than the pattern's sixth") {
  auto figures = deflate_run({"--deflate", "dedicated"},
                             {"--deflate", "dedicated", "--deflate-min-size", "0", "--text",
                              "--payload", "chat"});
  CHECK(figures["payload"] == "chat");
  CHECK(number(figures, "deflate.negotiated_connections") == 4);
  CHECK(number(figures, "deflate.messages_compressed") == number(figures, "sent"));
  CHECK(number(figures, "deflate.bytes_after_compression") <
        0.7 * number(figures, "deflate.bytes_before_compression"));
}

TEST_CASE("--payload random through --deflate shared: every echo as sent, and none compressed "
          "(deflate would not shrink one, so both sides send them as they are)") {
  auto figures = deflate_run({"--deflate", "shared"},
                             {"--deflate", "shared", "--deflate-min-size", "0", "--binary",
                              "--payload", "random", "--payload-seed", "7"});
  CHECK(figures["payload"] == "random");
  CHECK(number(figures, "deflate.negotiated_connections") == 4);
  CHECK(number(figures, "deflate.messages_compressed") == 0);
  CHECK(number(figures, "deflate.messages_inflated") == 0);
}

TEST_CASE("--deflate against a server without permessage-deflate: nothing negotiated, the run passes") {
  auto figures = deflate_run({}, {"--deflate", "shared"});
  CHECK(number(figures, "deflate.negotiated_connections") == 0);
  CHECK(number(figures, "deflate.messages_compressed") == 0);
  CHECK(number(figures, "deflate.messages_inflated") == 0);
}

TEST_CASE("the --plot file is a PNG image of some size") {
  Server server = echo_server();
  const std::string png = temp_path("echo.png");
  Output out = run_load(server.url(), {"--connections", "2", "--duration", "1", "--warmup", "0",
                                       "--plot", png});
  INFO(out.text());
  CHECK(out.status == 0);
  std::ifstream file(png, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 8);
  CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(bytes.size() > 10'000);  // two charts with axes and labels
}

TEST_CASE("without a terminal the progress goes to stderr as one plain line a second") {
  Server server = echo_server();
  Output out = run({load(), server.url(), "--connections", "2", "--duration", "3", "--warmup", "0"});
  CHECK(out.status == 0);
  int progress = 0;
  for (const std::string& line : out.lines) {
    if (line.rfind("[", 0) != 0) continue;
    ++progress;
    CHECK_THAT(line, Catch::Contains("conns 2/2") && Catch::Contains("msgs/s") &&
                         Catch::Contains("p99") && Catch::Contains("errors none"));
    CHECK(line.find('\r') == std::string::npos);
  }
  CHECK(progress >= 2);
}

// --- checking the server ------------------------------------------------------------------

TEST_CASE("a corrupting server's replies are mismatches that fail the run") {
  Server server = faulty_server({"--corrupt-every", "10"});
  const std::string json = temp_path("corrupt.json");
  Output out = run_load(server.url(), {"--connections", "2", "--pipeline", "2", "--duration", "1",
                                       "--warmup", "0", "--json", json});
  INFO(out.text());
  CHECK(out.status == 1);
  CHECK_THAT(out.text(), Catch::Contains("errors       mismatch "));
  CHECK_THAT(out.text(), Catch::Contains("differing from byte"));
  auto figures = json_figures(json);
  CHECK(figures["schema"] == "ok");
  const double mismatches = number(figures, "errors.mismatch");
  const double received = number(figures, "received");
  CHECK(mismatches > 0);
  // One echo in ten is corrupted, counted over every reply of the run.
  CHECK(mismatches == Approx(received / 10).margin(2));
  CHECK(number(figures, "errors.lost") == 0);
}

TEST_CASE("--max-errors lets a run with that many errors pass") {
  Server server = faulty_server({"--corrupt-every", "10"});
  Output out = run_load(server.url(), {"--connections", "1", "--duration", "1", "--warmup", "0",
                                       "--max-errors", "100000000"});
  INFO(out.text());
  CHECK(out.status == 0);
  CHECK_THAT(out.text(), Catch::Contains("verdict      passed"));
}

TEST_CASE("--slo decides the exit status: a p99 nobody meets fails, a loose one passes") {
  Server server = echo_server();
  Output missed = run_load(server.url(), {"--connections", "1", "--duration", "0.5",
                                          "--warmup", "0", "--slo", "p99=1us"});
  CHECK(missed.status == 1);
  CHECK_THAT(missed.text(), Catch::Contains("verdict      failed") && Catch::Contains("p99 ") &&
                                Catch::Contains("> 1 us"));
  Output met = run_load(server.url(), {"--connections", "1", "--duration", "0.5", "--warmup", "0",
                                       "--slo", "p50=10s,max=60s"});
  CHECK(met.status == 0);
}

// --- coordinated omission -----------------------------------------------------------------

TEST_CASE("a server stalled for 1 s in a 5 s run: open loop p99 >= 500 ms, closed loop lower") {
  // The server stops for 1 s two seconds after its first message. Open loop keeps sending on
  // schedule, so the messages meant for that second wait up to 1 s: a tenth of the run has
  // 500 ms or more. Closed loop sends nothing while it waits: only the few messages in flight
  // see the stall, and p99 hides it (coordinated omission).
  const std::vector<std::string> stall{"--stall-after-ms", "2000", "--stall-ms", "1000"};
  const std::vector<std::string> common{"--connections", "4", "--duration", "5", "--warmup", "0"};
  double open_p99 = 0, closed_p99 = 0;
  {
    Server server = faulty_server(stall);
    const std::string json = temp_path("open.json");
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--rate", "400", "--json", json});
    Output out = run_load(server.url(), args);
    INFO(out.text());
    CHECK(out.status == 0);
    auto figures = json_figures(json);
    REQUIRE(figures["schema"] == "ok");
    open_p99 = number(figures, "p99_us");
  }
  {
    Server server = faulty_server(stall);
    const std::string json = temp_path("closed.json");
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--pipeline", "1", "--json", json});
    Output out = run_load(server.url(), args);
    INFO(out.text());
    CHECK(out.status == 0);
    auto figures = json_figures(json);
    REQUIRE(figures["schema"] == "ok");
    closed_p99 = number(figures, "p99_us");
  }
  CAPTURE(open_p99, closed_p99);
  CHECK(open_p99 >= 500'000);
  CHECK(closed_p99 < open_p99);
  CHECK(closed_p99 < 500'000);
}

// --- fanout -------------------------------------------------------------------------------

TEST_CASE("fanout against the chat server: every member gets every message, in order") {
  Server server({runfile("examples/chat_server"), "--port", "0"});
  const std::string json = temp_path("fanout.json");
  Output out = run_load(server.url(), {"--scenario", "fanout", "--connections", "5", "--rate", "200",
                                       "--duration", "1", "--warmup", "0.2", "--json", json});
  INFO(out.text());
  CHECK(out.status == 0);
  auto figures = json_figures(json);
  REQUIRE(figures["schema"] == "ok");
  CHECK(number(figures, "sent") > 100);
  CHECK(number(figures, "received") == 5 * number(figures, "sent"));
  CHECK(number(figures, "errors.lost") == 0);
  CHECK(number(figures, "errors.mismatch") == 0);
  CHECK_THAT(out.text(), Catch::Contains("messages from the server itself (ignored)"));
}

// --- the closed-loop fanout sender's pace ---------------------------------------------------

namespace {

Server lagging_room(int lag_ms) {
  return Server({runfile("tests/tools/lagging_room_server"), "--port", "0", "--lag-ms",
                 std::to_string(lag_ms)});
}

}  // namespace

TEST_CASE("--fanout-pace all against the chat server on 2 reactors: every publish reaches every "
          "subscriber, none sent on a timeout") {
  Server server({runfile("examples/chat_server"), "--port", "0", "--threads", "2", "--notices", "0"});
  const std::string json = temp_path("fanout_pace_all.json");
  Output out = run_load(server.url(), {"--scenario", "fanout", "--connections", "8", "--threads", "2",
                                       "--pipeline", "1", "--fanout-pace", "all", "--duration", "1",
                                       "--warmup", "0.2", "--json", json});
  INFO(out.text());
  CHECK(out.status == 0);
  CHECK_THAT(out.text(), Catch::Contains("closed loop, 1 in flight until every subscriber has it"));
  CHECK_THAT(out.text(), Catch::Contains("  pace         0 pace timeouts"));
  auto figures = json_figures(json);
  REQUIRE(figures["schema"] == "ok");
  CHECK(figures["fanout_pace"] == "all");
  CHECK(number(figures, "sent") > 0);
  CHECK(number(figures, "received") == 8 * number(figures, "sent"));
  CHECK(number(figures, "pace_timeouts") == 0);
  CHECK(number(figures, "errors.lost") == 0);
  CHECK(number(figures, "errors.mismatch") == 0);
}

TEST_CASE("--fanout-pace all: members served 50 ms late hold the sender to a publish per 50 ms") {
  // From the load's start to the window's end is 1.2 s: at most 1.2 s / 50 ms + 1 publishes.
  Server server = lagging_room(50);
  const std::string json = temp_path("fanout_pace_lagging.json");
  Output out = run_load(server.url(), {"--scenario", "fanout", "--connections", "4", "--threads", "2",
                                       "--pipeline", "1", "--duration", "1", "--warmup", "0.2",
                                       "--json", json});
  INFO(out.text());
  CHECK(out.status == 0);
  auto figures = json_figures(json);
  REQUIRE(figures["schema"] == "ok");
  CHECK(number(figures, "sent") >= 1);
  CHECK(number(figures, "sent") <= 25);
  CHECK(number(figures, "received") == 4 * number(figures, "sent"));
  CHECK(number(figures, "pace_timeouts") == 0);
  CHECK(number(figures, "errors.lost") == 0);
}

TEST_CASE("--fanout-pace sender: the sender outruns members served 50 ms late") {
  Server server = lagging_room(50);
  const std::string json = temp_path("fanout_pace_sender.json");
  Output out = run_load(server.url(), {"--scenario", "fanout", "--connections", "4", "--threads", "2",
                                       "--pipeline", "1", "--fanout-pace", "sender", "--duration", "1",
                                       "--warmup", "0.2", "--json", json});
  INFO(out.text());
  CHECK(out.status == 0);
  CHECK_THAT(out.text(), Catch::Contains("closed loop, 1 in flight from the sender"));
  auto figures = json_figures(json);
  REQUIRE(figures["schema"] == "ok");
  CHECK(figures["fanout_pace"] == "sender");
  CHECK(number(figures, "sent") > 100);  // each publish as soon as its own copy is back
  CHECK(number(figures, "received") == 4 * number(figures, "sent"));
  CHECK(number(figures, "errors.lost") == 0);
}

TEST_CASE("--fanout-pace all: members that never get a message cost a pace timeout a second, and "
          "the run goes on") {
  // The load starts, 1 publish goes out; at 1 s and 2 s the sender sends anyway; the window ends
  // at 2.7 s. The two starved members lose all 3.
  Server server = lagging_room(1'000'000);
  const std::string json = temp_path("fanout_pace_timeouts.json");
  Output out = run_load(server.url(), {"--scenario", "fanout", "--connections", "3", "--threads", "2",
                                       "--pipeline", "1", "--duration", "2.5", "--warmup", "0.2",
                                       "--drain-timeout", "0.2", "--max-errors", "100", "--json", json});
  INFO(out.text());
  CHECK(out.status == 0);
  CHECK_THAT(out.text(), Catch::Contains("  pace         2 pace timeouts"));
  auto figures = json_figures(json);
  REQUIRE(figures["schema"] == "ok");
  CHECK(number(figures, "pace_timeouts") == 2);
  CHECK(number(figures, "sent") == 3);
  CHECK(number(figures, "errors.lost") == 2 * 3);
}
