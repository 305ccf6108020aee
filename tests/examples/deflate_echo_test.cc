// Autobahn's permessage-deflate cases against //examples:echo_server and echo_server_poll
// started with --deflate: the parameter sets of cases 13.1-13.7 (the client's offers, in
// Autobahn's words requestNoContextTakeover / requestMaxWindowBits) and the message sizes of
// 12.x/13.x (16 bytes to 128 KiB, text and binary), sent by our own coroutine client. The
// auto-fragmented variants (Autobahn's AUTOFRAGSIZE) are left to the interop tests: our client
// sends one frame per message.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "tests/interop/child_process.h"
#include "tests/ports.h"
#include "tests/interop/drive.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using wsp::DeflateParameters;

namespace {

std::string example(const std::string& name) { return interop::runfile("wsp/examples/" + name); }

struct ExampleServer {
  ChildProcess process;
  int port = 0;
  explicit ExampleServer(std::vector<std::string> argv) : process(std::move(argv)) {
    const std::string line = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(line.rfind(prefix, 0) == 0);
    port = std::stoi(line.substr(prefix.size()));
  }
};

// Autobahn's PerMessageDeflateOffer(requestNoContextTakeover, requestMaxWindowBits): it always
// adds client_no_context_takeover and client_max_window_bits (acceptNoContextTakeover,
// acceptMaxWindowBits default to true).
DeflateParameters autobahn_offer(bool request_no_context_takeover, int request_max_window_bits) {
  DeflateParameters p;
  p.client_no_context_takeover = true;
  p.client_max_window_bits = DeflateParameters::kNoValue;
  p.server_no_context_takeover = request_no_context_takeover;
  p.server_max_window_bits = request_max_window_bits;
  return p;
}

struct OfferSet {
  const char* name;
  std::vector<DeflateParameters> offers;
  bool accepted;  // by our server (zlib cannot compress within a 256-byte window: 8 is declined)
};

const std::vector<OfferSet>& offer_sets() {
  static const std::vector<OfferSet> sets = {
      {"13.1", {autobahn_offer(false, 0)}, true},
      {"13.2", {autobahn_offer(true, 0)}, true},
      {"13.3", {autobahn_offer(false, 8)}, false},
      {"13.4", {autobahn_offer(false, 15)}, true},
      {"13.5", {autobahn_offer(true, 8)}, false},
      {"13.6", {autobahn_offer(true, 15)}, true},
      {"13.7", {autobahn_offer(true, 8), autobahn_offer(true, 0), autobahn_offer(false, 0)}, true},
  };
  return sets;
}

// Autobahn's MSG_SIZES without auto-fragmentation.
constexpr std::size_t kSizes[] = {16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072};
constexpr int kMessagesPerSize = 4;

// Like Autobahn's json_data1 and its binary test files: text that compresses, bytes that hardly do.
std::string test_data(bool binary, std::size_t size, int seed) {
  std::string s;
  if (binary) {
    std::uint32_t x = 2463534242u + seed;
    s.resize(size);
    for (std::size_t i = 0; i < size; ++i) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      s[i] = static_cast<char>(i % 3 == 0 ? x : i);  // partly random
    }
    return s;
  }
  for (int i = seed; s.size() < size; ++i)
    s += "{\"id\":" + std::to_string(i) + ",\"title\":\"Entry " + std::to_string(i % 23) +
         "\",\"tags\":[\"x\",\"y\"],\"score\":" + std::to_string(i * 7919 % 1000) + "},";
  s.resize(size);
  return s;
}


