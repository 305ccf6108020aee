// Command-line options shared by the two echo servers. A new option is a field of EchoOptions
// and one line in add_echo_flags(); parse_echo_options() checks what one value cannot show.
#pragma once

#include <climits>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_server_pool.h"
#include "tls/crypto_key.h"
#include "tls/tls_options.h"
#include "tls/x509_certificate.h"
#include "tools/flags/deflate_flags.h"
#include "tools/flags/flags.h"
#include "wsp/protocol/deflate_negotiation.h"

struct EchoOptions {
  std::string host = "127.0.0.1";
  int port = 9001;
  // Large enough to echo 16 MiB messages made of thousands of fragments. At most INT_MAX:
  // the poll server hands them to WebSocketPeer, whose properties are ints.
  long inbound_buffer_size = 64L << 20;
  long outbound_buffer_size = 64L << 20;
  long max_queued_packets = 4096;
  long handshake_timeout_ms = 10000;  // a peer silent mid-handshake is dropped after this
  long heartbeat_interval_ms = 0;     // 0 = no automatic pings
  std::string tls_cert, tls_key;
  std::shared_ptr<tls::TLSOptions> tls;  // set when serving wss://
  io::Reactor::Options reactor;          // the receive ring's geometry, for tuning
  bool print_stats = false;              // the reactor's counters on stderr at exit
  unsigned threads = 1;                  // reactor threads; 0: one per CPU
  io::TcpServerPool::Accept accept = io::TcpServerPool::Accept::reuseport;
  wsp::DeflateOptions deflate;           // permessage-deflate (off unless --deflate)
  bool callback_style = true;            // echo_server --style: a MessageHandler, or a task
};

inline void add_echo_flags(flags::Flags& f, EchoOptions& o) {
  f.add("--host", "ADDRESS",
        [&o](std::string_view v) {
          // What the listeners take: a numeric address, localhost, or * for every interface.
          if (v != "*" && v != "localhost" && !io::SocketAddress::parse(v, 0))
            return std::string("an IP address, localhost or *");
          o.host = v;
          return std::string();
        },
        "address to listen on (default 127.0.0.1)");
  f.add("--port", &o.port, 0, 65535, "port to listen on, 0 for any free one (default 9001)");
  f.add("--inbound-buffer-size", &o.inbound_buffer_size, 0L, long{INT_MAX},
        "largest message received, in bytes; 0: no limit (default 67108864)");
  f.add("--outbound-buffer-size", &o.outbound_buffer_size, 0L, long{INT_MAX},
        "bytes queued for sending per connection; 0: no limit (default 67108864)");
  f.add("--max-queued-packets", &o.max_queued_packets, 1L, long{INT_MAX},
        "messages queued per connection and direction (default 4096)");
  f.add("--handshake-timeout-ms", &o.handshake_timeout_ms, 0L, long{INT_MAX},
        "drop a client that has not finished its handshake by then; 0: never (default 10000)");
  f.add("--heartbeat-interval-ms", &o.heartbeat_interval_ms, 0L, long{INT_MAX},
        "ping each client this often, drop it when a pong is missing; 0: none (default 0)");
  f.add("--tls-cert", &o.tls_cert, "PEM certificate: serve wss:// (with --tls-key)");
  f.add("--tls-key", &o.tls_key, "PEM private key of --tls-cert");
  f.add("--receive-buffers", "N",
        [&o](std::string_view v) {
          unsigned long long n = 0;
          const std::string range = "a power of two from 1 to 32768";
          if (!flags::parse_unsigned(v, 1, 32768, n).empty() || (n & (n - 1)) != 0) return range;
          o.reactor.receive_buffers = static_cast<unsigned>(n);
          return std::string();
        },
        "receive ring buffers at most, a power of two (default 16)");
  f.add("--receive-buffers-at-start", &o.reactor.receive_buffers_at_start, 1u, 32768u,
        "receive ring buffers made at start (default 2)");
  f.add("--receive-buffer-size", &o.reactor.receive_buffer_size, std::size_t{1},
        std::size_t{1} << 30, "bytes per receive ring buffer (default 65536)");
  f.add("--incremental-receive-buffers", &o.reactor.incremental_receive_buffers,
        "consume receive buffers incrementally, 1 or 0 (Linux 6.12+; default 1)");
  f.add("--batch", &o.reactor.batch_completions, 0u, 4096u,
        "completions each reactor waits for per wake-up, for at most --batch-wait (default 0: "
        "wake on the first; Linux 6.12+)");
  f.add("--batch-wait", "MICROSECONDS", [&o](std::string_view v) {
    unsigned long long us = 0;
    std::string why = flags::parse_unsigned(v, 0, 1'000'000, us);
    if (why.empty()) o.reactor.batch_wait = std::chrono::microseconds(us);
    return why;
  }, "how long a wake-up waits for --batch completions; each may be answered that much later "
     "(default 0)");
  f.add("--print-stats", &o.print_stats, "print the reactor's counters at exit, 1 or 0 (default 0)");
  add_deflate_flags(f, o.deflate);
}

