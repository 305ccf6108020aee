// Command-line options shared by the two echo servers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "io/reactor.h"
#include "tls/crypto_key.h"
#include "tls/tls_options.h"
#include "tls/x509_certificate.h"

struct EchoOptions {
  std::string host = "127.0.0.1";
  int port = 9001;
  // Large enough to echo 16 MiB messages made of thousands of fragments.
  long inbound_buffer_size = 64L << 20;
  long outbound_buffer_size = 64L << 20;
  long max_queued_packets = 4096;
  long handshake_timeout_ms = 10000;  // a peer silent mid-handshake is dropped after this
  long heartbeat_interval_ms = 0;     // 0 = no automatic pings
  std::string tls_cert, tls_key;
  std::shared_ptr<tls::TLSOptions> tls;  // set when serving wss://
  io::Reactor::Options reactor;          // the receive ring's geometry, for tuning
  bool print_stats = false;              // the reactor's counters on stderr at exit
};

inline void echo_usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--host 127.0.0.1] [--port 9001] [--inbound-buffer-size BYTES]\n"
               "          [--outbound-buffer-size BYTES] [--max-queued-packets N]\n"
               "          [--handshake-timeout-ms MS] [--heartbeat-interval-ms MS (0 = none)]\n"
               "          [--tls-cert FILE --tls-key FILE]\n"
               "          [--receive-buffers MAX (a power of two)] [--receive-buffers-at-start N]\n"
               "          [--receive-buffer-size BYTES]\n"
               "          [--incremental-receive-buffers 1|0] [--print-stats 1|0]\n",
               program);
}

// Exits with status 2 and a message for a bad command line or unusable TLS material.
inline EchoOptions parse_echo_options(int argc, char** argv) {
  EchoOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      echo_usage(argv[0]);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      echo_usage(argv[0]);
      std::exit(2);
    }
    std::string value = argv[++i];
    if (flag == "--host") o.host = value;
    else if (flag == "--port") o.port = std::atoi(value.c_str());
    else if (flag == "--inbound-buffer-size") o.inbound_buffer_size = std::atol(value.c_str());
    else if (flag == "--outbound-buffer-size") o.outbound_buffer_size = std::atol(value.c_str());
    else if (flag == "--max-queued-packets") o.max_queued_packets = std::atol(value.c_str());
    else if (flag == "--handshake-timeout-ms") o.handshake_timeout_ms = std::atol(value.c_str());
    else if (flag == "--heartbeat-interval-ms") o.heartbeat_interval_ms = std::atol(value.c_str());
    else if (flag == "--tls-cert") o.tls_cert = value;
    else if (flag == "--tls-key") o.tls_key = value;
    else if (flag == "--receive-buffers") o.reactor.receive_buffers = static_cast<unsigned>(std::atol(value.c_str()));
    else if (flag == "--receive-buffers-at-start") o.reactor.receive_buffers_at_start = static_cast<unsigned>(std::atol(value.c_str()));
    else if (flag == "--receive-buffer-size") o.reactor.receive_buffer_size = std::atol(value.c_str());
    else if (flag == "--incremental-receive-buffers") o.reactor.incremental_receive_buffers = value != "0";
    else if (flag == "--print-stats") o.print_stats = value != "0";
    else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      echo_usage(argv[0]);
      std::exit(2);
    }
  }
  if (o.port < 0 || o.port > 65535) {
    std::fprintf(stderr, "--port must be 0..65535\n");
    std::exit(2);
  }
  const unsigned buffers = o.reactor.receive_buffers;
  if (buffers == 0 || (buffers & (buffers - 1)) != 0 || o.reactor.receive_buffer_size == 0 ||
      o.reactor.receive_buffers_at_start == 0) {
    std::fprintf(stderr, "--receive-buffers must be a power of two; --receive-buffers-at-start "
                         "and --receive-buffer-size > 0\n");
    std::exit(2);
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    std::fprintf(stderr, "--tls-cert and --tls-key go together\n");
    std::exit(2);
  }
  if (!o.tls_cert.empty()) {
    std::string error;
    auto cert = tls::X509Certificate::load(o.tls_cert, &error);
    if (!cert) {
      std::fprintf(stderr, "cannot load %s: %s\n", o.tls_cert.c_str(), error.c_str());
      std::exit(2);
    }
    auto key = tls::CryptoKey::load(o.tls_key, &error);
    if (!key) {
      std::fprintf(stderr, "cannot load %s: %s\n", o.tls_key.c_str(), error.c_str());
      std::exit(2);
    }
    o.tls = tls::TLSOptions::server(key, cert);
    if (!o.tls->error().empty()) {
      std::fprintf(stderr, "unusable TLS material: %s\n", o.tls->error().c_str());
      std::exit(2);
    }
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
