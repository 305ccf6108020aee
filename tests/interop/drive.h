// Driving the reactor from a test with a deadline: `await` runs one task to completion (the
// connection's own reader/writer tasks run meanwhile), `poll_until` polls a WebSocketPeer.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <thread>

#include "io/operation.h"
#include "io/reactor.h"
#include "io/task.h"

namespace interop {

template <typename T>
io::Task<void> store_result(io::Task<T> task, std::optional<T>* out, bool* done) {
  out->emplace(co_await std::move(task));
  *done = true;
}

inline io::Task<void> store_done(io::Task<void> task, bool* done) {
  co_await std::move(task);
  *done = true;
}

inline void drive(io::Reactor& reactor, const bool& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    reactor.run_once(std::chrono::milliseconds(10));
  }
  if (!done) throw std::runtime_error("the task did not finish in time");
}

template <typename T>
T await(io::Reactor& reactor, io::Task<T> task,
        std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  std::optional<T> out;
  bool done = false;
  reactor.spawn(store_result(std::move(task), &out, &done));
  drive(reactor, done, timeout);
  return std::move(*out);
}

inline void await(io::Reactor& reactor, io::Task<void> task,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  bool done = false;
  reactor.spawn(store_done(std::move(task), &done));
  drive(reactor, done, timeout);
}

// Runs the reactor for `duration` (timers, heartbeats and I/O go on meanwhile).
inline void run_for(io::Reactor& reactor, std::chrono::milliseconds duration) {
  auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) reactor.run_once(std::chrono::milliseconds(10));
}

// Calls `poll` until `done()` holds; false if `timeout` passes first.
inline bool poll_until(const std::function<void()>& poll, const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    poll();
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

}  // namespace interop
