// Node's `ws` client (npm, pinned in tests/interop/package.json) against wsp's two example echo
// servers, each over ws:// and wss:// (the test CA from tests/tls/test_certs.h, handed to Node
// as `ca`): //examples:echo_server (coroutine face) and //examples:echo_server_poll (WebSocketPeer
// face), run as child processes on 127.0.0.1 and killed on every path.
#include <catch2/catch.hpp>

#include <signal.h>

#include <string>
#include <vector>

#include "tests/interop/child_process.h"
#include "tests/interop/real_peers.h"
#include "tests/tls/test_certs.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using Lines = std::vector<std::string>;

namespace {

struct Setup {
  const char* server;  // the example target
  bool tls;
};

std::string describe(const Setup& s) { return std::string(s.server) + (s.tls ? " over wss://" : " over ws://"); }

struct Peers {
  interop::EchoServerProcess server;
  std::string url;
  std::string ca;

  explicit Peers(const Setup& s)
      : server(s.server, s.tls ? tls::testing::test_certificates().server.cert_file : "",
               s.tls ? tls::testing::test_certificates().server.key_file : ""),
        url(std::string(s.tls ? "wss" : "ws") + "://localhost:" + std::to_string(server.port) + "/"),
        ca(s.tls ? tls::testing::test_certificates().ca.cert_file : "") {}

  ChildProcess start_client(const std::vector<std::string>& scenario) {
    std::vector<std::string> argv{interop::node_program(), interop::node_script("ws_node_client.js"), url};
    argv.insert(argv.end(), scenario.begin(), scenario.end());
    if (!ca.empty()) argv.insert(argv.end(), {"--ca", ca});
    return ChildProcess(argv);
  }
  // Runs the client to its end and returns its lines (plus its exit status when not 0).
  Lines run_client(const std::vector<std::string>& scenario) {
    ChildProcess client = start_client(scenario);
    Lines lines = client.read_all(90s);
    auto status = client.wait(10s);
    if (status != 0) lines.push_back("exit status " + (status ? std::to_string(*status) : "(running)"));
    return lines;
  }
};

// The sent/echo pairs of a run: every "echo X" equals its "sent X".
void check_echoes(const Lines& lines, const Lines& sent_prefixes) {
  REQUIRE(lines.size() == 2 * sent_prefixes.size());
  for (std::size_t i = 0; i < sent_prefixes.size(); ++i) {
    CHECK(lines[2 * i].rfind("sent " + sent_prefixes[i], 0) == 0);
    CHECK(lines[2 * i + 1] == "echo" + lines[2 * i].substr(4));
  }
}

Setup every_setup() {
  return GENERATE(Setup{"echo_server", false}, Setup{"echo_server", true}, Setup{"echo_server_poll", false},
                  Setup{"echo_server_poll", true});
}

}  // namespace

TEST_CASE("text from a Node ws client is echoed as text by both wsp servers, ws and wss") {
  Setup s = every_setup();
  INFO(describe(s));
  Peers peers(s);
  check_echoes(peers.run_client({"text"}), {"text 13 "});
}

TEST_CASE("binary from a Node ws client is echoed as binary by both wsp servers, ws and wss") {
  Setup s = every_setup();
  INFO(describe(s));
  Peers peers(s);
  check_echoes(peers.run_client({"binary"}), {"binary 256 "});
}

TEST_CASE("16 MiB text and binary messages from a Node ws client are echoed intact") {
  Setup s = every_setup();
  INFO(describe(s));
  Peers peers(s);
  check_echoes(peers.run_client({"big"}), {"text 16777216 ", "binary 16777216 "});
}

TEST_CASE("a message a Node ws client sends as 128 fragments is echoed whole with its type") {
  Setup s = every_setup();
  INFO(describe(s));
  Peers peers(s);
  check_echoes(peers.run_client({"fragments", "128", "8192", "binary"}), {"binary 1048576 "});
  check_echoes(peers.run_client({"fragments", "128", "8192", "text"}), {"text 1048576 "});
}

TEST_CASE("a Node ws client closing with 4000 \"bye\" gets 4000 back from both wsp servers") {
  Setup s = every_setup();
  INFO(describe(s));
  Peers peers(s);
  // The servers echo the code without the reason (RFC 6455 §5.5.1 allows either).
  CHECK(peers.run_client({"close", "4000", "bye"}) == Lines{"closed 4000 "});
}

TEST_CASE("a wsp server stopped with SIGTERM closes a Node ws client with 1001 \"server shutting down\"") {
  Setup s = every_setup();
  INFO(describe(s));
  Peers peers(s);
  ChildProcess client = peers.start_client({"wait-close"});
  REQUIRE(client.read_line(15s) == std::optional<std::string>("open"));
  peers.server.process.signal(SIGTERM);
  CHECK(client.read_line(15s) == std::optional<std::string>("closed 1001 server shutting down"));
  CHECK(client.wait(10s) == std::optional<int>(0));
  CHECK(peers.server.process.wait(10s) == std::optional<int>(0));
}
