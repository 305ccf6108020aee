// The chat server and the echo server on two reactor threads (--threads 2, each --accept mode),
// as subprocesses, driven by wsp's own coroutine clients: rooms by URL path, every member of a
// room gets every message of the room once (the sender too) and nothing from other rooms;
// SIGTERM with open connections closes each with 1001 and the server exits 0; one acceptor
// gives each thread half the connections.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/operation.h"
#include "io/task.h"
#include "tests/interop/child_process.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using interop::ChildProcess;

namespace {

struct Server {
  ChildProcess process;
  int port = 0;
  explicit Server(std::vector<std::string> argv) : process(std::move(argv)) {
    const std::string line = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(line.rfind(prefix, 0) == 0);
    port = std::stoi(line.substr(prefix.size()));
  }
  std::string url(const std::string& path) const { return "ws://127.0.0.1:" + std::to_string(port) + path; }
};

constexpr int kPerRoom = 8;

struct Member {
  std::string room;
  int id = 0;
  std::vector<std::string> heard;  // chat lines, notices left out
  int close_code = 0;
  std::string failure;
};

io::Task<void> chat_member(io::Reactor& reactor, const Server& server, Member& m, int& in_room_ready,
                           int& total_ready) {
  auto ws = co_await wsp::connect(reactor, server.url("/rooms/" + m.room));
  if (!ws) {
    m.failure = "connect failed";
    co_return;
  }
  // The notice naming the full room comes after every member subscribed.
  const std::string full = "* someone joined (" + std::to_string(kPerRoom) + " here)";
  for (;;) {
    wsp::Received r = co_await (*ws)->receive();
    if (r.closed) {
      m.failure = "closed before the room was full";
      co_return;
    }
    if (r.data == full) break;
  }
  ++in_room_ready;
  ++total_ready;
  while (total_ready < 2 * kPerRoom) co_await io::sleep_for(reactor, 5ms);
  io::Result<void> sent = co_await (*ws)->send_text(m.room + " from " + std::to_string(m.id));
  if (!sent) {
    m.failure = "send failed";
    co_return;
  }
  while (m.heard.size() < kPerRoom) {
    wsp::Received r = co_await (*ws)->receive();
    if (r.closed) {
      m.failure = "closed early";
      co_return;
    }
    if (r.data.rfind("* ", 0) != 0) m.heard.push_back(r.data);
  }
  wsp::Received last = co_await (*ws)->receive();  // the server's 1001 at SIGTERM
  while (!last.closed) {
    if (last.data.rfind("* ", 0) != 0) m.heard.push_back(last.data);
    last = co_await (*ws)->receive();
  }
  m.close_code = last.close_code;
}

}  // namespace

