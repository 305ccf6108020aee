// wsp-cat: a WebSocket client (and, with -l, a server) for the shell, like websocat or wscat.
// Each line of stdin goes out as a text message (with --binary each chunk read as a binary
// message); each message received is written to stdout (text with a newline, binary as is).
//
//   echo hi | wsp-cat ws://127.0.0.1:9001/          prints the echo, then exits 0
//   wsp-cat -l 9002 --once                          serves one client, exits by its close code
//
// stdin and stdout go through the reactor (io_uring reads and writes on fd 0 and 1), so a
// terminal or a slow pipe never holds up the connection. After stdin's end the client waits
// until it has received as many messages as it sent (at most --wait seconds), then closes with
// 1000 and exits with a status that says how the connection ended (tools/cat/exit_status.h).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/signals.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tls/tls_options.h"
#include "tls/x509_certificate.h"
#include "tools/cat/exit_status.h"
#include "tools/cat/fd_io.h"
#include "tools/cat/line_splitter.h"
#include "tools/flags/flags.h"
#include "wsp/protocol/url.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using namespace wsp_cat;

namespace {

struct CatOptions {
  std::string url;
  bool binary = false;
  std::vector<std::string> headers;
  std::vector<std::string> protocols;
  std::string ca_file;
  bool insecure = false;
  double ping_interval_s = 0;
  int listen_port = -1;  // -l: server mode
  std::string host = "127.0.0.1";
  bool once = false;
  double wait_s = 2;      // after stdin's end, for replies
  bool keep_open = false; // after stdin's end, until the peer closes
  std::size_t max_message = 64 << 20;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "wsp-cat: %s (see --help)\n", message.c_str());
  std::exit(kUsage);
}

CatOptions parse(int argc, char** argv) {
  CatOptions o;
  flags::Flags f("wsp-cat",
                 "Send stdin to a WebSocket and print what comes back: each line a text message "
                 "(--binary: each chunk read a binary message). -l PORT listens instead.");
  f.positional("URL", &o.url, "ws:// or wss:// URL to connect to (not with -l)", false);
  auto seconds = [](double* out, double max) {
    return [out, max](std::string_view v) { return flags::parse_number(v, 0, max, *out); };
  };
  f.add("--binary", &o.binary, "stdin chunks as binary messages instead of lines as text");
  f.add("--header", &o.headers, "extra request header line 'Name: value' (repeatable)");
  f.add("--protocol", &o.protocols, "subprotocol to offer, or with -l to accept (repeatable)");
  f.add("--ca", &o.ca_file, "PEM file of the certificates to trust for wss://");
  f.add("--insecure", &o.insecure, "wss:// without verifying the server's certificate");
  f.add("--ping-interval", "SECONDS", seconds(&o.ping_interval_s, 86400),
        "send a ping this often; a ping unanswered by the next one drops the connection (0: none)");
  f.add("-l", &o.listen_port, 0, 65535, "listen on this port instead of connecting (0: any)");
  f.add("--host", &o.host, "with -l: the address to listen on (127.0.0.1)");
  f.add("--once", &o.once, "with -l: serve one client, then exit by its close code");
  f.add("--wait", "SECONDS", seconds(&o.wait_s, 86400),
        "after stdin's end, wait at most this long for as many replies as messages sent (2)");
  f.add("--keep-open", &o.keep_open, "after stdin's end, keep printing until the peer closes");
  f.add("--max-message", &o.max_message, 1, std::size_t{1} << 32, "largest message received (64 MiB)");
  f.parse(argc, argv);
  if (o.listen_port >= 0 && !o.url.empty()) usage_error("give a URL or -l PORT, not both");
  if (o.listen_port < 0 && o.url.empty()) usage_error("missing URL (or -l PORT to listen)");
  if (o.once && o.listen_port < 0) usage_error("--once goes with -l");
  if (!o.url.empty()) {
    wsp::WebSocketUrl parsed;
    if ((o.url.rfind("ws://", 0) != 0 && o.url.rfind("wss://", 0) != 0) ||
        !wsp::parse_websocket_url(o.url, parsed))
      usage_error("'" + o.url + "' is not a ws:// or wss:// URL");
  }
  if (!o.ca_file.empty() && o.insecure) usage_error("--ca and --insecure exclude each other");
  return o;
}

