#include "io/reactor_pool.h"

#include <sched.h>

#include <barrier>
#include <exception>
#include <mutex>

#include "io/log.h"

namespace io {

struct ReactorPool::Shared {
  explicit Shared(std::ptrdiff_t n) : made(n + 1), done(n) {}
  std::barrier<> made;  // every reactor exists (the caller of start() counts too)
  std::barrier<> done;  // every body returned: no reactor posts any more
  std::mutex mutex;
  std::exception_ptr failure;  // a reactor that could not be made
};

unsigned ReactorPool::available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

ReactorPool::ReactorPool(Options options)
    : options_(options), threads_(options.threads ? options.threads : available_cpus()) {}

ReactorPool::~ReactorPool() {
  stop();
  join();
}

void ReactorPool::start(ThreadBody body) {
  shared_ = std::make_shared<Shared>(threads_);
  reactors_.assign(threads_, nullptr);
  for (unsigned i = 0; i < threads_; ++i) {
    workers_.emplace_back([this, i, body, shared = shared_] {
      std::unique_ptr<Reactor> reactor;
      try {
        reactor = std::make_unique<Reactor>(options_.reactor);
      } catch (...) {
        std::lock_guard lock(shared->mutex);
        shared->failure = std::current_exception();
      }
      reactors_[i] = reactor.get();
      shared->made.arrive_and_wait();
      if (reactor && !shared->failure) body(i, *reactor);
      shared->done.arrive_and_wait();
      std::lock_guard lock(shared->mutex);  // stop() must not post to a reactor going away
      reactors_[i] = nullptr;
      reactor.reset();
    });
  }
  shared_->made.arrive_and_wait();
  if (shared_->failure) {
    join();
    std::rethrow_exception(shared_->failure);
  }
}

void ReactorPool::stop() {
  if (!shared_) return;
  std::lock_guard lock(shared_->mutex);
  for (Reactor* r : reactors_) {
    if (r) r->request_stop();
  }
}

void ReactorPool::join() {
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  reactors_.clear();
  shared_.reset();
}

}  // namespace io
