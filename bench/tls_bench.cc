// TLS against plain TCP on the reactor, in the same run: echo throughput with 64 KiB messages
// and with 64-byte messages pipelined, and TLS handshakes per second with and without session
// resumption. The echo server runs on its own thread and reactor (one core), the client on the
// main thread (the other core).
//
//   bazel run --config=opt //bench:tls_bench -- [seconds per figure, default 2]
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/event.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/tls/test_certs.h"
#include "tls/tls_stream.h"
#include "tools/flags/flags.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Task;
using io::TcpListener;
using io::TcpStream;
using tls::TLSOptions;
using tls::TlsStream;
using Clock = std::chrono::steady_clock;

namespace {

Task<void> echo(std::unique_ptr<io::ByteStream> stream) {
  std::vector<std::uint8_t> buffer(256 * 1024);
  for (;;) {
    auto n = co_await stream->read_some(buffer);
    if (!n || *n == 0) co_return;
    iovec v{buffer.data(), *n};
    if (!(co_await stream->write_all({&v, 1}))) co_return;
  }
}

Task<void> accept_tls(TcpStream tcp, std::shared_ptr<TLSOptions> options) {
  auto stream = co_await TlsStream::accept(std::move(tcp), options, 5s);
  if (stream) co_await echo(std::move(*stream));
}

Task<void> serve(Reactor* reactor, TcpListener* listener, std::shared_ptr<TLSOptions> options) {
  for (;;) {
    auto tcp = co_await listener->accept();
    if (!tcp) co_return;
    if (options) {
      reactor->spawn(accept_tls(std::move(*tcp), options));
    } else {
      reactor->spawn(echo(std::make_unique<TcpStream>(std::move(*tcp))));
    }
  }
}

// An echo server on its own thread; runs until the process exits.
std::uint16_t start_server(std::shared_ptr<TLSOptions> options) {
  std::uint16_t port = 0;
  bool ready = false;
  std::mutex m;
  std::condition_variable cv;
  std::thread([&port, &ready, &m, &cv, options] {
    Reactor reactor;
    auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
    if (!listener) std::abort();
    {
      std::lock_guard lock(m);
      port = listener->local_port();
      ready = true;
    }
    cv.notify_one();
    reactor.spawn(serve(&reactor, &*listener, options));
    reactor.run();
  }).detach();
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return ready; });
  return port;
}

Task<std::unique_ptr<io::ByteStream>> dial(Reactor& reactor, std::uint16_t port,
                                           std::shared_ptr<TLSOptions> options) {
  auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
  if (!tcp) std::abort();
  if (!options) co_return std::make_unique<TcpStream>(std::move(*tcp));
  auto stream = co_await TlsStream::connect(std::move(*tcp), "localhost", options, 5s);
  if (!stream) std::abort();
  static bool told = false;
  if (!told) {
    told = true;
    std::printf("TLS: %s %s\n", (*stream)->engine().protocol_version().c_str(),
                (*stream)->engine().cipher_name().c_str());
  }
  co_return std::move(*stream);
}

struct Flow {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool stop = false;
  bool writer_done = false;
};

// Keeps at most `window` bytes in flight.
Task<void> writer(Reactor* reactor, io::ByteStream* stream, std::size_t message, std::size_t window,
                  Flow* flow, io::Event* room) {
  std::vector<std::uint8_t> data(message, 'x');
  while (!flow->stop) {
    if (flow->sent - flow->received + message > window) {
      room->reset();
      co_await room->wait();
      continue;
    }
    iovec v{data.data(), data.size()};
    if (!(co_await stream->write_all({&v, 1}))) break;
    flow->sent += message;
  }
  flow->writer_done = true;
}