// Reactor threads (io::TcpServerPool) and how connections reach them, shared by the echo
// and chat servers.
inline void add_threads_flags(flags::Flags& f, unsigned& threads, io::TcpServerPool::Accept& accept) {
  f.add("--threads", &threads, 0u, 1024u,
        "reactor threads, each with its own io_uring; 0: one per CPU (default 1)");
  f.add("--accept", "reuseport|one-acceptor",
        [&accept](std::string_view v) {
          using A = io::TcpServerPool::Accept;
          if (v == "reuseport") accept = A::reuseport;
          else if (v == "one-acceptor") accept = A::one_acceptor;
          else return std::string("reuseport or one-acceptor");
          return std::string();
        },
        "with --threads: a listener per thread on the port (SO_REUSEPORT), or one on the first "
        "thread handing connections round-robin to all (default reuseport)");
}

// The connections each reactor thread was given, on stderr (with --print-stats).
inline void print_connections_per_reactor(const std::vector<std::uint64_t>& counts) {
  std::fprintf(stderr, "connections per reactor:");
  for (std::uint64_t c : counts) std::fprintf(stderr, " %llu", (unsigned long long)c);
  std::fprintf(stderr, "\n");
}

// Reads the command line and loads the TLS material; a bad value or unusable TLS material
// prints one line naming the flag and exits with status 2.
inline EchoOptions parse_echo_options(const char* program, int argc, char** argv,
                                      bool threads_flag = false, bool style_flag = false) {
  EchoOptions o;
  flags::Flags f(program, "WebSocket echo server: sends every message back with its type.");
  add_echo_flags(f, o);
  if (threads_flag) add_threads_flags(f, o.threads, o.accept);
  if (style_flag) {
    f.add("--style", "coroutine|callback",
          [&o](std::string_view v) {
            if (v != "coroutine" && v != "callback") return std::string("coroutine or callback");
            o.callback_style = v == "callback";
            return std::string();
          },
          "each connection a wsp::MessageHandler the reactor calls with each message (no "
          "coroutine frame per idle connection), or a task awaiting receive() (default callback)");
  }
  f.parse(argc, argv);
  if (o.tls_cert.empty() != o.tls_key.empty()) f.fail("--tls-cert and --tls-key go together");
  if (std::string error; !wsp::valid_deflate_options(o.deflate, error)) f.fail("--deflate-*: " + error);
  if (!o.tls_cert.empty()) {
    std::string error;
    auto cert = tls::X509Certificate::load(o.tls_cert, &error);
    if (!cert) f.fail("--tls-cert: " + error);
    auto key = tls::CryptoKey::load(o.tls_key, &error);
    if (!key) f.fail("--tls-key: " + error);
    o.tls = tls::TLSOptions::server(key, cert);
    if (!o.tls->error().empty()) f.fail("--tls-cert, --tls-key: " + o.tls->error());
  }
  return o;
}

inline void print_reactor_stats(const io::ReactorStats& s) {
  std::fprintf(stderr,
               "reactor: %llu turns, %llu io_uring_enter, %llu SQEs, %llu CQEs (%.1f per enter), "
               "%llu receive buffer shortages\n",
               (unsigned long long)s.loop_turns, (unsigned long long)s.enter_calls,
               (unsigned long long)s.sqes_submitted, (unsigned long long)s.cqes_reaped,
               s.enter_calls ? double(s.cqes_reaped) / double(s.enter_calls) : 0.0,
               (unsigned long long)s.receive_buffer_shortages);
}
