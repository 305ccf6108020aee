// Every example is built and run here as a subprocess, driven by a real peer nobody here wrote:
// python-websockets 10.4 clients (tests/interop/ws_client.py, Debian's /usr/bin/python3).
// Servers get --port 0 and announce their real port; every process is killed on every path.
#include <signal.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/interop/child_process.h"
#include "tests/ports.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using Lines = std::vector<std::string>;

namespace {

std::string example(const std::string& name) { return interop::runfile("wsp/examples/" + name); }

// A command whose stderr joins the stdout the test reads.
std::vector<std::string> with_stderr(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1"});
  return argv;
}

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

namespace {

// A blocking TCP connection to 127.0.0.1:`port` whose reads give up after 10 s.
struct RawClient {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  explicit RawClient(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawClient() { close(fd); }
  void send_all(const std::string& bytes) { REQUIRE(write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size())); }
  // Everything until the server closes (or 10 s without a byte).
  std::string read_to_end() {
    std::string in;
    char chunk[4096];
    for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) in.append(chunk, static_cast<std::size_t>(n));
    return in;
  }
};

}  // namespace

TEST_CASE("a handshake under way at SIGTERM still opens, then gets the 1001 close before the server exits") {
  for (const char* name : {"echo_server", "echo_server_poll", "chat_server"}) {
    CAPTURE(name);
    ExampleServer server(name);
    RawClient client(server.port);
    client.send_all("GET /rooms/a HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    std::this_thread::sleep_for(100ms);  // the server has read the first half
    server.process.signal(SIGTERM);
    std::this_thread::sleep_for(100ms);  // ... and is shutting down
    client.send_all(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n");
    const std::string in = client.read_to_end();
    const std::string response_end = "\r\n\r\n";
    REQUIRE(in.rfind("HTTP/1.1 101 ", 0) == 0);
    const std::size_t frame = in.find(response_end) + response_end.size();
    // An unmasked close frame: code 1001, reason "server shutting down".
    const std::string reason = "server shutting down";
    CHECK(in.substr(frame) == std::string("\x88") + char(2 + reason.size()) + "\x03\xe9" + reason);
    CHECK(server.process.wait(10s) == std::optional<int>(0));
  }
}

TEST_CASE("a handshake still under way when the shutdown's wait ends is dropped: the stream closes and the server exits 0") {
  // echo_server and chat_server hold such a handshake in their wsp::Acceptor, which ends it as
  // the server stops (under ASan a leaked handshake would fail the exit status).
  for (const char* name : {"echo_server", "chat_server"}) {
    CAPTURE(name);
    ExampleServer server(name);
    RawClient client(server.port);
    client.send_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // and nothing more
    std::this_thread::sleep_for(100ms);
    const auto signalled = std::chrono::steady_clock::now();
    server.process.signal(SIGTERM);
    CHECK(client.read_to_end().empty());  // closed with no answer
    // The shutdown waits 5 s for handshakes under way (the handshake's deadline is 10 s).
    CHECK(std::chrono::steady_clock::now() - signalled < 9s);
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

TEST_CASE("the demo runs the echo server and the demo client and exits 0") {
  setenv("WSP_DEMO_PORT", std::to_string(testing_support::port_for_a_child()).c_str(), 1);
  ChildProcess demo({example("demo")});
  Lines lines = demo.read_all(60s);
  CAPTURE(lines);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.front().rfind("echo server: listening on 127.0.0.1:", 0) == 0);
  CHECK(lines.back() == "echo server: stopped cleanly");
  CHECK(demo.wait(10s) == std::optional<int>(0));
}

// --- command lines -----------------------------------------------------------------------

TEST_CASE("every program refuses a bad value with exit status 2 and a line naming the flag") {
  struct Case {
    std::string program;  // runfiles path under wsp/
    std::vector<std::string> args;
    std::string line;
  };
  const Case cases[] = {
      {"examples/echo_server", {"--port", "abc"},
       "echo_server: --port: 'abc' is not a whole number from 0 to 65535"},
      {"examples/echo_server", {"--port", "65536"},
       "echo_server: --port: '65536' is not a whole number from 0 to 65535"},
      {"examples/echo_server", {"--inbound-buffer-size", "64M"},
       "echo_server: --inbound-buffer-size: '64M' is not a whole number from 0 to 2147483647"},
      {"examples/echo_server", {"--max-queued-packets", "0"},
       "echo_server: --max-queued-packets: '0' is not a whole number from 1 to 2147483647"},
      {"examples/echo_server", {"--receive-buffers", "3"},
       "echo_server: --receive-buffers: '3' is not a power of two from 1 to 32768"},
      {"examples/echo_server", {"--print-stats", "maybe"},
       "echo_server: --print-stats: 'maybe' is not 1, 0, true, false, yes or no"},
      {"examples/echo_server", {"--host", "example.com"},
       "echo_server: --host: 'example.com' is not an IP address, localhost or *"},
      {"examples/echo_server", {"--tls-cert", "/tmp/cert.pem"},
       "echo_server: --tls-cert and --tls-key go together"},
      {"examples/echo_server", {"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"},
       "echo_server: --tls-cert: cannot open /nonexistent/cert.pem: No such file or directory"},
      {"examples/echo_server", {"--prot", "9001"}, "echo_server: unknown option --prot"},
      {"examples/echo_server_poll", {"--port", "abc"},
       "echo_server_poll: --port: 'abc' is not a whole number from 0 to 65535"},
      {"examples/echo_server_poll", {"--incremental-receive-buffers", "2"},
       "echo_server_poll: --incremental-receive-buffers: '2' is not 1, 0, true, false, yes or no"},
      {"examples/chat_server", {"--port", "-1"},
       "chat_server: --port: '-1' is not a whole number from 0 to 65535"},
      {"examples/chat_server", {"--redis", "6379"},
       "chat_server: --redis: '6379' is not HOST:PORT, e.g. 127.0.0.1:6379"},
      {"examples/chat_server", {"--redis", "127.0.0.1:0"},
       "chat_server: --redis: '127.0.0.1:0' is not HOST:PORT, e.g. 127.0.0.1:6379"},
      {"examples/client", {"ws://127.0.0.1:1/", "hello", "extra"},
       "client: unexpected argument 'extra'"},
      {"examples/demo_client", {"--url", "ws://127.0.0.1:1/"}, "demo_client: unknown option --url"},
      {"tools/idle_connections", {"--pid", "12ab"},
       "idle_connections: --pid: '12ab' is not a whole number from 1 to 4194304"},
      {"tools/idle_connections", {"--pid", "1", "--url", "http://127.0.0.1/"},
       "idle_connections: --url: 'http://127.0.0.1/' is not a ws:// or wss:// URL"},
      {"tools/idle_connections", {"--connections", "100"},
       "idle_connections: --pid: missing (the server's process id)"},
      {"tools/idle_connections", {"--pid", "1", "--deflate", "always"},
       "idle_connections: --deflate: 'always' is not off, shared or dedicated"},
      {"tools/idle_connections", {"--pid", "1", "--deflate-window-bits", "16"},
       "idle_connections: --deflate-window-bits: '16' is not a whole number from 8 to 15"},
      {"bench/epoll_echo", {"--port", "x"},
       "epoll_echo: --port: 'x' is not a whole number from 0 to 65535"},
      {"bench/tcp_echo_bench", {"--seconds", "1s"},
       "tcp_echo_bench: --seconds: '1s' is not a number from 0.1 to 3600"},
      {"bench/tcp_echo_bench", {"--connections", "2.5"},
       "tcp_echo_bench: --connections: '2.5' is not a whole number from 1 to 10000"},
      {"bench/tls_bench", {"two"}, "tls_bench: SECONDS: 'two' is not a number from 0 to 3600"},
      {"bench/rss_peak", {"--pid", "x"},
       "rss_peak: --pid: 'x' is not a whole number from 1 to 4194304"},
      {"bench/rss_peak", {"--interval-us", "50"},
       "rss_peak: --interval-us: '50' is not a whole number from 100 to 1000000"},
      {"bench/rss_peak", {}, "rss_peak: --pid is required"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv{interop::runfile("wsp/" + c.program)};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CAPTURE(argv);
    ChildProcess program(with_stderr(argv));
    CHECK(program.read_line(15s) == std::optional<std::string>(c.line));
    CHECK(program.wait(15s) == std::optional<int>(2));
  }
}

TEST_CASE("bench/rss_peak reports the peak of a process that grew by 32 MiB and shrank, and ends with it") {
  // Writes 32 MiB (resident), frees it (unmapped: RSS falls), lingers, exits.
  ChildProcess grower({"/usr/bin/python3", "-c",
                       "import time\nb = b'x' * (32 << 20)\ntime.sleep(0.3)\ndel b\n"
                       "time.sleep(0.5)\nprint('done', flush=True)"});
  ChildProcess sampler({interop::runfile("wsp/bench/rss_peak"), "--pid",
                        std::to_string(grower.pid())});
  const std::optional<std::string> line = sampler.read_line(15s);
  REQUIRE(line);
  CHECK(sampler.wait(5s) == std::optional<int>(0));
  long peak_kb = 0, samples = 0;
  REQUIRE(std::sscanf(line->c_str(), "peak_kb=%ld samples=%ld", &peak_kb, &samples) == 2);
  CHECK(peak_kb >= 32 * 1024);
  CHECK(peak_kb < 128 * 1024);
  CHECK(samples >= 100);  // 0.8 s at most one sample a millisecond, and more than 0.1 s of them
  CHECK(grower.read_line(5s) == std::optional<std::string>("done"));
}

TEST_CASE("--help prints the usage with every flag and exits 0") {
  ChildProcess help({example("echo_server"), "--help"});
  Lines lines = help.read_all(15s);
  CHECK(help.wait(10s) == std::optional<int>(0));
  REQUIRE_FALSE(lines.empty());
  CHECK(lines[0] == "usage: echo_server [options]");
  for (const char* flag : {"--host", "--port", "--inbound-buffer-size", "--outbound-buffer-size",
                           "--max-queued-packets", "--tls-cert", "--tls-key", "--receive-buffers",
                           "--receive-buffers-at-start", "--receive-buffer-size",
                           "--incremental-receive-buffers", "--print-stats", "--threads", "--accept"}) {
    CAPTURE(flag);
    CHECK(std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
            return line.rfind(std::string("  ") + flag + " ", 0) == 0;
          }) == 1);
  }
}

TEST_CASE("the client example names an unsupported scheme and exits 2") {
  ChildProcess client(with_stderr({example("client"), "http://127.0.0.1:9001/", "hello"}));
  CHECK(client.read_all(15s) ==
        Lines{"client: invalid URL http://127.0.0.1:9001/: unsupported scheme \"http\" (use ws:// "
              "or wss://)"});
  CHECK(client.wait(10s) == std::optional<int>(2));
}

// --- refused handshakes --------------------------------------------------------------------

namespace {

// An example server whose stderr (the refusal log) joins its stdout, after the announcement.
ExampleServer logging_server(const std::string& name, std::vector<std::string> options = {}) {
  return ExampleServer(with_stderr(ExampleServer::command(name, std::move(options))));
}

// "127.0.0.1:PORT: " + reason, the port being the client's.
std::string refusal_pattern(const std::string& reason) {
  return "127\\.0\\.0\\.1:[0-9]+: " + std::regex_replace(reason, std::regex(R"([.*+?()\[\]{}|^$\\])"), R"(\$&)");
}

}  // namespace

TEST_CASE("a refused handshake gets a text/plain reason, and the server logs it") {
  struct Case {
    const char* server;
    std::vector<std::string> scenario;
    Lines answer;
    std::string log;
  };
  const Case cases[] = {
      {"echo_server_poll", {"refusal", "chat", "13"},
       {"HTTP/1.1 400 Bad Request", "Content-Type: text/plain; charset=utf-8",
        "no common subprotocol: offered chat, supported none"},
       "handshake refused with 400 Bad Request: no common subprotocol: offered chat, supported none"},
      {"echo_server", {"refusal", "-", "8"},
       {"HTTP/1.1 426 Upgrade Required", "Content-Type: text/plain; charset=utf-8",
        "unsupported Sec-WebSocket-Version: offered 8, supported 13"},
       "handshake refused with 426 Upgrade Required: unsupported Sec-WebSocket-Version: offered 8, "
       "supported 13"},
      {"echo_server_poll", {"refusal", "-", "8"},
       {"HTTP/1.1 426 Upgrade Required", "Content-Type: text/plain; charset=utf-8",
        "unsupported Sec-WebSocket-Version: offered 8, supported 13"},
       "handshake refused with 426 Upgrade Required: unsupported Sec-WebSocket-Version: offered 8, "
       "supported 13"},
      {"chat_server", {"refusal", "-", "8"},
       {"HTTP/1.1 426 Upgrade Required", "Content-Type: text/plain; charset=utf-8",
        "unsupported Sec-WebSocket-Version: offered 8, supported 13"},
       "handshake refused with 426 Upgrade Required: unsupported Sec-WebSocket-Version: offered 8, "
       "supported 13"},
      {"echo_server", {"not-websocket"}, {"HTTP/1.1 400 Bad Request"},
       "handshake refused with 400 Bad Request: missing \"Upgrade: websocket\""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.server, c.scenario);
    ExampleServer server = logging_server(c.server);
    CHECK(run_python(server, c.scenario) == c.answer);
    std::string line = server.process.read_line(15s).value_or("(none)");
    CAPTURE(line);
    CHECK(std::regex_match(line, std::regex(refusal_pattern(c.log))));
  }
}

TEST_CASE("the coroutine echo server answers python-websockets' subprotocol without one") {
  // RFC 6455 §4.2.2: wsp::accept opens; WebSocketPeer (echo_server_poll) refuses, as above.
  ExampleServer server("echo_server");
  CHECK(run_python(server, {"rejected-subprotocol", "chat"}) == Lines{"accepted None"});
}

TEST_CASE("a flood of refused handshakes is logged at most 10 lines a second, the rest counted") {
  constexpr int kFlood = 60;
  ExampleServer server = logging_server("echo_server");
  const auto start = std::chrono::steady_clock::now();
  CHECK(run_python(server, {"flood", std::to_string(kFlood)}) ==
        Lines{"refused " + std::to_string(kFlood) + " of " + std::to_string(kFlood)});
  // Every refusal is either a line of its own or counted in a "... and K more refused" line,
  // told once its second is over.
  int single = 0, counted = 0;
  const std::regex single_line(refusal_pattern(
      "handshake refused with 426 Upgrade Required: unsupported Sec-WebSocket-Version: offered 8, "
      "supported 13"));
  const std::regex count_line(R"(\.\.\. and ([0-9]+) more refused)");
  while (single + counted < kFlood) {
    auto line = server.process.read_line(15s);
    REQUIRE(line);
    std::smatch m;
    if (std::regex_match(*line, m, count_line)) counted += std::stoi(m[1]);
    else if (std::regex_match(*line, single_line)) ++single;
    else FAIL("unexpected line: " << *line);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(single + counted == kFlood);
  CHECK(single <= 10 * (static_cast<int>(seconds) + 1));
  CHECK(counted > 0);
}

TEST_CASE("the client example pointed at a plain server with wss:// says the server did not answer in TLS") {
  ExampleServer server = logging_server("echo_server");
  ChildProcess client(
      with_stderr({example("client"), "wss://127.0.0.1:" + std::to_string(server.port) + "/"}));
  CHECK(client.read_all(40s) ==
        Lines{"WebSocket closed with code: -1, reason . Clean: false",
              "(TLS handshake failed: the server answered in plain HTTP, not TLS; perhaps it "
              "serves plain ws://, not wss://)"});
  CHECK(client.wait(10s) == std::optional<int>(1));
  std::string line = server.process.read_line(15s).value_or("(none)");
  CAPTURE(line);
  CHECK(std::regex_match(
      line, std::regex(refusal_pattern("handshake refused with 400 Bad Request: TLS handshake on a "
                                       "plain ws:// port: the client wants wss://"))));
}
