// Links that misbehave, made real with a network namespace this test creates: a veth pair
// between the root namespace (this process, the client) and a namespace running
// //examples:echo_server. nft drops every packet of a peer that vanishes without a FIN; tc tbf
// shapes a slow link. Needs root (ip netns); where the namespace cannot be made, WSP_SKIP says so.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "tests/interop/child_process.h"
#include "tests/skip.h"
#include "tests/wsp/raw_peer.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using raw_peer::Clock;

namespace {

// Bazel's strict test PATH lacks /usr/sbin, where tc and nft live.
bool sh(const std::string& command) {
  return std::system(("PATH=/usr/sbin:/sbin:$PATH; " + command + " >/dev/null 2>&1").c_str()) == 0;
}

// A namespace joined to ours by a veth pair: 10.213.N.1 here, 10.213.N.2 there. Deleted (with
// its veth and nft rules) when the object goes.
class Namespace {
 public:
  Namespace() {
    const int id = static_cast<int>(getpid());
    name_ = "wsp-netns-" + std::to_string(id);
    here_ = "wr" + std::to_string(id);
    there_ = "wn" + std::to_string(id);
    const std::string net = "10.213." + std::to_string(id % 250 + 1);
    local_ip_ = net + ".1";
    remote_ip_ = net + ".2";
    ok_ = sh("ip netns add " + name_);
    if (!ok_) return;
    created_ = true;
    ok_ = sh("ip link add " + here_ + " type veth peer name " + there_) &&
          sh("ip link set " + there_ + " netns " + name_) &&
          sh("ip addr add " + local_ip_ + "/24 dev " + here_) && sh("ip link set " + here_ + " up") &&
          sh(exec() + "ip addr add " + remote_ip_ + "/24 dev " + there_) &&
          sh(exec() + "ip link set " + there_ + " up") && sh(exec() + "ip link set lo up");
  }
  ~Namespace() {
    if (created_) sh("ip netns del " + name_);
    sh("ip link del " + here_);  // gone with the namespace already, unless moving it failed
  }
  bool ok() const { return ok_; }
  std::string exec() const { return "ip netns exec " + name_ + " "; }
  const std::string& name() const { return name_; }
  const std::string& remote_ip() const { return remote_ip_; }
  // tc tbf on both ends of the link.
  bool shape(const std::string& rate) {
    const std::string tbf = " root tbf rate " + rate + " burst 32kb latency 100ms";
    return sh("tc qdisc add dev " + here_ + tbf) && sh(exec() + "tc qdisc add dev " + there_ + tbf);
  }
  // Every packet in and out of the namespace dropped, silently: no FIN, no RST.
  bool drop_everything() {
    return sh(exec() + "nft add table inet wsp_drop") &&
           sh(exec() + "nft 'add chain inet wsp_drop in { type filter hook input priority 0 ; policy drop ; }'") &&
           sh(exec() + "nft 'add chain inet wsp_drop out { type filter hook output priority 0 ; policy drop ; }'");
  }

 private:
  std::string name_, here_, there_, local_ip_, remote_ip_;
  bool ok_ = false, created_ = false;
};

struct EchoServerIn {
  ChildProcess process;
  std::string url;