wsp::ConnectionLimits limits_for(const CatOptions& o) {
  wsp::ConnectionLimits limits;
  limits.inbound_buffer_size = o.max_message;
  limits.outbound_buffer_size = 0;  // stdin's pace is the only limit
  limits.heartbeat_interval = o.ping_interval_s;
  return limits;
}

// Everything the client or server shares.
struct Session {
  io::Reactor& reactor;
  const CatOptions& options;
  FdWriter out;
  std::vector<wsp::WebSocket*> peers;  // open connections (server: all clients)
  io::Event peer_joined;
  std::uint64_t sent = 0, received = 0;
  bool stdin_ended = false;
  int close_code = -1;

  Session(io::Reactor& r, const CatOptions& o) : reactor(r), options(o), out(r, STDOUT_FILENO), peer_joined(r) {}
};

// Prints every message of `ws` until it ends; returns its close code.
io::Task<int> print_messages(Session& s, wsp::WebSocket& ws) {
  for (;;) {
    wsp::Received r = co_await ws.receive();
    if (r.closed) co_return r.close_code;
    ++s.received;
    s.out.write(r.data);
    if (r.text) s.out.write("\n");
    ws.recycle(std::move(r.data));
    // A stdout slower than the peer: stop taking messages (TCP back-pressure) until it drains.
    if (s.out.buffered() > (8 << 20)) co_await s.out.flushed();
    if (s.out.failed()) co_return -2;
  }
}

// Reads stdin to its end and sends it: lines as text, or chunks as binary.
io::Task<void> pump_stdin(Session& s) {
  LineSplitter lines;
  std::string line;
  std::uint64_t line_number = 0;
  for (;;) {
    auto chunk = co_await read_chunk(s.reactor, STDIN_FILENO, 64 * 1024);
    const bool at_end = !chunk || chunk->empty();
    if (!chunk) std::fprintf(stderr, "wsp-cat: reading stdin: %s\n", chunk.error().message().c_str());
    // The server has nobody to send to yet: wait for the first client.
    while (s.options.listen_port >= 0 && s.peers.empty()) {
      s.peer_joined.reset();
      co_await s.peer_joined.wait();
    }
    // Every open peer gets each message (the server sends to all its clients). The sends are
    // awaited here, not in a task per message: they complete at once while there is room.
    if (s.options.binary) {
      if (!at_end) {
        std::vector<wsp::WebSocket*> peers = s.peers;
        for (wsp::WebSocket* ws : peers)
          if (co_await ws->send(std::string_view(*chunk), false)) ++s.sent;
      }
    } else {
      if (!at_end) lines.feed(*chunk);
      while (lines.next(line, at_end)) {
        ++line_number;
        if (!wsp::is_valid_utf8(line)) {
          std::fprintf(stderr, "wsp-cat: line %llu is not UTF-8 and was not sent (use --binary)\n",
                       static_cast<unsigned long long>(line_number));
          continue;
        }
        std::vector<wsp::WebSocket*> peers = s.peers;
        for (wsp::WebSocket* ws : peers)
          if (co_await ws->send(std::string_view(line), true)) ++s.sent;
      }
    }
    if (at_end) break;
  }
  s.stdin_ended = true;
}

// --- client -------------------------------------------------------------------------------

io::Task<int> run_client(Session& s) {
  const CatOptions& o = s.options;
  wsp::ConnectOptions connect_options;
  connect_options.protocols = o.protocols;
  connect_options.extra_headers = o.headers;
  connect_options.limits = limits_for(o);
  std::string reason;
  connect_options.failure_reason = &reason;
  if (o.insecure) {
    connect_options.tls_options = tls::TLSOptions::client_unsafe();
  } else if (!o.ca_file.empty()) {
    std::string error;
    auto ca = tls::X509Certificate::load(o.ca_file, &error);
    if (!ca) {
      std::fprintf(stderr, "wsp-cat: --ca: cannot load %s: %s\n", o.ca_file.c_str(), error.c_str());
      co_return kUsage;
    }
    connect_options.tls_options = tls::TLSOptions::client(ca);
  }
  auto ws = co_await wsp::connect(s.reactor, o.url, std::move(connect_options));
  if (!ws) {
    std::fprintf(stderr, "wsp-cat: cannot connect to %s: %s\n", o.url.c_str(),
                 reason.empty() ? ws.error().message().c_str() : reason.c_str());
    co_return kCannotConnect;
  }
  wsp::WebSocket& socket = **ws;
  s.peers.push_back(&socket);

  // stdin, then the bounded wait for replies, then our close.
  auto sender = [](Session& s, wsp::WebSocket& socket) -> io::Task<void> {
    co_await pump_stdin(s);
    if (s.options.keep_open) co_return;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration<double>(s.options.wait_s);
    while (s.received < s.sent && socket.is_open() && std::chrono::steady_clock::now() < deadline)
      co_await io::sleep_for(s.reactor, 5ms);
    if (socket.is_open()) co_await socket.close(1000);
  };
  const io::Reactor::TaskId sending = s.reactor.spawn(sender(s, socket));
  const int code = co_await print_messages(s, socket);
  s.reactor.cancel(sending);  // the peer closed first: stop reading stdin
  s.peers.clear();
  co_await s.out.flushed();
  if (code == -2) co_return 0;  // stdout went away (`| head`): not the connection's fault
  co_return exit_status_for_close(code);
}

