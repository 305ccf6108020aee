// TcpServerPool: a TCP server on every core. N reactor threads (io::ReactorPool), each with
// its own io_uring. Connections reach them one of two ways (Options::accept):
// - reuseport: each thread has its own listening socket on the same port (SO_REUSEPORT: the
//   kernel spreads new connections over them by a hash of the 4-tuple, so not evenly);
// - one_acceptor: thread 0 owns the only listening socket, accepts, and hands each connection
//   to the next thread round-robin (itself included) through Reactor::post.
// Either way a connection lives on one reactor for its whole life. SIGINT/SIGTERM (or stop())
// has every thread's shard close its connections, then every reactor stops; a connection still
// on its way between reactors is closed.
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
#include <vector>

#include "io/file_descriptor.h"
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
  // close each) and those still in their handshake (once they open), and returns once they are
  // gone, or gives up after its own deadline: the reactor stops when this returns.
  virtual Task<void> shut_down() = 0;
};

// One reactor's end of the hand-over in TcpServerPool::Accept::one_acceptor: connections
// accepted on another reactor arrive here as descriptors and become TcpStreams on this one.
class ShardInbox {
 public:
  ShardInbox(Reactor& reactor, ServerShard& shard) : reactor_(reactor), shard_(shard) {}
  ShardInbox(const ShardInbox&) = delete;
  ShardInbox& operator=(const ShardInbox&) = delete;

  // From any thread (the reactor must be alive). On this reactor's thread the shard gets the
  // connection at once, from another on one of the reactor's next turns (one post). Closed
  // instead once close() was called, or when the reactor ends before it runs the post.
  void hand_over(FileDescriptor fd);
  // On the reactor's thread: connections handed over from now on are closed on arrival.
  void close() { closed_ = true; }

  // On the reactor's thread.
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t closed_on_arrival() const { return closed_on_arrival_; }

 private:
  void arrive(FileDescriptor fd);

  Reactor& reactor_;
  ServerShard& shard_;
  bool closed_ = false;
  std::uint64_t delivered_ = 0;
  std::uint64_t closed_on_arrival_ = 0;
};

class TcpServerPool {
 public:
  // How connections reach the reactors (see the top of this file; docs/threads-and-pubsub.md
  // has the measurement behind the default).
  enum class Accept { reuseport, one_acceptor };
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port, the same for every thread
    unsigned threads = 0;    // 0: one per CPU this process may run on
    Reactor::Options reactor;
    int backlog = 4096;
    Accept accept = Accept::reuseport;
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
  // After serve() returned: the connections each reactor's shard was given, by index.
  const std::vector<std::uint64_t>& connections_per_reactor() const { return connections_; }
  // The pool's reactors while serving (for io::Reactor::post or a wsp::PubSub over them).
  const std::vector<Reactor*>& reactors() const { return pool_->reactors(); }

 private:
  Options options_;
  std::unique_ptr<ReactorPool> pool_;
  std::vector<std::uint64_t> connections_;  // each written by its own thread only
  std::atomic<bool> stop_requested_{false};
};

}  // namespace io
