// ReactorPool: N threads, one reactor each, for a server that uses every core. A connection
// lives on one reactor for its whole life; reactors talk through
// Reactor::post (no lock on the hot path).
//
//   io::block_signals({SIGINT, SIGTERM});     // before the threads start: signalfd needs it
//   io::ReactorPool pool({.threads = 2});
//   pool.run([&](std::size_t index, io::Reactor& reactor) {
//     Shard shard(reactor);                   // this thread's listener, connections, state
//     reactor.spawn(shard.accept_loop());
//     reactor.run_until_stopped();            // until pool.stop() / reactor.request_stop()
//     reactor.cancel_all();                   // tasks end before `shard` goes
//   });
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "io/reactor.h"

namespace io {

class ReactorPool {
 public:
  struct Options {
    unsigned threads = 0;  // 0: one per CPU this process may run on
    Reactor::Options reactor;
  };
  using ThreadBody = std::function<void(std::size_t index, Reactor& reactor)>;

  explicit ReactorPool(Options options);
  ~ReactorPool();  // stop() and join()
  ReactorPool(const ReactorPool&) = delete;
  ReactorPool& operator=(const ReactorPool&) = delete;

  // Starts the threads. Each makes its reactor (a ring belongs to the thread that made it);
  // once all exist, start() returns and each thread runs `body`. A reactor is destroyed only
  // after every body returned, so reactors can post to each other until the end.
  void start(ThreadBody body);
  // start(), then join(): runs the pool on the calling thread's behalf until it is stopped.
  void run(ThreadBody body) {
    start(std::move(body));
    join();
  }
  // From any thread: asks every reactor to stop (Reactor::request_stop).
  void stop();
  // Waits until every thread ended.
  void join();

  std::size_t size() const { return threads_; }
  // Valid between start() and join()'s end.
  Reactor& reactor(std::size_t index) { return *reactors_[index]; }
  const std::vector<Reactor*>& reactors() const { return reactors_; }

  // CPUs this process may run on (sched_getaffinity), at least 1.
  static unsigned available_cpus();

 private:
  struct Shared;
  Options options_;
  unsigned threads_;
  std::vector<Reactor*> reactors_;
  std::vector<std::thread> workers_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace io
