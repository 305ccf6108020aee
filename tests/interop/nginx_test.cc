// nginx (Debian's nginx-light) as a reverse proxy in front of wsp's example echo server
// (//examples:echo_server), forwarding the Upgrade and Connection headers, with python-websockets
// 10.4 (ws_client.py, /usr/bin/python3) and wsp's two clients talking through it. Each test
// writes an nginx.conf into a fresh temporary directory (pid file, error log and temp paths
// there too), starts `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'` on a free 127.0.0.1 port
// as a child process, and kills it on every path.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "tests/interop/child_process.h"
#include "tests/interop/drive.h"
#include "tests/interop/real_peers.h"
#include "tests/ports.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

using namespace std::chrono_literals;
using interop::await;
using interop::ChildProcess;
using Lines = std::vector<std::string>;

namespace {

bool accepts_connections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// nginx proxying 127.0.0.1:port to the echo server at 127.0.0.1:upstream.
struct Nginx {
  std::string dir;
  int port = 0;
  std::unique_ptr<ChildProcess> process;

  explicit Nginx(int upstream) {
    std::string nginx = interop::find_program({"/usr/sbin/nginx", "/usr/bin/nginx"});
    INFO("nginx is missing: run tools/setup.sh");
    REQUIRE(!nginx.empty());
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/nginx.XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    port = testing_support::port_for_a_child();
    std::ofstream(dir + "/nginx.conf") << R"(worker_processes 1;
master_process off;
pid )" << dir << R"(/nginx.pid;
error_log )" << dir << R"(/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path )" << dir << R"(/body;
  proxy_temp_path )" << dir << R"(/proxy;
  fastcgi_temp_path )" << dir << R"(/fastcgi;
  uwsgi_temp_path )" << dir << R"(/uwsgi;
  scgi_temp_path )" << dir << R"(/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:)" << port << R"(;
    location / {
      proxy_pass http://127.0.0.1:)" << upstream << R"(;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 60s;
      proxy_buffering off;
    }
  }
}
)";
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{nginx, "-p", dir + "/", "-e", dir + "/error.log", "-c", dir + "/nginx.conf",
                                 "-g", "daemon off;"},
        ChildProcess::Options{.merge_stderr = true, .process_group = true});
    bool ready = interop::poll_until([] {}, [&] { return accepts_connections(port); }, 10s);
    INFO("nginx error log:\n" << read_file(dir + "/error.log"));
    REQUIRE(ready);
  }
  ~Nginx() {
    process.reset();  // killed (the whole group) before its directory goes
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }
};

struct Proxied {
  interop::EchoServerProcess echo{"echo_server"};
  Nginx nginx{echo.port};
};

Lines run_python(const std::string& url, const std::vector<std::string>& scenario) {
  std::vector<std::string> argv{interop::kPython, interop::runfile("wsp/tests/interop/ws_client.py"), url};
  argv.insert(argv.end(), scenario.begin(), scenario.end());
  ChildProcess client(argv);
  Lines lines = client.read_all(60s);
  auto status = client.wait(10s);
  if (status != 0) lines.push_back("exit status " + (status ? std::to_string(*status) : "(running)"));
  return lines;
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

io::Task<io::Result<void>> send_one(wsp::WebSocket& ws, std::string data, bool text) {
  co_return co_await ws.send(data, text);
}
io::Task<wsp::Received> receive_one(wsp::WebSocket& ws) { co_return co_await ws.receive(); }

}  // namespace

TEST_CASE("python-websockets through nginx: text and binary are echoed with their types") {
  Proxied p;
  CHECK(run_python(p.nginx.url(), {"text"}) == Lines{"text héllo wörld"});
  CHECK(run_python(p.nginx.url(), {"binary"}) == Lines{"binary True"});
}

TEST_CASE("python-websockets through nginx: 1 MiB messages and 256 fragments are echoed intact") {
  Proxied p;
  Lines big = run_python(p.nginx.url(), {"big"});
  REQUIRE(big.size() == 4);
  CHECK(big[0].rfind("sent text 1048576 ", 0) == 0);
  CHECK(big[1] == "echo" + big[0].substr(4));
  CHECK(big[2].rfind("sent binary 1048576 ", 0) == 0);
  CHECK(big[3] == "echo" + big[2].substr(4));
  Lines fragments = run_python(p.nginx.url(), {"fragments", "256", "4096", "binary"});
  REQUIRE(fragments.size() == 2);
  CHECK(fragments[0].rfind("sent binary 1048576 ", 0) == 0);
  CHECK(fragments[1] == "echo" + fragments[0].substr(4));
}

