// Hostile peers against //examples:echo_server (a child process, 127.0.0.1): slowloris, header
// floods, a million-fragment message (also against //examples:echo_server_poll), a ping flood,
// an RST mid-frame. The server must drop the offender as the limits say and keep serving
// everyone else.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "io/file_descriptor.h"
#include "tests/interop/child_process.h"
#include "tests/skip.h"
#include "tests/wsp/raw_peer.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using raw_peer::Clock;
using raw_peer::Socket;

namespace {

struct EchoServer {
  ChildProcess process;
  int port = 0;

  explicit EchoServer(std::vector<std::string> options = {}, const std::string& program = "echo_server")
      : process(command(program, std::move(options))) {
    const std::string line = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(line.rfind(prefix, 0) == 0);
    port = std::stoi(line.substr(prefix.size()));
  }
  static std::vector<std::string> command(const std::string& program, std::vector<std::string> options) {
    std::vector<std::string> argv{interop::runfile("wsp/examples/" + program), "--port", "0"};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }
  Socket connect() const { return Socket::connect_to("127.0.0.1", port); }
};

// A well-behaved client: connect, handshake, one text echo. Returns how long it all took, or
// nullopt if any step failed.
std::optional<Clock::duration> normal_echo(const EchoServer& server, const std::string& text = "hello") {
  const auto start = Clock::now();
  const auto deadline = start + 5s;
  Socket s = server.connect();
  if (!s.valid() || !s.handshake(deadline)) return std::nullopt;
  if (!s.write_all(raw_peer::frame(0x1, true, text))) return std::nullopt;
  auto echo = s.read_frame(deadline);
  if (!echo || echo->opcode != 0x1 || echo->payload != text) return std::nullopt;
  return Clock::now() - start;
}

#ifdef WSP_SANITIZED
// ASan+UBSan make the server several times slower and its heap larger (quarantine, shadow).
constexpr long kPingFloodGrowthKiB = 32 * 1024;
constexpr long kFragmentFloodGrowthKiB = 8 * 1024;
#else
constexpr long kPingFloodGrowthKiB = 8 * 1024;
// The flood's message may hold 64 KiB, in a string that doubles (128 KiB); the receive ring is
// 4 x 16 KiB. Each of the 65,536 fragments read costing as little as 16 bytes would pass this.
constexpr long kFragmentFloodGrowthKiB = 1024;
#endif

long ms(Clock::duration d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

}  // namespace

TEST_CASE("slowloris: a normal client is served while 1,000 half handshakes wait, and each of those is dropped at handshake_timeout") {
  constexpr int kSilent = 1000;
  if (const auto limit = io::raise_open_files_limit(); limit < 2 * kSilent + 100) {
    WSP_SKIP("the open-files limit is " << limit << ", below " << 2 * kSilent + 100);
  }
  EchoServer server({"--handshake-timeout-ms", "3000"});
  std::vector<Socket> silent;
  silent.reserve(kSilent);
  const auto opened = Clock::now();
  for (int i = 0; i < kSilent; ++i) {
    Socket s = server.connect();
    REQUIRE(s.valid());
    // Half a request: the request line and one field, never the blank line.
    REQUIRE(s.write_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    silent.push_back(std::move(s));
  }
  const auto all_open = Clock::now();
  INFO("opening 1,000 took " << ms(all_open - opened) << " ms");

  // Meanwhile a normal client connects and gets its echo, five times, while silent ones still
  // wait: served during the slowloris, not once it is over. (How long each took is told, not
  // checked: speed is no test's assertion, and this machine's load varies; under ASan on a busy
  // machine the first silent ones may already be gone by then.)
  for (int i = 0; i < 5; ++i) {
    auto took = normal_echo(server);
    REQUIRE(took);
    INFO("normal client " << i << ": " << ms(*took) << " ms");
  }
  std::vector<pollfd> waiting;
  for (auto& s : silent) waiting.push_back({s.fd(), POLLIN, 0});
  const int done = ::poll(waiting.data(), waiting.size(), 0);  // answered or closed
  INFO(done << " of the silent ones already closed");
  CHECK(done < kSilent);

  // Every silent one is closed by the server: not before ~handshake_timeout of the last one's
  // silence, and all within handshake_timeout + 4 s of the last one opening.
  const auto deadline = all_open + 7s;
  int closed = 0;
  for (auto& s : silent) closed += s.wait_closed(deadline) ? 1 : 0;
  const auto all_closed = Clock::now();
  CHECK(closed == kSilent);
  INFO("all closed " << ms(all_closed - opened) << " ms after the first opened");
  CHECK(all_closed - opened >= 2900ms);
  // A response to a half request would be wrong: the server only closes.
  for (auto& s : silent) CHECK(s.buffered().empty());
  CHECK(normal_echo(server));
}

TEST_CASE("header flood: more than 4 KiB of headers gets 431 and a close; the server keeps serving") {
  EchoServer server;
  Socket s = server.connect();
  REQUIRE(s.valid());
  std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: " + std::string(5000, 'a') + "\r\n\r\n";
  s.write_all(request);  // may fail part way once the server has answered and closed
  const auto deadline = Clock::now() + 5s;
  auto head = s.read_head(deadline);
  REQUIRE(head);
  CHECK(head->rfind("HTTP/1.1 431", 0) == 0);
  CHECK(s.wait_closed(deadline));
  CHECK(normal_echo(server));
}

TEST_CASE("header flood: more than 100 header fields gets 431 and a close; the server keeps serving") {
  EchoServer server;
  Socket s = server.connect();
  REQUIRE(s.valid());
  std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 101; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  request += "\r\n";
  REQUIRE(request.size() < 4096);  // the field count alone is what is over
  s.write_all(request);
  const auto deadline = Clock::now() + 5s;
  auto head = s.read_head(deadline);
  REQUIRE(head);
  CHECK(head->rfind("HTTP/1.1 431", 0) == 0);
  CHECK(s.wait_closed(deadline));
  CHECK(normal_echo(server));
}

// One text echo on an open connection; false if it does not come back whole within 5 s.
bool echo_on(Socket& s, const std::string& text) {
  if (!s.write_all(raw_peer::frame(0x1, true, text))) return false;
  auto echo = s.read_frame(Clock::now() + 5s);
  return echo && echo->opcode == 0x1 && echo->fin && echo->payload == text;
}

TEST_CASE("fragment flood: 1,000,000 one-byte fragments get 1009 at inbound_buffer_size, the server's memory stays bounded, and another client is served during and after") {
  const std::string program = GENERATE("echo_server", "echo_server_poll");
  INFO(program);
  constexpr int kFragments = 1000000;
  constexpr std::size_t kInbound = 65536;
  // A small receive ring, so what the server may legitimately hold is small next to what a
  // per-fragment cost would add up to.
  EchoServer server({"--inbound-buffer-size", std::to_string(kInbound), "--receive-buffers", "4",
                     "--receive-buffers-at-start", "4", "--receive-buffer-size", "16384"},
                    program);
  Socket bystander = server.connect();
  REQUIRE(bystander.valid());
  REQUIRE(bystander.handshake(Clock::now() + 5s));
  REQUIRE(echo_on(bystander, "before"));
  Socket s = server.connect();
  REQUIRE(s.valid());
  REQUIRE(s.handshake(Clock::now() + 5s));
  const long rss_before = raw_peer::proc_status_kib(server.process.pid(), "VmRSS");
  REQUIRE(rss_before > 0);
  // A small send buffer, so what we manage to write tracks what the server read.
  int sndbuf = 16384;
  setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  const std::string first = raw_peer::frame(0x2, false, "x");
  const std::string more = raw_peer::frame(0x0, false, "x");
  const std::size_t total = first.size() + std::size_t(kFragments - 1) * more.size();
  std::string stream;
  stream.reserve(total);
  stream += first;
  for (int i = 1; i < kFragments; ++i) stream += more;

  // Write without blocking, at most 16 KiB at a time; after every write that got through, the
  // bystander sends a message and waits for its echo; until the server's close arrives or the
  // writes fail.
  constexpr std::size_t kChunk = 16384;
  fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) | O_NONBLOCK);
  std::size_t written = 0;
  int echoes_during = 0;
  bool bystander_served = true;
  std::optional<raw_peer::Frame> close;
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline && !close && bystander_served) {
    bool progress = false;
    if (written < stream.size()) {
      ssize_t n = ::send(s.fd(), stream.data() + written, std::min(kChunk, stream.size() - written), MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        break;
      }
    }
    if (progress) {
      bystander_served = echo_on(bystander, "during " + std::to_string(echoes_during));
      echoes_during += bystander_served ? 1 : 0;
    }
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, progress ? 0 : 50) > 0) close = s.read_frame(Clock::now() + 1s);
  }
  if (!close) close = s.read_frame(Clock::now() + 5s);
  const long hwm = raw_peer::proc_status_kib(server.process.pid(), "VmHWM");
  INFO("wrote " << written << " of " << total << " bytes; bystander echoes during the flood: "
                << echoes_during << "; server RSS before " << rss_before << " KiB, peak " << hwm << " KiB");
  CHECK(bystander_served);
  REQUIRE(close);
  CHECK(close->opcode == 0x8);
  CHECK(close->close_code() == 1009);
  // The server ends the connection after its close (RFC 6455 §7.1.7).
  CHECK(s.wait_closed(Clock::now() + 5s));
  // It read every fragment up to the one past the limit before deciding: 65,537 of them.
  const std::size_t needed = first.size() + kInbound * more.size();
  CHECK(written >= needed);
  // Served during the flood: those bytes took at least needed / kChunk writes, each followed
  // by an echo before the close could be seen.
  CHECK(echoes_during >= static_cast<int>(needed / kChunk));
  // What the server held stayed bounded (the whole stream is 7 MB; the message at most 64 KiB).
  CHECK(hwm - rss_before < kFragmentFloodGrowthKiB);
  // And after.
  CHECK(echo_on(bystander, "after"));
  CHECK(normal_echo(server));
}

