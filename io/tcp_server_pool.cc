#include "io/tcp_server_pool.h"

#include <signal.h>

#include <latch>
#include <mutex>
#include <optional>
#include <time.h>

#include "io/event.h"
#include "io/signals.h"
#include "io/tcp_listener.h"

namespace io {

namespace {

Task<void> accept_loop(TcpListener& listener, ServerShard& shard) {
  for (;;) {
    auto tcp = co_await listener.accept();
    if (!tcp) co_return;  // closed
    shard.accepted(std::move(*tcp));
  }
}

Task<void> shut_down_when_asked(Reactor& reactor, Event& asked, std::optional<TcpListener>& listener,
                                ServerShard& shard) {
  co_await asked.wait();
  if (listener) listener->close();
  co_await shard.shut_down();
  reactor.stop();
}

}  // namespace

Result<int> TcpServerPool::serve(const MakeShard& make,
                                 const std::function<void(std::uint16_t port)>& listening) {
  if (auto blocked = block_signals({SIGINT, SIGTERM}); !blocked) return blocked.error();
  pool_ = std::make_unique<ReactorPool>(ReactorPool::Options{options_.threads, options_.reactor});
  const std::size_t n = pool_->size();
  std::latch first_bound(1), all_bound(static_cast<std::ptrdiff_t>(n));
  std::atomic<std::uint16_t> port{options_.port};
  std::mutex failure_mutex;
  std::error_code failure;
  std::vector<Event*> stop_events(n, nullptr);  // one per thread, set by posted work
  const TcpListener::Options listen_options{.backlog = options_.backlog, .reuse_port = n > 1, .v6_only = false};

  pool_->start([&](std::size_t index, Reactor& reactor) {
    // Thread 0 binds first, so the others share the port it got when asked for any.
    if (index > 0) first_bound.wait();
    std::optional<TcpListener> listener;
    if (auto bound = TcpListener::bind(reactor, options_.host, port, listen_options)) {
      listener = std::move(*bound);
      if (index == 0) port = listener->local_port();
    } else {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = bound.error();
    }
    Event stop_asked(reactor);
    stop_events[index] = &stop_asked;
    std::unique_ptr<ServerShard> shard = make(index, reactor);
    if (listener) reactor.spawn(accept_loop(*listener, *shard));
    reactor.spawn(shut_down_when_asked(reactor, stop_asked, listener, *shard));
    if (index == 0) first_bound.count_down();
    all_bound.count_down();
    reactor.run_until_stopped();  // until the stop posted below ran its course
    reactor.cancel_all();         // the shard's tasks end before the shard
    shard.reset();
  });
  all_bound.wait();
  int signal = 0;
  if (failure) {
    stop_requested_ = true;
  } else {
    listening(port);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  while (!stop_requested_) {
    const timespec tick{0, 50'000'000};  // stop() is polled at this pace
    const int got = sigtimedwait(&signals, nullptr, &tick);
    if (got > 0) {
      signal = got;
      break;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    // The shard and its listener belong to that thread: it is asked through its ring.
    pool_->reactors()[i]->post([asked = stop_events[i]] { asked->set(); });
  }
  pool_->join();
  pool_.reset();
  if (failure) return failure;
  return signal;
}

}  // namespace io