TEST_CASE("python-websockets through nginx: closing with 4000 \"bye\" gets 4000 back") {
  Proxied p;
  CHECK(run_python(p.nginx.url(), {"close", "4000", "bye"}) == Lines{"closed 4000 "});
}

TEST_CASE("python-websockets through nginx: the echo server's SIGTERM arrives as 1001 \"server shutting down\"") {
  Proxied p;
  std::vector<std::string> argv{interop::kPython, interop::runfile("wsp/tests/interop/ws_client.py"),
                                p.nginx.url(), "wait-close"};
  ChildProcess client(argv);
  CHECK(client.read_line(15s) == std::optional<std::string>("open ready"));
  p.echo.process.signal(SIGTERM);
  CHECK(client.read_line(15s) == std::optional<std::string>("closed 1001 server shutting down"));
  CHECK(client.wait(10s) == std::optional<int>(0));
}

TEST_CASE("coroutine client through nginx: text, binary and 1 MiB are echoed, then close 4000 completes") {
  Proxied p;
  io::Reactor reactor;
  wsp::ConnectOptions options;
  options.limits.inbound_buffer_size = 4 << 20;
  options.limits.outbound_buffer_size = 4 << 20;
  auto connected = await(reactor, wsp::connect(reactor, p.nginx.url(), std::move(options)));
  REQUIRE(connected);
  std::unique_ptr<wsp::WebSocket> ws = std::move(*connected);
  struct Abort {
    wsp::WebSocket& ws;
    ~Abort() { ws.abort(); }
  } abort_on_exit{*ws};
  for (auto [data, text] : {std::pair{std::string("héllo wörld"), true}, std::pair{pattern(256), false},
                            std::pair{pattern(1 << 20), false}}) {
    REQUIRE(await(reactor, send_one(*ws, data, text)));
    wsp::Received r = await(reactor, receive_one(*ws));
    CHECK_FALSE(r.closed);
    CHECK(r.text == text);
    CHECK(r.data == data);
  }
  await(reactor, ws->close(4000, "bye"));
  CHECK_FALSE(ws->is_open());
  CHECK(ws->close_code() == 4000);
}

TEST_CASE("WebSocketPeer through nginx: text and 1 MiB binary are echoed, and SIGTERM of the server arrives as 1001") {
  Proxied p;
  io::Reactor reactor;
  wsp::WebSocketPeer peer(reactor);
  peer.set_inbound_buffer_size(4 << 20);
  peer.set_outbound_buffer_size(4 << 20);
  REQUIRE(peer.connect_to_url(p.nginx.url()) == wsp::OK);
  auto poll_until = [&](const std::function<bool()>& done) {
    return interop::poll_until([&] { peer.poll(); }, done, 15s);
  };
  REQUIRE(poll_until([&] { return peer.get_ready_state() != wsp::WebSocketPeer::STATE_CONNECTING; }));
  REQUIRE(peer.get_ready_state() == wsp::WebSocketPeer::STATE_OPEN);
  REQUIRE(peer.send_text("héllo wörld") == wsp::OK);
  REQUIRE(poll_until([&] { return peer.get_available_packet_count() > 0; }));
  auto packet = peer.get_packet();
  CHECK(std::string(packet.begin(), packet.end()) == "héllo wörld");
  CHECK(peer.was_string_packet());
  std::string blob = pattern(1 << 20);
  REQUIRE(peer.put_packet(std::vector<std::uint8_t>(blob.begin(), blob.end())) == wsp::OK);
  REQUIRE(poll_until([&] { return peer.get_available_packet_count() > 0; }));
  packet = peer.get_packet();
  CHECK(std::string(packet.begin(), packet.end()) == blob);
  CHECK_FALSE(peer.was_string_packet());
  p.echo.process.signal(SIGTERM);
  REQUIRE(poll_until([&] { return peer.get_ready_state() == wsp::WebSocketPeer::STATE_CLOSED; }));
  CHECK(peer.get_close_code() == 1001);
  CHECK(peer.get_close_reason() == "server shutting down");
}
