// The chat server and the echo server on two reactor threads (--threads 2), as subprocesses,
// driven by wsp's own coroutine clients: rooms by URL path, every member of a room gets every
// message of the room once (the sender too) and nothing from other rooms; SIGTERM with open
// connections closes each with 1001 and the server exits 0.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <map>
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
  Server server({interop::runfile("wsp/examples/chat_server"), "--port", "0", "--threads", "2"});
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

TEST_CASE("the echo server on two threads echoes on each, prints a reactor line per thread and ends with 1001") {
  Server server({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", interop::runfile("wsp/examples/echo_server"),
                 "--port", "0", "--threads", "2", "--print-stats", "1"});
  io::Reactor reactor;
  constexpr int kClients = 16;
  std::vector<std::string> echoed(kClients);
  std::vector<int> codes(kClients, 0);
  auto client = [&](int i) -> io::Task<void> {
    auto ws = co_await wsp::connect(reactor, server.url("/"));
    if (!ws) co_return;
    io::Result<void> sent = co_await (*ws)->send_text("hello " + std::to_string(i));
    if (!sent) co_return;
    echoed[i] = (co_await (*ws)->receive()).data;
    wsp::Received last = co_await (*ws)->receive();
    codes[i] = last.closed ? last.close_code : -2;
  };
  for (int i = 0; i < kClients; ++i) reactor.spawn(client(i));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  auto all_echoed = [&] {
    for (const std::string& e : echoed)
      if (e.empty()) return false;
    return true;
  };
  while (!all_echoed() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  server.process.signal(SIGTERM);
  while (reactor.has_work() && std::chrono::steady_clock::now() < deadline) reactor.run_once(10ms);
  CHECK(server.process.wait(10s) == std::optional<int>(0));
  for (int i = 0; i < kClients; ++i) {
    CHECK(echoed[i] == "hello " + std::to_string(i));
    CHECK(codes[i] == 1001);
  }
  int reactor_lines = 0;
  for (const std::string& line : server.process.read_all(5s)) reactor_lines += line.rfind("reactor: ", 0) == 0;
  CHECK(reactor_lines == 2);
}
