// TLS against plain TCP on the reactor, in the same run: echo throughput with 64 KiB messages
// and with 64-byte messages pipelined, over the byte streams' pull API (read_some/write_all)
// and as WebSocket messages (wss vs ws: wsp::WebSocket on both sides, so the bytes go through
// Connection and the streams' push I/O), and TLS handshakes per second with and without
// session resumption. Each echo server runs on its own thread and reactor (one core), the
// client on the main thread (the other core).
//
//   bazel run --config=opt //bench:tls_bench -- [seconds per figure, default 2]
//       [all|cipher|engine|streams|websocket|handshakes, default all] [both|large|small]
//   tls_bench 0 count large|small wss|ws COUNT     (for callgrind: bench/callgrind_tls.sh)
//   tls_bench 0 records large|small wss COUNT      (TLS records per echoed message)
//
// `cipher` is BoringSSL's AEAD alone (EVP_AEAD, no TLS, no socket), so the cipher's own cost is
// known in the same run; the websocket figures end with the wss/ws CPU ratio that this cost
// alone allows.
#include <openssl/aead.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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
#include "wsp/websocket.h"

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

Task<void> websocket_serve(Reactor* reactor, TcpListener* listener,
                           std::shared_ptr<TLSOptions> options);

// An echo server on its own thread; runs until the process exits. `websocket`: WebSocket
// messages (wsp::accept) rather than raw bytes.
std::uint16_t start_server(std::shared_ptr<TLSOptions> options, bool websocket = false) {
  std::uint16_t port = 0;
  bool ready = false;
  std::mutex m;
  std::condition_variable cv;
  std::thread([&port, &ready, &m, &cv, options, websocket] {
    Reactor reactor;
    auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
    if (!listener) std::abort();
    {
      std::lock_guard lock(m);
      port = listener->local_port();
      ready = true;
    }
    cv.notify_one();
    if (websocket) {
      reactor.spawn(websocket_serve(&reactor, &*listener, options));
    } else {
      reactor.spawn(serve(&reactor, &*listener, options));
    }
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

// CPU time of the whole process (client and server threads), in seconds.
double cpu_seconds(clockid_t clock = CLOCK_PROCESS_CPUTIME_ID) {
  timespec t{};
  clock_gettime(clock, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// An echo figure: bytes per second of wall time, and per second of CPU time (both threads),
// the steadier of the two when other work shares the machine.
struct Rate {
  double bytes_per_second = 0;
  double bytes_per_cpu_second = 0;
};

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

// Echo throughput over the byte streams' pull API.
Rate throughput(Reactor& reactor, std::uint16_t port, std::shared_ptr<TLSOptions> options,
                std::size_t message, std::size_t window, double seconds) {
  auto body = [&]() -> Task<Rate> {
    auto stream = co_await dial(reactor, port, options);
    Flow flow;
    io::Event room(reactor);
    reactor.spawn(writer(&reactor, stream.get(), message, window, &flow, &room));
    std::vector<std::uint8_t> buffer(256 * 1024);
    auto start = Clock::now();
    double cpu_start = cpu_seconds();
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
    double cpu = cpu_seconds() - cpu_start;
    flow.stop = true;
    room.set();
    // Drop the connection; the writer's pending send fails and it stops.
    stream->close();
    while (!flow.writer_done) co_await io::sleep_for(reactor, 1ms);
    co_return Rate{counted / elapsed, counted / cpu};
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

// Counts the TLS records a context's connections write and read (BoringSSL's message callback
// sees each record header; the length in it is the ciphertext's).
struct RecordCount {
  std::atomic<std::uint64_t> written{0}, written_bytes{0}, read{0}, read_bytes{0};
  std::atomic<const char*> cipher{""};
};

void reset(RecordCount& c) { c.written = c.written_bytes = c.read = c.read_bytes = 0; }

void count_records(TLSOptions& options, RecordCount& count) {
  SSL_CTX_set_msg_callback_arg(options.context(), &count);
  SSL_CTX_set_msg_callback(
      options.context(),
      [](int is_write, int, int content_type, const void* buf, std::size_t len, SSL* ssl,
         void* arg) {
        if (content_type != SSL3_RT_HEADER || len != 5) return;
        auto* header = static_cast<const std::uint8_t*>(buf);
        std::uint64_t body = (std::uint64_t(header[3]) << 8) | header[4];
        auto& c = *static_cast<RecordCount*>(arg);
        if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl))
          c.cipher.store(SSL_CIPHER_standard_name(cipher), std::memory_order_relaxed);
        (is_write ? c.written : c.read).fetch_add(1, std::memory_order_relaxed);
        (is_write ? c.written_bytes : c.read_bytes).fetch_add(body, std::memory_order_relaxed);
      });
}

// --- WebSocket echo: wss vs ws through wsp::Connection ------------------------------------

// Large enough for a whole window of 64 KiB messages in either queue.
wsp::ConnectionLimits websocket_limits() {
  wsp::ConnectionLimits limits;
  limits.inbound_buffer_size = 4 << 20;
  limits.outbound_buffer_size = 4 << 20;
  limits.max_queued_packets = 1 << 16;
  return limits;
}

Task<void> websocket_echo(std::unique_ptr<wsp::WebSocket> ws) {
  for (;;) {
    wsp::Received message = co_await ws->receive();
    if (message.closed) co_return;
    if (!(co_await ws->send(std::move(message.data), message.text))) co_return;
  }
}

Task<void> websocket_accept(Reactor* reactor, TcpStream tcp, std::shared_ptr<TLSOptions> options) {
  std::unique_ptr<io::ByteStream> stream;
  if (options) {
    auto secured = co_await TlsStream::accept(std::move(tcp), options, 5s);
    if (!secured) co_return;
    stream = std::move(*secured);
  } else {
    stream = std::make_unique<TcpStream>(std::move(tcp));
  }
  wsp::AcceptOptions accept_options;
  accept_options.tls = bool(options);
  accept_options.limits = websocket_limits();
  auto ws = co_await wsp::accept(std::move(stream), accept_options);
  if (ws) reactor->spawn(websocket_echo(std::move(*ws)));
}

Task<void> websocket_serve(Reactor* reactor, TcpListener* listener,
                           std::shared_ptr<TLSOptions> options) {
  for (;;) {
    auto tcp = co_await listener->accept();
    if (!tcp) co_return;
    reactor->spawn(websocket_accept(reactor, std::move(*tcp), options));
  }
}

// Keeps at most `window` payload bytes in flight.
Task<void> websocket_writer(wsp::WebSocket* ws, std::size_t message, std::size_t window,
                            Flow* flow, io::Event* room) {
  std::string data(message, 'x');
  while (!flow->stop) {
    if (flow->sent - flow->received + message > window) {
      room->reset();
      co_await room->wait();
      continue;
    }
    if (!(co_await ws->send(std::string_view(data), false))) break;
    flow->sent += message;
  }
  flow->writer_done = true;
}

// WebSocket echo throughput, in payload bytes.
Rate websocket_throughput(Reactor& reactor, std::uint16_t port,
                          std::shared_ptr<TLSOptions> options, std::size_t message,
                          std::size_t window, double seconds) {
  auto body = [&]() -> Task<Rate> {
    wsp::ConnectOptions connect_options;
    connect_options.tls_options = options;
    connect_options.limits = websocket_limits();
    std::string url = std::string(options ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port) + "/";
    auto ws = co_await wsp::connect(reactor, url, connect_options);
    if (!ws) std::abort();
    Flow flow;
    io::Event room(reactor);
    reactor.spawn(websocket_writer(ws->get(), message, window, &flow, &room));
    auto start = Clock::now();
    double cpu_start = cpu_seconds();
    auto end = start + std::chrono::duration<double>(seconds);
    std::uint64_t counted = 0;
    while (Clock::now() < end) {
      wsp::Received r = co_await (*ws)->receive();
      if (r.closed) std::abort();
      flow.received += r.data.size();
      counted += r.data.size();
      (*ws)->recycle(std::move(r.data));
      room.set();
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = cpu_seconds() - cpu_start;
    flow.stop = true;
    room.set();
    (*ws)->abort();  // the writer's pending send fails and it stops
    while (!flow.writer_done) co_await io::sleep_for(reactor, 1ms);
    co_return Rate{counted / elapsed, counted / cpu};
  };
  return reactor.sync_wait(body());
}

// Echoes exactly `count` messages through wss (or ws) with client and server on this thread's
// reactor: no clock involved, so that callgrind's instruction counts for two counts differ by
// the cost of the messages alone (bench/callgrind_tls.sh).
// `client_records`/`server_records` (wss only): the records each side writes once connected.
void websocket_count(std::shared_ptr<TLSOptions> server_options,
                     std::shared_ptr<TLSOptions> client_options, std::size_t message,
                     std::size_t window, std::uint64_t count,
                     RecordCount* client_records = nullptr,
                     RecordCount* server_records = nullptr) {
  if (client_records) count_records(*client_options, *client_records);
  if (server_records) count_records(*server_options, *server_records);
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  if (!listener) std::abort();
  auto server = reactor.spawn(websocket_serve(&reactor, &*listener, server_options));
  auto body = [&]() -> Task<void> {
    wsp::ConnectOptions connect_options;
    connect_options.tls_options = client_options;
    connect_options.limits = websocket_limits();
    std::string url = std::string(client_options ? "wss" : "ws") + "://127.0.0.1:" +
                      std::to_string(listener->local_port()) + "/";
    auto ws = co_await wsp::connect(reactor, url, connect_options);
    if (!ws) std::abort();
    // The server's handshake records are out once the client is connected.
    if (client_records) reset(*client_records);
    if (server_records) reset(*server_records);
    Flow flow;
    io::Event room(reactor);
    reactor.spawn(websocket_writer(ws->get(), message, window, &flow, &room));
    for (std::uint64_t i = 0; i < count; ++i) {
      wsp::Received r = co_await (*ws)->receive();
      if (r.closed) std::abort();
      flow.received += r.data.size();
      (*ws)->recycle(std::move(r.data));
      room.set();
    }
    flow.stop = true;
    room.set();
    (*ws)->abort();
    while (!flow.writer_done) co_await io::sleep_for(reactor, 1ms);
  };
  reactor.sync_wait(body());
  reactor.cancel(server);
  std::printf("echoed %llu messages of %zu bytes over %s\n",
              static_cast<unsigned long long>(count), message, client_options ? "wss" : "ws");
}

// Seal on one engine and open on another, in memory on one core: the ceiling of the TLS layer
// without sockets (per byte: one encryption, one decryption and the buffer copies), in bytes
// per second of the thread's CPU time.
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
  double cpu_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
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
  return bytes / (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start);
}

// The cipher alone: one of TLS 1.3's AEADs sealing and opening 16 KiB records (plus the
// content-type byte, a 5-byte header as additional data, as TLS 1.3 does) with BoringSSL's
// EVP_AEAD, out of place, in payload bytes per second of this thread's CPU time. The records
// cycle through `span` bytes: one record stays in the L1/L2 cache; 1 MiB (an echo's window)
// does not.
struct CipherRate {
  double seal = 0;
  double open = 0;
};

CipherRate cipher_alone(const EVP_AEAD* aead, std::size_t span, double seconds) {
  constexpr std::size_t kRecordPlaintext = 16 * 1024 + 1;  // data + content type
  const std::size_t tag = EVP_AEAD_max_overhead(aead);
  const std::size_t records = std::max<std::size_t>(1, span / (16 * 1024));
  std::vector<std::uint8_t> key(EVP_AEAD_key_length(aead), 7);
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(ctx.get(), aead, key.data(), key.size(), tag, nullptr)) std::abort();
  std::vector<std::uint8_t> plain(records * kRecordPlaintext, 'x');
  std::vector<std::uint8_t> sealed(records * (kRecordPlaintext + tag));
  std::vector<std::uint8_t> nonce(EVP_AEAD_nonce_length(aead), 0);
  const std::uint8_t header[5] = {23, 3, 3, 0x40, 0x11};
  auto run = [&](bool seal) {
    std::uint64_t bytes = 0;
    double cpu_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    auto end = Clock::now() + std::chrono::duration<double>(seconds / 2);
    while (Clock::now() < end) {
      for (std::size_t r = 0; r < records; ++r) {
        std::uint8_t* p = plain.data() + r * kRecordPlaintext;
        std::uint8_t* c = sealed.data() + r * (kRecordPlaintext + tag);
        std::size_t out = 0;
        std::memcpy(nonce.data(), &r, sizeof r);  // a record's own nonce, as its sequence number
        if (seal) {
          if (!EVP_AEAD_CTX_seal(ctx.get(), c, &out, kRecordPlaintext + tag, nonce.data(),
                                 nonce.size(), p, kRecordPlaintext, header, sizeof header))
            std::abort();
        } else {
          if (!EVP_AEAD_CTX_open(ctx.get(), p, &out, kRecordPlaintext, nonce.data(),
                                 nonce.size(), c, kRecordPlaintext + tag, header, sizeof header))
            std::abort();
        }
        bytes += 16 * 1024;
      }
    }
    return bytes / (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start);
  };
  CipherRate rate;
  rate.seal = run(true);
  rate.open = run(false);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  // Which figures: all (default), engine, streams, websocket, handshakes, or count (a fixed
  // number of WebSocket echoes, for callgrind_tls.sh).
  std::string only = "all";
  // Which message sizes: both (default), large (64 KiB) or small (64 bytes).
  std::string sizes = "both";
  std::string count_mode = "ws";
  unsigned long long count = 1000;
  auto one_of = [](std::string& out, std::vector<std::string_view> allowed, std::string what) {
    return [&out, allowed, what](std::string_view v) {
      for (std::string_view a : allowed)
        if (v == a) {
          out.assign(v);
          return std::string();
        }
      return what;
    };
  };
  flags::Flags flags("tls_bench", "TLS against plain TCP on the reactor, in the same run.");
  flags.positional("SECONDS",
                   [&seconds](std::string_view v) { return flags::parse_number(v, 0, 3600.0, seconds); },
                   "seconds per figure (default 2)", false);
  flags.positional("WHICH",
                   one_of(only, {"all", "cipher", "engine", "streams", "websocket", "handshakes", "count",
                                 "records"},
                          "all, cipher, engine, streams, websocket, handshakes, count or records"),
                   "which figures (default all)", false);
  flags.positional("SIZES", one_of(sizes, {"both", "large", "small"}, "both, large or small"),
                   "message sizes (default both)", false);
  flags.positional("MODE", one_of(count_mode, {"ws", "wss"}, "ws or wss"), "count mode: ws or wss", false);
  flags.positional("COUNT",
                   [&count](std::string_view v) { return flags::parse_unsigned(v, 1, 1ULL << 40, count); },
                   "count mode: messages to echo (default 1000)", false);
  flags.parse(argc, argv);
  auto wanted = [&](const char* part) { return only == "all" || only == part; };
  const auto& certs = tls::testing::test_certificates();
  auto server_options =
      TLSOptions::server(tls::CryptoKey::load_from_string(certs.server.key),
                         tls::X509Certificate::load_from_string(certs.server.cert));
  auto client_options =
      TLSOptions::client(tls::X509Certificate::load_from_string(certs.ca.cert));
  auto cipher_line = [&](const char* name, const EVP_AEAD* aead) {
    CipherRate hot = cipher_alone(aead, 16 * 1024, seconds);
    CipherRate cold = cipher_alone(aead, 1 << 20, seconds);
    std::printf("%-18s 16 KiB records, GB per CPU second: in cache seal %.2f open %.2f | "
                "cycling through 1 MiB seal %.2f open %.2f\n",
                name, hot.seal / 1e9, hot.open / 1e9, cold.seal / 1e9, cold.open / 1e9);
  };
  if (wanted("cipher")) {
    std::printf("BoringSSL's AEAD alone (EVP_has_aes_hardware() = %d)\n", EVP_has_aes_hardware());
    cipher_line("AES-128-GCM", EVP_aead_aes_128_gcm());
    cipher_line("AES-256-GCM", EVP_aead_aes_256_gcm());
    cipher_line("ChaCha20-Poly1305", EVP_aead_chacha20_poly1305());
  }
  if (wanted("engine")) {
    std::printf("TLS engine in memory (seal + open, one core): %.1f MB per CPU second\n",
                engine_in_memory(client_options, server_options, seconds) / 1e6);
  }
  struct Case {
    const char* name;
    std::size_t message;
    std::size_t window;
  };
  std::vector<Case> cases;
  if (sizes != "small") cases.push_back({"64 KiB messages", 64 * 1024, 1 << 20});
  if (sizes != "large") cases.push_back({"64-byte messages, pipelined", 64, 64 * 1024});
  // Wall-time throughput and its ratio, then CPU time per message (both threads) and the ratio
  // of those costs (plain/TLS: the share of TLS's CPU a plain echo would need).
  auto report = [](const Case& c, Rate plain, Rate secure) {
    std::printf("%-28s plain %7.1f MB/s %9.0f msg/s | TLS %7.1f MB/s %9.0f msg/s | TLS/plain %3.0f%%"
                " | CPU/msg plain %6.2f us TLS %6.2f us, plain/TLS %3.0f%%\n",
                c.name, plain.bytes_per_second / 1e6, plain.bytes_per_second / c.message,
                secure.bytes_per_second / 1e6, secure.bytes_per_second / c.message,
                100 * secure.bytes_per_second / plain.bytes_per_second,
                1e6 * c.message / plain.bytes_per_cpu_second,
                1e6 * c.message / secure.bytes_per_cpu_second,
                100 * secure.bytes_per_cpu_second / plain.bytes_per_cpu_second);
  };

  if (only == "count") {
    // tls_bench 0 count large|small wss|ws COUNT: see websocket_count.
    bool secure = count_mode == "wss";
    const Case& c = cases.front();
    websocket_count(secure ? server_options : nullptr, secure ? client_options : nullptr,
                    c.message, c.window, count);
    std::fflush(stdout);
    std::_Exit(0);
  }
  if (only == "records") {
    // tls_bench 0 records large|small wss COUNT: the records of COUNT echoed messages.
    const Case& c = cases.front();
    RecordCount client, server;
    websocket_count(server_options, client_options, c.message, c.window, count, &client,
                    &server);
    auto side = [&](const char* name, const RecordCount& r) {
      std::printf("%s (%s) wrote %llu records: %.3f per message, %.0f bytes of ciphertext each\n",
                  name, r.cipher.load(), static_cast<unsigned long long>(r.written.load()),
                  double(r.written) / count, r.written ? double(r.written_bytes) / r.written : 0.0);
    };
    side("client", client);
    side("server", server);
    std::fflush(stdout);
    std::_Exit(0);
  }

  Reactor reactor;
  if (wanted("streams") || wanted("handshakes")) {
    std::uint16_t plain_port = start_server(nullptr);
    std::uint16_t tls_port = start_server(server_options);
    if (wanted("streams")) {
      std::printf("TLS vs plain TCP echo on 127.0.0.1, byte streams (read_some/write_all), "
                  "%.1f s each\n", seconds);
      for (const auto& c : cases) {
        Rate plain = throughput(reactor, plain_port, nullptr, c.message, c.window, seconds);
        Rate secure = throughput(reactor, tls_port, client_options, c.message, c.window, seconds);
        report(c, plain, secure);
      }
    }
    if (wanted("handshakes")) {
      double share = 0;
      client_options->set_session_resumption(false);
      double full = handshakes(reactor, tls_port, client_options, seconds, &share);
      std::printf("%-30s %9.0f /s (resumed %.0f%%)\n", "TLS handshakes, full", full, 100 * share);
      client_options->set_session_resumption(true);
      double resumed = handshakes(reactor, tls_port, client_options, seconds, &share);
      std::printf("%-30s %9.0f /s (resumed %.0f%%)\n", "TLS handshakes, resumption", resumed,
                  100 * share);
    }
  }
  if (wanted("websocket")) {
    std::uint16_t ws_port = start_server(nullptr, true);
    std::uint16_t wss_port = start_server(server_options, true);
    std::printf("wss vs ws echo on 127.0.0.1, wsp::WebSocket both sides (Connection, push I/O), "
                "%.1f s each\n", seconds);
    std::vector<Rate> plain_rates;
    for (const auto& c : cases) {
      Rate plain = websocket_throughput(reactor, ws_port, nullptr, c.message, c.window, seconds);
      Rate secure =
          websocket_throughput(reactor, wss_port, client_options, c.message, c.window, seconds);
      report(c, plain, secure);
      plain_rates.push_back(plain);
    }
    // The bound the cipher sets: an echo seals and opens every payload byte twice (client and
    // server), in records of about 16 KiB (`tls_bench 0 records`), over memory an echo's window
    // wide. With nothing else added to ws, wss's CPU per message could not be less.
    const bool aes = EVP_has_aes_hardware();  // BoringSSL negotiates AES-128-GCM then
    CipherRate cipher = cipher_alone(aes ? EVP_aead_aes_128_gcm() : EVP_aead_chacha20_poly1305(),
                                     1 << 20, seconds / 2);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const double plain_us = 1e6 * cases[i].message / plain_rates[i].bytes_per_cpu_second;
      const double cipher_us = 1e6 * cases[i].message * (2 / cipher.seal + 2 / cipher.open);
      std::printf("%-28s the cipher alone (%s): %.2f us per message; with ws's %.2f us, "
                  "wss/ws CPU at most %3.0f%%\n",
                  cases[i].name, aes ? "AES-128-GCM" : "ChaCha20-Poly1305", cipher_us, plain_us,
                  100 * plain_us / (plain_us + cipher_us));
    }
  }
  std::fflush(stdout);
  std::_Exit(0);  // the server threads run until the process ends
}