TEST_CASE("ping flood: 100,000 pings never read back keep the server's memory bounded, and every pong comes later") {
  constexpr int kPings = 100000;
  EchoServer server;
  const long rss_before = raw_peer::proc_status_kib(server.process.pid(), "VmRSS");
  REQUIRE(rss_before > 0);
  Socket s = server.connect();
  REQUIRE(s.valid());
  REQUIRE(s.handshake(Clock::now() + 5s));
  const std::string payload(125, 'p');  // the largest control payload (RFC 6455 §5.5)
  const std::string ping = raw_peer::frame(0x9, true, payload);

  fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) | O_NONBLOCK);
  std::string stream;
  for (int i = 0; i < kPings; ++i) stream += ping;
  std::size_t written = 0;
  // Write until everything is out or the writes stall for a second (the server stopped reading).
  auto last_progress = Clock::now();
  const auto deadline = Clock::now() + 30s;
  while (written < stream.size() && Clock::now() < deadline && Clock::now() - last_progress < 1s) {
    ssize_t n = ::send(s.fd(), stream.data() + written, stream.size() - written, MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      last_progress = Clock::now();
    } else {
      REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
      pollfd p{s.fd(), POLLOUT, 0};
      ::poll(&p, 1, 50);
    }
  }
  const long hwm = raw_peer::proc_status_kib(server.process.pid(), "VmHWM");
  INFO("wrote " << written << " of " << stream.size() << " bytes; server RSS before " << rss_before
                << " KiB, peak " << hwm << " KiB");
  // 12.6 MB of pings: were they all held as owed pongs the peak would grow by that much.
  CHECK(hwm - rss_before < kPingFloodGrowthKiB);

  // Now read: every pong, in order, and the rest of the pings go through as we drain.
  fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) & ~O_NONBLOCK);
  int pongs = 0;
  const auto read_deadline = Clock::now() + 60s;
  fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) | O_NONBLOCK);
  while (pongs < kPings && Clock::now() < read_deadline) {
    if (written < stream.size()) {
      ssize_t n = ::send(s.fd(), stream.data() + written, stream.size() - written, MSG_NOSIGNAL);
      if (n > 0) written += static_cast<std::size_t>(n);
    }
    auto f = s.read_frame(Clock::now() + 100ms);
    if (!f) continue;
    if (f->opcode != 0xA || f->payload != payload) break;
    ++pongs;
  }
  CHECK(pongs == kPings);
}

TEST_CASE("an RST in the middle of a frame drops that connection only; the server keeps serving") {
  EchoServer server;
  for (int i = 0; i < 20; ++i) {
    Socket s = server.connect();
    REQUIRE(s.valid());
    REQUIRE(s.handshake(Clock::now() + 5s));
    std::string f = raw_peer::frame(0x2, true, std::string(100000, 'r'));
    REQUIRE(s.write_all(f.substr(0, f.size() / 2)));
    s.reset();
  }
  CHECK(normal_echo(server));
  // The server process is still there (no crash on the reset).
  CHECK_FALSE(server.process.wait(10ms));
}