  EchoServerIn(const Namespace& ns, std::vector<std::string> options)
      : process(command(ns, std::move(options))) {
    const std::string line = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on " + ns.remote_ip() + ":";
    REQUIRE(line.rfind(prefix, 0) == 0);
    url = "ws://" + ns.remote_ip() + ":" + line.substr(prefix.size()) + "/";
  }
  static std::vector<std::string> command(const Namespace& ns, std::vector<std::string> options) {
    // `ip netns exec` execs the server, so the child's pid is the server's.
    std::vector<std::string> argv{"/usr/sbin/ip", "netns", "exec", ns.name(),
                                  interop::runfile("wsp/examples/echo_server"), "--host", ns.remote_ip(),
                                  "--port", "0"};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }
};

long ms(Clock::duration d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

}  // namespace

TEST_CASE("a peer that vanishes without a FIN is noticed by the heartbeat: CLOSED with -1 within 2 x heartbeat_interval") {
  Namespace ns;
  if (!ns.ok()) WSP_SKIP("cannot create a network namespace with a veth pair (not root?)");
  if (!sh("command -v nft")) WSP_SKIP("nft is not installed (tools/setup.sh installs nftables)");
  EchoServerIn server(ns, {});
  constexpr double kHeartbeat = 1.0;

  io::Reactor reactor;
  wsp::Received received;
  bool echoed = false;
  Clock::time_point dropped, ended;
  reactor.sync_wait([&]() -> io::Task<void> {
    wsp::ConnectOptions options;
    options.limits.heartbeat_interval = kHeartbeat;
    auto ws = co_await wsp::connect(reactor, server.url, options);
    if (!ws) co_return;
    io::Result<void> sent = co_await (*ws)->send_text("before");
    if (!sent) co_return;
    wsp::Received echo = co_await (*ws)->receive();
    echoed = !echo.closed && echo.data == "before";
    if (!ns.drop_everything()) co_return;
    dropped = Clock::now();
    received = co_await (*ws)->receive();
    ended = Clock::now();
  }());
  REQUIRE(echoed);
  REQUIRE(dropped != Clock::time_point{});
  CHECK(received.closed);
  CHECK(received.close_code == -1);
  INFO("closed " << ms(ended - dropped) << " ms after the drop");
  CHECK(ended - dropped <= std::chrono::milliseconds(static_cast<long>(2 * kHeartbeat * 1000)));
}

TEST_CASE("a 16 MiB message each way over a tbf-shaped link arrives whole, with the server's memory bounded by its limits") {
  Namespace ns;
  if (!ns.ok()) WSP_SKIP("cannot create a network namespace with a veth pair (not root?)");
  REQUIRE(ns.shape("200mbit"));
  constexpr long kMessage = 16L << 20;
  constexpr long kLimit = kMessage + (1L << 20);
  EchoServerIn server(ns, {"--inbound-buffer-size", std::to_string(kLimit), "--outbound-buffer-size",
                           std::to_string(kLimit)});
  const long rss_before = raw_peer::proc_status_kib(server.process.pid(), "VmRSS");
  REQUIRE(rss_before > 0);

  std::string message(static_cast<std::size_t>(kMessage), '\0');
  std::mt19937_64 random(12);
  for (std::size_t i = 0; i + 8 <= message.size(); i += 8) {
    const std::uint64_t r = random();
    std::memcpy(&message[i], &r, 8);
  }

  io::Reactor reactor;
  wsp::Received echo;
  bool sent = false;
  const auto start = Clock::now();
  reactor.sync_wait([&]() -> io::Task<void> {
    wsp::ConnectOptions options;
    options.limits.inbound_buffer_size = static_cast<std::size_t>(kLimit);
    options.limits.outbound_buffer_size = static_cast<std::size_t>(kLimit);
    auto ws = co_await wsp::connect(reactor, server.url, options);
    if (!ws) co_return;
    auto result = co_await (*ws)->send_binary(message);
    sent = bool(result);
    if (!sent) co_return;
    echo = co_await (*ws)->receive();
    co_await (*ws)->close(1000);
  }());
  const auto took = Clock::now() - start;
  const long hwm = raw_peer::proc_status_kib(server.process.pid(), "VmHWM");
  INFO("round trip " << ms(took) << " ms; server RSS before " << rss_before << " KiB, peak " << hwm << " KiB");
  REQUIRE(sent);
  REQUIRE_FALSE(echo.closed);
  CHECK_FALSE(echo.text);
  CHECK(echo.data.size() == message.size());
  CHECK(echo.data == message);  // byte for byte
  // The message in, then the same buffer out (given away, not copied): at most the two limits
  // plus 16 MiB for the reactor's receive ring and allocator slack.
  CHECK(hwm - rss_before <= (2 * kLimit + (16L << 20)) / 1024);
  // At 200 Mbit/s each way 16 MiB takes about 0.7 s: the shaping really was there.
  CHECK(took >= 1s);
}