// --- server (-l) --------------------------------------------------------------------------

io::Task<void> serve_client(Session& s, io::TcpStream tcp, int* close_code, bool* done) {
  wsp::AcceptOptions accept_options;
  accept_options.supported_protocols = s.options.protocols;
  accept_options.limits = limits_for(s.options);
  std::string reason;
  accept_options.failure_reason = &reason;
  auto ws = co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), accept_options);
  if (!ws) {
    std::fprintf(stderr, "wsp-cat: a client's handshake failed: %s\n", reason.c_str());
    if (done) *done = true;
    co_return;
  }
  s.peers.push_back(ws->get());
  s.peer_joined.set();
  const int code = co_await print_messages(s, **ws);
  std::erase(s.peers, ws->get());
  if (close_code) *close_code = code;
  if (done) *done = true;
}

io::Task<int> run_server(Session& s) {
  auto listener = io::TcpListener::bind(s.reactor, s.options.host,
                                        static_cast<std::uint16_t>(s.options.listen_port));
  if (!listener) {
    std::fprintf(stderr, "wsp-cat: cannot listen on %s:%d: %s\n", s.options.host.c_str(),
                 s.options.listen_port, listener.error().message().c_str());
    co_return kCannotConnect;
  }
  std::fprintf(stderr, "wsp-cat: listening on %s:%d\n", s.options.host.c_str(), listener->local_port());
  const io::Reactor::TaskId reading = s.reactor.spawn(pump_stdin(s));
  int status = 0;
  if (s.options.once) {
    auto tcp = co_await listener->accept();
    listener->close();
    if (!tcp) co_return kCannotConnect;
    int code = -1;
    bool done = false;
    s.reactor.spawn(serve_client(s, std::move(*tcp), &code, &done));
    while (!done) co_await io::sleep_for(s.reactor, 5ms);
    status = code == -2 ? 0 : exit_status_for_close(code);
  } else {
    // Until SIGINT or SIGTERM (run_server is raced against the signal in main).
    for (;;) {
      auto tcp = co_await listener->accept();
      if (!tcp) break;
      s.reactor.spawn(serve_client(s, std::move(*tcp), nullptr, nullptr));
    }
  }
  s.reactor.cancel(reading);
  co_await s.out.flushed();
  co_return status;
}

}  // namespace

int main(int argc, char** argv) {
  const CatOptions options = parse(argc, argv);
  io::Reactor reactor;
  Session session(reactor, options);
  int status = 0;
  bool finished = false;
  auto body = [&]() -> io::Task<void> {
    // Not `co_await (c ? a() : b())`: gcc 12 destroys that temporary task twice.
    if (options.listen_port >= 0) status = co_await run_server(session);
    else status = co_await run_client(session);
    finished = true;
    reactor.stop();
  };
  // SIGINT/SIGTERM: close every connection (1000), flush stdout; the client then exits by the
  // close code as usual, the server with 0.
  auto on_signal = [&]() -> io::Task<void> {
    io::Result<int> signal = co_await io::wait_for_termination_signal(reactor);
    if (!signal) co_return;  // no signalfd: the default actions stay
    std::vector<wsp::WebSocket*> peers = session.peers;
    for (wsp::WebSocket* ws : peers) ws->connection().close(1000, "");
    for (int i = 0; i < 200 && !session.peers.empty(); ++i) co_await io::sleep_for(reactor, 10ms);
    if (!finished) {
      co_await session.out.flushed();
      status = options.listen_port >= 0 ? 0 : 130;
      reactor.stop();
    }
  };
  reactor.spawn(on_signal());
  reactor.spawn(body());
  reactor.run();
  return status;
}
