// TcpServerPool: a TCP server on every core. N reactor threads (io::ReactorPool), each with
// its own io_uring and its own listening socket on the same port (SO_REUSEPORT: the kernel
// spreads new connections over them by address hash); a connection stays on the reactor that
// accepted it. SIGINT/SIGTERM (or stop()) has every thread's shard close its connections, then
// every reactor stops.
//
//   struct EchoShard : io::ServerShard { ... };    // one per reactor thread
//   io::TcpServerPool server({.port = 9001, .threads = 2});
//   server.serve([](std::size_t, io::Reactor& r) { return std::make_unique<EchoShard>(r); },
//                [](std::uint16_t port) { std::printf("listening on %u\n", port); });
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "io/reactor.h"
#include "io/reactor_pool.h"
#include "io/result.h"
#include "io/task.h"
#include "io/tcp_stream.h"

namespace io {

// What a server does on one reactor thread: made, used and destroyed on that thread.
class ServerShard {
 public:
  virtual ~ServerShard() = default;
  // A connection this shard's listener accepted.
  virtual void accepted(TcpStream stream) = 0;
  // The server stops: no more connections come. Ends the open ones (for WebSocket: a 1001
  // close each) and returns once they are gone, or gives up after its own deadline.
  virtual Task<void> shut_down() = 0;
};

class TcpServerPool {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port, the same for every thread
    unsigned threads = 0;    // 0: one per CPU this process may run on
    Reactor::Options reactor;
    int backlog = 4096;
  };
  using MakeShard = std::function<std::unique_ptr<ServerShard>(std::size_t index, Reactor& reactor)>;

  explicit TcpServerPool(Options options) : options_(std::move(options)) {}

  // Blocks SIGINT and SIGTERM (for the threads it starts too), listens, calls `listening`
  // with the port once every thread listens, and serves until one of those signals or stop().
  // Returns the signal (0 for stop()), or why it could not listen.
  Result<int> serve(const MakeShard& make, const std::function<void(std::uint16_t port)>& listening);
  // From any thread (or a shard): ends serve() as a signal would.
  void stop() { stop_requested_ = true; }

  std::size_t threads() const { return pool_ ? pool_->size() : 0; }
  // The pool's reactors while serving (for io::Reactor::post or a wsp::PubSub over them).
  const std::vector<Reactor*>& reactors() const { return pool_->reactors(); }

 private:
  Options options_;
  std::unique_ptr<ReactorPool> pool_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace io
