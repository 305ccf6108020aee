// What wsp-load's threads share: the run's phases (set once, read by every worker with relaxed
// loads of a cache line nobody writes to after), the fanout sender's progress and pace, the
// kinds of error, and one second of one thread's figures as a worker hands it to the main
// thread.
#pragma once

#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "io/socket_address.h"
#include "tools/load/fanout_pace.h"
#include "tools/load/histogram.h"
#include "wsp/protocol/url.h"

namespace io {
class Reactor;
}
namespace tls {
class TLSOptions;
}

namespace wsp_load {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

inline std::int64_t now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

enum class ErrorKind : int {
  connect,    // TCP connect failed or timed out
  handshake,  // TLS or the HTTP upgrade failed or timed out
  mismatch,   // a reply that is not byte for byte what was sent (or out of order, or unasked)
  closed,     // the server closed or dropped a connection during the run
  protocol,   // the connection failed on a protocol error (1002, 1007, 1009 ...)
  lost,       // sent and never answered by the end of the drain
};
constexpr int kErrorKinds = 6;
inline const char* error_name(int kind) {
  static constexpr const char* kNames[kErrorKinds] = {"connect", "handshake", "mismatch",
                                                      "closed",  "protocol",  "lost"};
  return kNames[kind];
}
using ErrorCounts = std::array<std::uint64_t, kErrorKinds>;

// A URL, resolved once for every connection to it.
struct Target {
  std::string url;
  wsp::WebSocketUrl parsed;
  io::SocketAddress address;
  std::shared_ptr<tls::TLSOptions> tls;  // wss:// only
};

struct RunPhases {
  std::int64_t start_ns = 0;  // connecting begins
  // Set once by the worker whose connection attempt was the last to finish: open-loop senders
  // and the fanout sender start at load_start, measuring at window_start.
  std::atomic<std::int64_t> load_start{kNever};
  std::atomic<std::int64_t> window_start{kNever};
  std::atomic<std::int64_t> window_end{kNever};  // sending stops here
  std::atomic<int> attempts_done{0};
  std::atomic<int> opened{0};
  // Fanout: open connections that received anything from the server (a chat server's join
  // notice): only then is a member known to be subscribed.
  std::atomic<int> heard_from_server{0};
  // Fanout: how many messages the sender has sent (receivers drain up to it), and whether it
  // has stopped sending (set by thread 0, the sender's, once the window is over).
  std::atomic<std::uint64_t> fanout_sent{0};
  std::atomic<bool> fanout_done{false};

  // --fanout-pace all (closed-loop fanout): each thread publishes its slowest subscriber for
  // the sender on thread 0, and wakes thread 0 when it changes.
  struct alignas(64) ThreadSlowest {  // a cache line each: one writer, read by thread 0
    std::atomic<std::uint64_t> next{kNoSubscriberWaiting};  // the lowest seq still expected
    std::atomic<bool> wake_posted{false};  // a wake-up of thread 0 is on its way: not another
  };
  std::unique_ptr<ThreadSlowest[]> slowest;  // one per thread, made by main
  // Thread 0's reactor once it runs, and what a wake-up does there (set before the reactor is).
  std::atomic<io::Reactor*> sender_reactor{nullptr};
  std::function<void()> recheck_fanout_pace;
  // The other threads whose reactor is gone. Thread 0 keeps its reactor until all are: a
  // wake-up posted during a turn reaches it only at the end of its poster's turn.
  std::atomic<int> reactors_gone{0};
};

// One second of one thread (merged across threads by the main thread).
struct SecondSample {
  int second = 0;  // since the start: [second, second + 1) s
  double length_s = 1;  // less for the last one, published when the worker stops
  std::uint64_t sent = 0;
  std::uint64_t received = 0;  // replies (echo) or receipts (fanout)
  ErrorCounts errors{};
  std::uint64_t open = 0;      // connections open at its end
  std::unique_ptr<Histogram> latency;
};

}  // namespace wsp_load
