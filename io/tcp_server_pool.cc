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

Task<void> accept_loop(TcpListener& listener, ServerShard& shard, std::uint64_t& accepted) {
  for (;;) {
    auto tcp = co_await listener.accept();
    if (!tcp) co_return;  // closed
    ++accepted;
    shard.accepted(std::move(*tcp));
  }
}

// Accept::one_acceptor, on thread 0: connection k goes to inbox k mod n.
Task<void> accept_and_hand_over(TcpListener& listener, const std::vector<std::unique_ptr<ShardInbox>>& inboxes) {
  std::size_t next = 0;
  for (;;) {
    auto fd = co_await listener.accept_fd();
    if (!fd) co_return;  // closed
    inboxes[next]->hand_over(std::move(*fd));
    next = next + 1 == inboxes.size() ? 0 : next + 1;
  }
}

Task<void> shut_down_when_asked(Reactor& reactor, Event& asked, std::optional<TcpListener>& listener,
                                ShardInbox& inbox, ServerShard& shard) {
  co_await asked.wait();
  if (listener) listener->close();
  inbox.close();  // the shard's shut_down() would not see a connection that came later
  co_await shard.shut_down();
  reactor.stop();
}

}  // namespace

void ShardInbox::hand_over(FileDescriptor fd) {
  if (Reactor::current_if_any() == &reactor_) {
    arrive(std::move(fd));
    return;
  }
  // Should the reactor end first, discarding the post destroys the lambda: the fd is closed.
  reactor_.post([this, fd = std::move(fd)]() mutable { arrive(std::move(fd)); });
}

void ShardInbox::arrive(FileDescriptor fd) {
  if (closed_) {
    ++closed_on_arrival_;
    return;  // `fd` closes here
  }
  ++delivered_;
  shard_.accepted(TcpStream(reactor_, std::move(fd)));
}

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
  const bool one_acceptor = options_.accept == Accept::one_acceptor;
  const TcpListener::Options listen_options{
      .backlog = options_.backlog, .reuse_port = n > 1 && !one_acceptor, .v6_only = false};
  // Made by each thread, kept until every thread ended: the acceptor may still hand a
  // connection to a thread that already stopped (its reactor then closes it).
  std::vector<std::unique_ptr<ShardInbox>> inboxes(n);
  connections_.assign(n, 0);

  pool_->start([&](std::size_t index, Reactor& reactor) {
    // Thread 0 binds first, so the others share the port it got when asked for any.
    if (index > 0) first_bound.wait();
    std::optional<TcpListener> listener;
    if (index == 0 || !one_acceptor) {
      if (auto bound = TcpListener::bind(reactor, options_.host, port, listen_options)) {
        listener = std::move(*bound);
        if (index == 0) port = listener->local_port();
      } else {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = bound.error();
      }
    }
    Event stop_asked(reactor);
    stop_events[index] = &stop_asked;
    std::unique_ptr<ServerShard> shard = make(index, reactor);
    inboxes[index] = std::make_unique<ShardInbox>(reactor, *shard);
    ShardInbox& inbox = *inboxes[index];
    std::uint64_t accepted = 0;
    if (listener && !one_acceptor) reactor.spawn(accept_loop(*listener, *shard, accepted));
    reactor.spawn(shut_down_when_asked(reactor, stop_asked, listener, inbox, *shard));
    if (index == 0) first_bound.count_down();
    all_bound.count_down();
    if (listener && one_acceptor) {
      all_bound.wait();  // every inbox exists
      reactor.spawn(accept_and_hand_over(*listener, inboxes));
    }
    reactor.run_until_stopped();  // until the stop posted below ran its course
    reactor.cancel_all();         // the shard's tasks end before the shard
    inbox.close();
    connections_[index] = one_acceptor ? inbox.delivered() : accepted;
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