// Echo throughput in bytes per second.
double throughput(Reactor& reactor, std::uint16_t port, std::shared_ptr<TLSOptions> options,
                  std::size_t message, std::size_t window, double seconds) {
  auto body = [&]() -> Task<double> {
    auto stream = co_await dial(reactor, port, options);
    Flow flow;
    io::Event room(reactor);
    reactor.spawn(writer(&reactor, stream.get(), message, window, &flow, &room));
    std::vector<std::uint8_t> buffer(256 * 1024);
    auto start = Clock::now();
    auto end = start + std::chrono::duration<double>(seconds);
    std::uint64_t counted = 0;
    while (Clock::now() < end) {
      auto n = co_await stream->read_some(buffer);
      if (!n || *n == 0) std::abort();
      flow.received += *n;
      counted += *n;
      room.set();
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    flow.stop = true;
    room.set();
    // Drop the connection; the writer's pending send fails and it stops.
    stream->close();
    while (!flow.writer_done) co_await io::sleep_for(reactor, 1ms);
    co_return counted / elapsed;
  };
  return reactor.sync_wait(body());
}

// New connections per second, each one: TCP connect, TLS handshake, one byte echoed.
double handshakes(Reactor& reactor, std::uint16_t port, std::shared_ptr<TLSOptions> options,
                  double seconds, double* reused_share) {
  auto body = [&]() -> Task<double> {
    auto start = Clock::now();
    auto end = start + std::chrono::duration<double>(seconds);
    int count = 0, reused = 0;
    while (Clock::now() < end) {
      auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
      if (!tcp) std::abort();
      auto stream = co_await TlsStream::connect(std::move(*tcp), "localhost", options, 5s);
      if (!stream) std::abort();
      std::uint8_t byte = 1;
      iovec v{&byte, 1};
      if (!(co_await (*stream)->write_all({&v, 1}))) std::abort();
      auto n = co_await (*stream)->read_some({&byte, 1});  // brings the session tickets along
      if (!n || *n != 1) std::abort();
      reused += (*stream)->engine().session_reused();
      (*stream)->close();
      ++count;
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    *reused_share = count ? double(reused) / count : 0;
    co_return count / elapsed;
  };
  return reactor.sync_wait(body());
}

// Seal on one engine and open on another, in memory on one core: the ceiling of the TLS layer
// without sockets (per byte: one encryption, one decryption and the buffer copies).
double engine_in_memory(std::shared_ptr<TLSOptions> client_options,
                        std::shared_ptr<TLSOptions> server_options, double seconds) {
  auto client = tls::TlsEngine::client(client_options, "localhost");
  auto server = tls::TlsEngine::server(server_options);
  std::vector<std::uint8_t> wire;
  for (int i = 0; i < 4; ++i) {
    client->handshake();
    client->take_output(wire);
    server->receive(wire);
    server->handshake();
    server->take_output(wire);
    client->receive(wire);
  }
  if (client->state() != tls::TlsState::connected) std::abort();
  std::vector<std::uint8_t> message(64 * 1024, 'x'), out(256 * 1024);
  std::uint64_t bytes = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    client->write(message);
    client->take_output(wire);
    server->receive(wire);
    for (std::size_t got = 0; got < message.size();) {
      auto r = server->read({out.data(), out.size()});
      if (r.state != tls::TlsEngine::ReadState::data) std::abort();
      got += r.bytes;
    }
    bytes += message.size();
  }
  return bytes / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  flags::Flags flags("tls_bench", "TLS against plain TCP on the reactor, in the same run.");
  flags.positional("SECONDS",
                   [&seconds](std::string_view v) { return flags::parse_number(v, 0.1, 3600.0, seconds); },
                   "seconds per figure (default 2)", false);
  flags.parse(argc, argv);
  const auto& certs = tls::testing::test_certificates();
  auto server_options =
      TLSOptions::server(tls::CryptoKey::load_from_string(certs.server.key),
                         tls::X509Certificate::load_from_string(certs.server.cert));
  auto client_options =
      TLSOptions::client(tls::X509Certificate::load_from_string(certs.ca.cert));
  std::printf("TLS engine in memory (seal + open, one core): %.1f MB/s\n",
              engine_in_memory(client_options, server_options, seconds) / 1e6);
  std::uint16_t plain_port = start_server(nullptr);
  std::uint16_t tls_port = start_server(server_options);

  Reactor reactor;
  std::printf("TLS vs plain TCP echo on 127.0.0.1 (server thread + client thread), %.1f s each\n",
              seconds);
  struct Case {
    const char* name;
    std::size_t message;
    std::size_t window;
  } cases[] = {{"64 KiB messages", 64 * 1024, 1 << 20}, {"64-byte messages, pipelined", 64, 64 * 1024}};
  for (const auto& c : cases) {
    double plain = throughput(reactor, plain_port, nullptr, c.message, c.window, seconds);
    double secure = throughput(reactor, tls_port, client_options, c.message, c.window, seconds);
    std::printf("%-30s plain %9.1f MB/s %11.0f msg/s | TLS %9.1f MB/s %11.0f msg/s | TLS/plain %3.0f%%\n",
                c.name, plain / 1e6, plain / c.message, secure / 1e6, secure / c.message,
                100 * secure / plain);
  }
  double share = 0;
  client_options->set_session_resumption(false);
  double full = handshakes(reactor, tls_port, client_options, seconds, &share);
  std::printf("%-30s %9.0f /s (resumed %.0f%%)\n", "TLS handshakes, full", full, 100 * share);
  client_options->set_session_resumption(true);
  double resumed = handshakes(reactor, tls_port, client_options, seconds, &share);
  std::printf("%-30s %9.0f /s (resumed %.0f%%)\n", "TLS handshakes, resumption", resumed,
              100 * share);
  std::fflush(stdout);
  std::_Exit(0);  // the server threads run until the process ends
}
