// Waiting for POSIX signals as a coroutine: the signals are blocked for the process and read
// from a signalfd through the ring, so a server's shutdown is just another awaited event.
#pragma once

#include <signal.h>

#include <vector>

#include "io/reactor.h"
#include "io/result.h"

namespace io {

// Blocks `signals` (call it before starting threads, so every thread inherits the mask) and
// returns the first of them that arrives.
Task<Result<int>> wait_for_signal(Reactor& reactor, std::vector<int> signals);

// Blocks `signals` in the calling thread, whose threads started later inherit it: a process
// with several threads must do this before starting them, so a signal waits for its signalfd
// instead of killing the process through a thread that did not block it.
Result<void> block_signals(const std::vector<int>& signals);

}  // namespace io

namespace io {
// SIGINT or SIGTERM: how a server is asked to stop.
inline Task<Result<int>> wait_for_termination_signal(Reactor& reactor) {
  return wait_for_signal(reactor, {SIGINT, SIGTERM});
}
}  // namespace io