TEST_CASE("the chat server on two threads keeps rooms apart and gives every member each message of its room once") {
  const std::string accept = GENERATE("reuseport", "one-acceptor");
  CAPTURE(accept);
  Server server({interop::runfile("wsp/examples/chat_server"), "--port", "0", "--threads", "2", "--accept", accept});
  io::Reactor reactor;
  std::vector<Member> members;
  for (const char* room : {"a", "b"}) {
    for (int i = 0; i < kPerRoom; ++i) members.push_back({room, i, {}, 0, {}});
  }
  int ready_a = 0, ready_b = 0, total = 0;
  for (Member& m : members) reactor.spawn(chat_member(reactor, server, m, m.room == "a" ? ready_a : ready_b, total));
  // Until every member heard its room; then SIGTERM while all are connected.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  auto all_heard = [&] {
    for (const Member& m : members)
      if (m.failure.empty() && m.heard.size() < kPerRoom) return false;
    return true;
  };
  while (!all_heard() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  server.process.signal(SIGTERM);
  while (reactor.has_work() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  CHECK(server.process.wait(10s) == std::optional<int>(0));
  for (const Member& m : members) {
    CAPTURE(m.room, m.id);
    CHECK(m.failure.empty());
    std::map<std::string, int> count;
    for (const std::string& line : m.heard) ++count[line];
    std::map<std::string, int> expected;
    for (int i = 0; i < kPerRoom; ++i) expected[m.room + " from " + std::to_string(i)] = 1;
    CHECK(count == expected);
    CHECK(m.close_code == 1001);
  }
}

namespace {

// The echo server with `flags` (and --print-stats 1): 16 clients each send one message, then
// SIGTERM while all are connected.
struct EchoRun {
  static constexpr int kClients = 16;
  std::vector<std::string> echoed = std::vector<std::string>(kClients);
  std::vector<int> codes = std::vector<int>(kClients, 0);
  std::optional<int> exit_status;
  std::vector<std::string> output;  // stdout and stderr
};

EchoRun run_echo_server(std::vector<std::string> flags) {
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
                                interop::runfile("wsp/examples/echo_server"), "--port", "0", "--print-stats", "1"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  Server server(argv);
  io::Reactor reactor;
  EchoRun run;
  auto client = [&](int i) -> io::Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url("/"));
    if (!ws) co_return;
    io::Result<void> sent = co_await (*ws)->send_text("hello " + std::to_string(i));
    if (!sent) co_return;
    run.echoed[i] = (co_await (*ws)->receive()).data;
    wsp::Received last = co_await (*ws)->receive();
    run.codes[i] = last.closed ? last.close_code : -2;
  };
  for (int i = 0; i < EchoRun::kClients; ++i) reactor.spawn(client(i));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  auto all_echoed = [&] {
    for (const std::string& e : run.echoed)
      if (e.empty()) return false;
    return true;
  };
  while (!all_echoed() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  server.process.signal(SIGTERM);
  while (reactor.has_work() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  run.exit_status = server.process.wait(10s);
  run.output = server.process.read_all(5s);
  return run;
}

// The server exited 0 after echoing each client's message and closing it with 1001.
void check_every_client_echoed_then_1001(const EchoRun& run) {
  CHECK(run.exit_status == std::optional<int>(0));
  for (int i = 0; i < EchoRun::kClients; ++i) {
    CHECK(run.echoed[i] == "hello " + std::to_string(i));
    CHECK(run.codes[i] == 1001);
  }
}

}  // namespace

TEST_CASE("the echo server on two threads echoes on each, prints a reactor line per thread and ends with 1001") {
  const EchoRun run = run_echo_server({"--threads", "2"});
  check_every_client_echoed_then_1001(run);
  int reactor_lines = 0;
  for (const std::string& line : run.output) reactor_lines += line.rfind("reactor: ", 0) == 0;
  CHECK(reactor_lines == 2);
}

TEST_CASE("the echo server with --accept one-acceptor on two threads gives each thread 8 of 16 connections and ends with 1001") {
  const EchoRun run = run_echo_server({"--threads", "2", "--accept", "one-acceptor"});
  check_every_client_echoed_then_1001(run);
  int split_lines = 0;
  for (const std::string& line : run.output) split_lines += line == "connections per reactor: 8 8";
  CHECK(split_lines == 1);
}

TEST_CASE("the echo server with batched wake-ups (--batch, --batch-wait) echoes every client and ends with 1001") {
  const EchoRun run = run_echo_server({"--batch", "16", "--batch-wait", "200000"});
  check_every_client_echoed_then_1001(run);
}

TEST_CASE("the echo server with --style coroutine (a task per connection) echoes every client and ends with 1001") {
  const EchoRun run = run_echo_server({"--style", "coroutine"});
  check_every_client_echoed_then_1001(run);
}

TEST_CASE("the echo server refuses an --accept it does not know, naming the flag") {
  ChildProcess server({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", interop::runfile("wsp/examples/echo_server"),
                       "--accept", "both"});
  CHECK(server.wait(10s) == std::optional<int>(2));
  bool named = false;
  for (const std::string& line : server.read_all(5s)) named |= line.find("--accept") != std::string::npos;
  CHECK(named);
}