// One connection offering `set`, echoing every size; returns "" or what went wrong.
std::string run_case(int port, const OfferSet& set, bool binary) {
  io::Reactor reactor;
  wsp::ConnectOptions options;
  options.limits.inbound_buffer_size = 1 << 20;
  options.limits.outbound_buffer_size = 1 << 20;
  options.deflate.mode = wsp::DeflateOptions::Mode::dedicated;
  options.deflate.offers = set.offers;
  std::string reason;
  options.failure_reason = &reason;
  auto ws = interop::await(reactor, wsp::connect(reactor, "ws://127.0.0.1:" + std::to_string(port) + "/",
                                                 std::move(options)));
  if (!ws) return "connect failed: " + reason;
  std::optional<wsp::DeflateView> deflate = (*ws)->connection().deflate();
  if (deflate.has_value() != set.accepted) return deflate ? "unexpectedly negotiated" : "not negotiated";
  auto exchange = [&](std::string data) -> io::Task<std::string> {
    if (!co_await (*ws)->send(data, !binary)) co_return "send failed";
    wsp::Received r = co_await (*ws)->receive();
    if (r.closed) co_return "closed " + std::to_string(r.close_code);
    if (r.text == binary) co_return "type changed";
    co_return r.data == data ? "" : "echo differs at " + std::to_string(data.size()) + " bytes";
  };
  for (std::size_t size : kSizes) {
    for (int i = 0; i < kMessagesPerSize; ++i) {
      const std::string error = interop::await(reactor, exchange(test_data(binary, size, i)));
      if (!error.empty()) return error;
    }
  }
  // Binary data that does not shrink may go uncompressed without context takeover (RFC 7692
  // §6 lets a sender choose per message); the text always compresses.
  deflate = (*ws)->connection().deflate();  // its state was made since
  if (deflate && !binary &&
      (deflate->stats().messages_compressed == 0 || deflate->stats().messages_inflated == 0))
    return "nothing went compressed";
  interop::await(reactor, (*ws)->close(1000, ""));
  return (*ws)->close_code() == 1000 ? "" : "close code " + std::to_string((*ws)->close_code());
}

}  // namespace

TEST_CASE("Autobahn 12.x/13.x parameter sets and sizes round-trip through the echo servers with --deflate") {
  const std::vector<std::vector<std::string>> servers = {
      {example("echo_server"), "--port", "0", "--deflate", "shared"},
      {example("echo_server"), "--port", "0", "--deflate", "dedicated"},
      {example("echo_server"), "--port", "0", "--deflate", "dedicated", "--deflate-window-bits", "9",
       "--deflate-mem-level", "1", "--deflate-min-size", "0"},
      {example("echo_server_poll"), "--port", "0", "--deflate", "shared"},
  };
  for (const auto& argv : servers) {
    CAPTURE(argv);
    ExampleServer server(argv);
    for (const OfferSet& set : offer_sets()) {
      for (bool binary : {false, true}) {
        CAPTURE(set.name, binary);
        CHECK(run_case(server.port, set, binary) == "");
      }
    }
  }
}

TEST_CASE("the chat server with --deflate shared negotiates with python-websockets and still broadcasts") {
  ExampleServer server({example("chat_server"), "--port", "0", "--deflate", "shared"});
  ChildProcess client({interop::kPython, interop::runfile("wsp/tests/interop/ws_client.py"),
                       "ws://127.0.0.1:" + std::to_string(server.port) + "/", "chat"});
  CHECK(client.read_all(60s) == std::vector<std::string>{
                                    "first: * someone joined (1 here)",
                                    "second: * someone joined (2 here)",
                                    "first: * someone joined (2 here)",
                                    "first: hello from first",
                                    "second: hello from first",
                                    "first: * someone left (1 here)",
                                });
  CHECK(client.wait(10s) == std::optional<int>(0));
  server.process.signal(SIGTERM);
  CHECK(server.process.wait(10s) == std::optional<int>(0));
}

TEST_CASE("the demo with --deflate shared prints the compression ratio it saw and exits 0") {
  setenv("WSP_DEMO_PORT", std::to_string(testing_support::port_for_a_child()).c_str(), 1);
  ChildProcess demo({example("demo"), "--deflate", "shared"});
  const std::vector<std::string> lines = demo.read_all(60s);
  CAPTURE(lines);
  bool ratio = false;
  for (const std::string& line : lines)
    ratio |= line.rfind("permessage-deflate (shared): sent 1 messages compressed, 1048576 -> ", 0) == 0;
  CHECK(ratio);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back() == "echo server: stopped cleanly");
  CHECK(demo.wait(10s) == std::optional<int>(0));
}
