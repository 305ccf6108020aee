// Every example is built and run here as a subprocess, driven by a real peer nobody here wrote:
// python-websockets 10.4 clients (tests/interop/ws_client.py, Debian's /usr/bin/python3).
// Servers get --port 0 and announce their real port; every process is killed on every path.
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/interop/child_process.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using Lines = std::vector<std::string>;

namespace {

std::string example(const std::string& name) { return interop::runfile("wsp/examples/" + name); }

// An example server started with `--port 0`; `port` is the one it announced.
struct ExampleServer {
  ChildProcess process;
  int port = 0;
  std::string announcement;

  explicit ExampleServer(const std::string& name, std::vector<std::string> options = {})
      : ExampleServer(command(name, std::move(options))) {}
  // Any command line that starts a server which announces its port first.
  explicit ExampleServer(std::vector<std::string> argv) : process(std::move(argv)) {
    announcement = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(announcement.rfind(prefix, 0) == 0);
    port = std::stoi(announcement.substr(prefix.size()));
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }

  static std::vector<std::string> command(const std::string& name, std::vector<std::string> options) {
    std::vector<std::string> argv{example(name), "--port", "0"};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }
};

ChildProcess python_client(const ExampleServer& server, std::vector<std::string> scenario) {
  std::vector<std::string> argv{interop::kPython,
                                interop::runfile("wsp/tests/interop/ws_client.py"), server.url()};
  argv.insert(argv.end(), scenario.begin(), scenario.end());
  return ChildProcess(argv);
}

// The lines a python-websockets scenario prints, plus "exit status N" when it fails.
Lines run_python(const ExampleServer& server, std::vector<std::string> scenario) {
  ChildProcess client = python_client(server, std::move(scenario));
  Lines lines = client.read_all(60s);
  auto status = client.wait(10s);
  if (status != 0) lines.push_back("exit status " + (status ? std::to_string(*status) : "(running)"));
  return lines;
}

const char* const kEchoServers[] = {"echo_server", "echo_server_poll"};

}  // namespace

TEST_CASE("the echo servers announce the port the OS gave them") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    ExampleServer server(name);
    CHECK(server.port > 0);
    CHECK(server.announcement == "listening on 127.0.0.1:" + std::to_string(server.port));
  }
}

TEST_CASE("the echo servers echo python-websockets text as text and binary as binary") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    ExampleServer server(name);
    CHECK(run_python(server, {"text"}) == Lines{"text héllo wörld"});
    CHECK(run_python(server, {"binary"}) == Lines{"binary True"});
  }
}

TEST_CASE("the echo servers echo a 16 MiB message made of 4096 fragments intact") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    ExampleServer server(name);
    Lines lines = run_python(server, {"fragments", "4096", "4096", "binary"});
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("sent binary 16777216 ", 0) == 0);
    CHECK(lines[1] == "echo" + lines[0].substr(4));
  }
}

TEST_CASE("the echo servers serve 200 python-websockets connections at once") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    ExampleServer server(name);
    CHECK(run_python(server, {"many", "200"}) == Lines{"echoed 200 of 200"});
  }
}

TEST_CASE("the echo servers take the receive ring's geometry and refuse a bad one") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    {
      // Two 4 KiB buffers for a 16 MiB message: the ring runs dry over and over.
      ExampleServer server(name, {"--receive-buffers", "2", "--receive-buffer-size", "4096"});
      Lines lines = run_python(server, {"fragments", "4096", "4096", "binary"});
      REQUIRE(lines.size() == 2);
      CHECK(lines[1] == "echo" + lines[0].substr(4));
    }
    {
      ExampleServer server(name, {"--incremental-receive-buffers", "0"});
      CHECK(run_python(server, {"text"}) == Lines{"text héllo wörld"});
    }
    ChildProcess refused(ExampleServer::command(name, {"--receive-buffers", "3"}));
    CHECK(refused.wait(10s) == std::optional<int>(2));
  }
}

TEST_CASE("on SIGTERM the echo servers close connections with 1001 and exit 0") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    ExampleServer server(name);
    ChildProcess client = python_client(server, {"wait-close"});
    CHECK(client.read_line(15s) == std::optional<std::string>("open ready"));
    server.process.signal(SIGTERM);
    CHECK(client.read_all(15s) == Lines{"closed 1001 server shutting down"});
    CHECK(client.wait(10s) == std::optional<int>(0));
    CHECK(server.process.wait(10s) == std::optional<int>(0));
  }
}

TEST_CASE("with --print-stats 1 the echo servers report the reactor's counters at exit") {
  for (const char* name : kEchoServers) {
    CAPTURE(name);
    // The counters go to stderr; a shell joins it to the stdout the test reads.
    ExampleServer server(std::vector<std::string>{
        "/bin/sh", "-c", "exec \"$0\" --port 0 --print-stats 1 2>&1", example(name)});
    CHECK(run_python(server, {"text"}) == Lines{"text héllo wörld"});
    server.process.signal(SIGTERM);
    Lines report = server.process.read_all(15s);
    CHECK(server.process.wait(10s) == std::optional<int>(0));
    REQUIRE(report.size() == 1);
    unsigned long long turns = 0, enters = 0, sqes = 0, cqes = 0, shortages = 99;
    double per_enter = 0;
    CHECK(std::sscanf(report[0].c_str(),
                      "reactor: %llu turns, %llu io_uring_enter, %llu SQEs, %llu CQEs (%lf per "
                      "enter), %llu receive buffer shortages",
                      &turns, &enters, &sqes, &cqes, &per_enter, &shortages) == 6);
    // At least: accept, handshake read and write, a message in and out, the close.
    CHECK(turns > 0);
    CHECK(enters > 0);
    CHECK(sqes >= 4);
    CHECK(cqes >= 4);
    CHECK(shortages == 0);
  }
}

TEST_CASE("the client example prints the echoed packet and a clean close") {
  ExampleServer server("echo_server");
  ChildProcess client({example("client"), server.url(), "hello"});
  CHECK(client.read_all(40s) ==
        Lines{"Packet: hello", "WebSocket closed with code: 1000, reason . Clean: true"});
  CHECK(client.wait(10s) == std::optional<int>(0));
}

TEST_CASE("the chat server sends a message from one python-websockets client to both") {
  ExampleServer server("chat_server");
  CHECK(run_python(server, {"chat"}) == Lines{
                                           "first: * someone joined (1 here)",
                                           "second: * someone joined (2 here)",
                                           "first: * someone joined (2 here)",
                                           "first: hello from first",
                                           "second: hello from first",
                                           "first: * someone left (1 here)",
                                       });
  server.process.signal(SIGTERM);
  CHECK(server.process.wait(10s) == std::optional<int>(0));
}

namespace {

// A port that was free a moment ago (demo.sh takes its port from WSP_DEMO_PORT).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("the demo runs the echo server and the demo client and exits 0") {
  setenv("WSP_DEMO_PORT", std::to_string(free_port()).c_str(), 1);
  ChildProcess demo({example("demo")});
  Lines lines = demo.read_all(60s);
  CAPTURE(lines);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.front().rfind("echo server: listening on 127.0.0.1:", 0) == 0);
  CHECK(lines.back() == "echo server: stopped cleanly");
  CHECK(demo.wait(10s) == std::optional<int>(0));
}
