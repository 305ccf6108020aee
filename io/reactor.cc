#include "io/reactor.h"

#include <malloc.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "io/buffer_ring.h"
#include "io/frame_pool.h"
#include "io/log.h"
#include "io/manual_clock.h"
#include "io/monotonic_clock.h"
#include "io/timeout_list.h"

namespace io {

namespace {

thread_local Reactor* current_reactor = nullptr;
thread_local std::unique_ptr<Reactor> default_reactor;

// user_data values that carry no Completion (completions are at least 8-byte aligned, so the
// low bits are free): the doorbell CQE a sender posts into this ring, the eventfd read, and a
// doorbell this ring failed to deliver (the target's address | kFailedBellTag).
constexpr std::uintptr_t kDoorbell = 1;
constexpr std::uintptr_t kWakeRead = 3;
constexpr std::uintptr_t kFailedBellTag = 2;
// A Completion's second request: its address | kSecondRequestTag.
constexpr std::uintptr_t kSecondRequestTag = 4;
constexpr std::uintptr_t kTagMask = 7;

// IORING_FEAT_MIN_TIMEOUT (Linux 6.12), newer than liburing 2.3's headers: the wait argument's
// former padding is a minimum wait, in microseconds, for the requested number of completions.
constexpr unsigned kFeatMinTimeout = 1U << 15;

// SIGPIPE must never kill a server: sends use MSG_NOSIGNAL, and this covers plain writes.
void ignore_sigpipe_once() {
  static const bool done = [] {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, nullptr);
    return true;
  }();
  (void)done;
}

}  // namespace

// --- reactor -----------------------------------------------------------------------------

Reactor::Reactor() : Reactor(Options{}) {}

Reactor::Reactor(Options options) : options_(options) {
  ignore_sigpipe_once();
  struct Attempt {
    unsigned flags;
    const char* name;
  };
  // Newest first: one issuer with deferred task work gives the fewest interrupts and lets
  // completions be processed only when the loop asks for them.
  const Attempt attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN"},
      {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
      {0, "default"},
  };
  int rc = -EINVAL;
  for (const Attempt& a : attempts) {
    io_uring_params params{};
    params.flags = a.flags | IORING_SETUP_CQSIZE;
    params.cq_entries = std::max(options.completion_entries, options.entries);
    rc = io_uring_queue_init_params(options.entries, &ring_, &params);
    if (rc == 0) {
      setup_mode_ = a.name;
      defer_taskrun_ = a.flags & IORING_SETUP_DEFER_TASKRUN;
      break;
    }
  }
  if (rc != 0) {
    // Construction is the one place that cannot report through a Result.
    throw std::system_error(-rc, std::system_category(), "io_uring_queue_init");
  }
  if (!(ring_.features & IORING_FEAT_SUBMIT_STABLE)) {  // Linux 5.5: message_header() needs it
    io_uring_queue_exit(&ring_);
    throw std::runtime_error("io_uring: the kernel lacks IORING_FEAT_SUBMIT_STABLE (Linux 5.5)");
  }
  if (options.manual_clock) manual_clock_ = std::make_unique<ManualClock>();
  // Saves an fd lookup per io_uring_enter when accepted.
  ring_fd_registered_ = io_uring_register_ring_fd(&ring_) == 1;
  batch_waits_ = options.batch_completions > 1 && options.batch_wait.count() > 0 &&
                 (ring_.features & kFeatMinTimeout) && (ring_.features & IORING_FEAT_EXT_ARG);
  if (!options.wake_by_eventfd) {
    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
      msg_ring_ = io_uring_opcode_supported(probe, IORING_OP_MSG_RING) &&
                  (ring_.features & IORING_FEAT_CQE_SKIP);
      io_uring_free_probe(probe);
    }
  }
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC));
  if (!wake_fd_) throw std::system_error(errno, std::system_category(), "eventfd");
  arm_wake_read();
  io_uring_submit(&ring_);  // now, so the loop's first turn counts only its own submissions
  WSP_LOG_DEBUG("io_uring reactor: setup %s, %u entries", setup_mode_, options.entries);
  previous_current_ = current_reactor;
  current_reactor = this;
}

TimeoutList& Reactor::timeouts(Duration after, TimeoutList::Expired expired) {
  for (const auto& list : timeout_lists_) {
    if (list->after() == after && list->expired() == expired) return *list;
  }
  return *timeout_lists_.emplace_back(std::make_unique<TimeoutList>(*this, after, expired));
}

void Reactor::cancel_all() {
  // Their pending operations are cancelled and awaited here. One may spawn or end others while
  // it goes away, hence the passes.
  while (detached_count_ > 0) {
    for (std::size_t i = 0; i < detached_.size(); ++i) {
      if (std::coroutine_handle<> frame = detached_[i].frame) frame.destroy();
    }
  }
}

Reactor::~Reactor() {
  while (posters_ringing_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
  cancel_all();
  timeout_lists_.clear();  // their sweeping tasks ended above
  // The eventfd read writes into this object: wait for its end before the memory goes.
  if (wake_read_armed_) {
    destroying_ = true;  // not re-armed
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, kWakeRead, 0);
    io_uring_sqe_set_data(sqe, nullptr);
    while (wake_read_armed_) {
      io_uring_submit_and_wait(&ring_, 1);
      reap();
    }
  }
  for (Outgoing& o : outbox_) {
    for (PostedWork* w = o.newest; w;) {
      PostedWork* next = w->next_posted_;
      w->discard();
      w = next;
    }
  }
  for (PostedWork* w = inbox_.exchange(nullptr, std::memory_order_acquire); w;) {
    PostedWork* next = w->next_posted_;
    w->discard();
    w = next;
  }
  buffer_ring_.reset();
  io_uring_queue_exit(&ring_);
  if (current_reactor == this) current_reactor = previous_current_;
}

Reactor& Reactor::current() {
  if (current_reactor) return *current_reactor;
  default_reactor = std::make_unique<Reactor>();
  return *default_reactor;
}

Reactor* Reactor::current_if_any() { return current_reactor; }

std::size_t Reactor::advance_clock(Duration d) {
  if (!manual_clock_) throw std::logic_error("advance_clock: this reactor has no manual clock");
  return manual_clock_->advance(d);
}

bool Reactor::register_file(int fd) {
  if (registered_file_slots_ < 0) {
    // Socket numbers stay below the soft limit (the kernel also refuses a larger table).
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    const auto slots =
        static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur, options_.registered_file_slots));
    registered_file_slots_ =
        slots != 0 && io_uring_register_files_sparse(&ring_, slots) == 0 ? static_cast<int>(slots) : 0;
  }
  if (fd >= registered_file_slots_ || io_uring_register_files_update(&ring_, fd, &fd, 1) != 1) {
    return false;
  }
  ++stats_.files_registered;
  return true;
}

void Reactor::unregister_file(int fd) {
  int none = -1;
  if (io_uring_register_files_update(&ring_, fd, &none, 1) == 1) --stats_.files_registered;
}

BufferRing* Reactor::buffer_ring() {
  if (!buffer_ring_tried_) {
    buffer_ring_tried_ = true;
    Result<BufferRing*> created = errno_code(EINVAL);
    if (options_.receive_buffer_ring && options_.incremental_receive_buffers) {
      created = BufferRing::create(&ring_, options_.receive_buffers, options_.receive_buffers_at_start,
                                   options_.receive_buffer_size, true);
    }
    if (!created && options_.receive_buffer_ring) {
      created = BufferRing::create(&ring_, 128, 128, 64 * 1024, false);
    }
    if (created) {
      buffer_ring_.reset(*created);
    } else {
      WSP_LOG_DEBUG("provided buffer ring unavailable (%s): receives use their own buffers",
                    created.error().message().c_str());
    }
  }
  return buffer_ring_.get();
}

io_uring_sqe* Reactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    int n = io_uring_submit(&ring_);
    if (n > 0) stats_.sqes_submitted += n;
    ++stats_.enter_calls;
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Reactor::reserve_sqes(unsigned count) {
  if (io_uring_sq_space_left(&ring_) < count) {
    int n = io_uring_submit(&ring_);
    if (n > 0) stats_.sqes_submitted += n;
    ++stats_.enter_calls;
  }
}

void* Reactor::user_data(Completion* c, Completion::Request request) {
  if (request == Completion::Request::first) return c;
  return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(c) | kSecondRequestTag);
}

void Reactor::submit_tracked(io_uring_sqe* sqe, Completion* c, Completion::Request request) {
  io_uring_sqe_set_data(sqe, user_data(c, request));
  (request == Completion::Request::first ? c->in_flight_ : c->second_in_flight_) = true;
  ++in_flight_;
}

msghdr& Reactor::message_header(io_uring_sqe* sqe) {
  if (!message_headers_) {
    message_headers_ = std::make_unique_for_overwrite<msghdr[]>(ring_.sq.ring_entries);
  }
  return message_headers_[sqe - ring_.sq.sqes];
}

void Reactor::make_ready(ReadyNode* node, std::coroutine_handle<> h) {
  node->set_waiter(h);
  if (!node->linked()) ready_.push_back(node);
}

void Reactor::cancel_and_wait(Completion* c, Completion::Request request) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel(sqe, user_data(c, request), 0);
  io_uring_sqe_set_data(sqe, nullptr);
  while (c->in_flight(request)) {
    int n = io_uring_submit_and_wait(&ring_, 1);
    ++stats_.enter_calls;
    if (n > 0) stats_.sqes_submitted += n;
    reap();
  }
}

// --- detached tasks ----------------------------------------------------------------------

Reactor::TaskId Reactor::spawn(Task<void> task) {
  auto frame = task.release();
  std::uint32_t slot = first_free_slot_;
  if (slot != kNoSlot) {
    first_free_slot_ = detached_[slot].next_free;
  } else {
    slot = static_cast<std::uint32_t>(detached_.size());
    detached_.emplace_back();
  }
  detached_[slot].frame = frame;
  ++detached_count_;
  const TaskId id = (TaskId{detached_[slot].generation} << 32) | slot;
  frame.promise().detached_by = this;
  frame.promise().detached_id = id;
  starting_.push_back(id);
  ++stats_.tasks_spawned;
  schedule(&start_node_);  // starts on the next turn, not inside spawn()
  return id;
}

std::coroutine_handle<> Reactor::detached_frame(TaskId id) const {
  const auto slot = static_cast<std::uint32_t>(id);
  if (slot >= detached_.size() || detached_[slot].generation != id >> 32) return {};
  return detached_[slot].frame;
}

void Reactor::start_spawned() {
  // Tasks spawned by those starting now wait for the next pass of the ready list.
  std::vector<TaskId> batch;
  batch.swap(starting_);
  for (TaskId id : batch) {
    if (std::coroutine_handle<> frame = detached_frame(id)) frame.resume();  // unless cancelled
  }
  if (starting_.empty()) {
    batch.clear();
    starting_.swap(batch);  // keep the capacity
  }
}

Duration Reactor::now() const {
  if (manual_clock_) return manual_clock_->now();
  return monotonic_now();
}

bool Reactor::cancel(TaskId id) {
  std::coroutine_handle<> frame = detached_frame(id);
  if (!frame) return false;
  frame.destroy();  // its promise frees the slot
  return true;
}

namespace detail {

void detached_frame_gone(Reactor& reactor, std::uint64_t id, const std::exception_ptr& escaped) noexcept {
  if (escaped) {
    try {
      std::rethrow_exception(escaped);
    } catch (const std::exception& e) {
      WSP_LOG_ERROR("detached task ended with an exception: %s", e.what());
    } catch (...) {
      WSP_LOG_ERROR("detached task ended with an unknown exception");
    }
  }
  const auto slot = static_cast<std::uint32_t>(id);
  Reactor::DetachedSlot& entry = reactor.detached_[slot];
  entry.frame = {};
  if (++entry.generation == 0) entry.generation = 1;  // 0 would make an id of 0 possible
  entry.next_free = reactor.first_free_slot_;
  reactor.first_free_slot_ = slot;
  --reactor.detached_count_;
}

}  // namespace detail

// --- the loop ----------------------------------------------------------------------------

void Reactor::reap() {
  if (buffer_ring_) buffer_ring_->new_batch();
  io_uring_cqe* batch[256];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, batch, 256);
    if (n == 0) return;
    struct Reaped {
      Completion* c;
      int res;
      std::uint32_t flags;
    } reaped[256];
    for (unsigned i = 0; i < n; ++i) {
      reaped[i] = {static_cast<Completion*>(io_uring_cqe_get_data(batch[i])), batch[i]->res,
                   batch[i]->flags};
    }
    io_uring_cq_advance(&ring_, n);
    stats_.cqes_reaped += n;
    for (unsigned i = 0; i < n; ++i) {
      Completion* c = reaped[i].c;
      // Linked timeouts and cancel requests carry no completion; liburing's own wait timeout
      // (only without IORING_FEAT_EXT_ARG) carries LIBURING_UDATA_TIMEOUT.
      if (!c || reinterpret_cast<std::uintptr_t>(c) == LIBURING_UDATA_TIMEOUT) continue;
      const auto user_data = reinterpret_cast<std::uintptr_t>(c);
      if ((user_data & kTagMask) == kSecondRequestTag) {
        c = reinterpret_cast<Completion*>(user_data & ~kTagMask);
        if (!(reaped[i].flags & IORING_CQE_F_MORE)) {
          c->second_in_flight_ = false;
          --in_flight_;
        }
        c->on_second_complete(reaped[i].res, reaped[i].flags);
        continue;
      }
      if (user_data & kTagMask) {
        handle_tagged_cqe(user_data, reaped[i].res);
        continue;
      }
      if (!(reaped[i].flags & IORING_CQE_F_MORE)) {
        c->in_flight_ = false;
        --in_flight_;
      }
      c->on_complete(reaped[i].res, reaped[i].flags);
    }
  }
}

void Reactor::submit_and_reap(bool may_block, std::optional<Duration> timeout) {
  int n;
  if (!may_block || (timeout && timeout->count() <= 0)) {
    // With DEFER_TASKRUN completions are only posted when we ask for events.
    n = defer_taskrun_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
  } else if (batch_waits_) {
    n = submit_and_wait_batch(timeout);
  } else if (timeout) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(*timeout);
    __kernel_timespec ts{secs.count(), (*timeout - secs).count()};
    io_uring_cqe* cqe = nullptr;
    n = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    n = io_uring_submit_and_wait(&ring_, 1);
  }
  ++stats_.enter_calls;
  if (n > 0) stats_.sqes_submitted += n;
  reap();
}

int Reactor::submit_and_wait_batch(std::optional<Duration> timeout) {
  // liburing 2.3 cannot pass a minimum wait: publish the queued SQEs as io_uring_submit would
  // (no SQPOLL here), then enter directly.
  io_uring_sq& sq = ring_.sq;
  const unsigned tail = sq.sqe_tail;
  if (sq.sqe_head != tail) {
    sq.sqe_head = tail;
    io_uring_smp_store_release(sq.ktail, tail);
  }
  const unsigned to_submit = tail - *sq.khead;
  __kernel_timespec ts{};
  io_uring_getevents_arg arg{};
  arg.pad = static_cast<std::uint32_t>(options_.batch_wait.count());  // min_wait_usec
  if (timeout) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(*timeout);
    ts = {secs.count(), (*timeout - secs).count()};
    arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
  }
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int fd = ring_.ring_fd;
  if (ring_fd_registered_) {
    flags |= IORING_ENTER_REGISTERED_RING;
    fd = ring_.enter_ring_fd;
  }
  const long rc = syscall(__NR_io_uring_enter, fd, to_submit, options_.batch_completions, flags,
                          &arg, sizeof arg);
  return rc < 0 ? -errno : static_cast<int>(rc);
}

void Reactor::run_ready() {
  // A completion often readies a chain (reader -> application -> writer): let a few rounds of
  // newly ready coroutines run in this turn, so one round trip costs one io_uring_enter, but
  // stop after kRounds so a coroutine that keeps readying itself cannot starve submission.
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds && !ready_.empty(); ++round) {
    ReadyList batch;
    while (ReadyLink* n = ready_.pop_front()) batch.push_back(n);
    while (ReadyLink* n = batch.pop_front()) n->run();
  }
}

bool Reactor::run_once(std::optional<Duration> timeout) {
  if (stopped_) return false;
  turn(true, timeout);
  return !stopped_;
}

void Reactor::poll() { turn(false, {}); }

void Reactor::turn(bool may_block, std::optional<Duration> timeout) {
  ++stats_.loop_turns;
  in_turn_ = true;
  run_ready();
  flush_outbox();  // this turn's posts leave with this turn's submission
  const bool blocks = may_block && ready_.empty() && (in_flight_ > 0 || waits_for_posts_);
  if (blocks && heap_trim_due_) timeout = trim_heap_or_wait(timeout);
  submit_and_reap(blocks, timeout);
  run_ready();
  flush_outbox();
  in_turn_ = false;
}

namespace {
std::vector<void (*)()>& heap_trim_hooks() {
  static std::vector<void (*)()> hooks;
  return hooks;
}
}  // namespace

void add_heap_trim_hook(void (*release_caches)()) { heap_trim_hooks().push_back(release_caches); }

namespace {

// Whether the cache may still hold chunks of the size of `chunk`, which malloc just returned,
// read from its first two words. glibc (2.32 and later) links a size's cached chunks through
// the first, stored as (the word's address >> 12) ^ next ("safe-linking"), and malloc leaves
// it: the last cached chunk reads address >> 12, one with a successor names a chunk near it.
// A chunk from one of the heap's free lists names its neighbours there plainly, and malloc
// moved the list's other chunks of its size into the cache. Fresh memory reads 0 or old
// bytes. A misreading costs one more chunk, or leaves a few cached (as with no probe at all).
bool cache_may_hold_more(const void* chunk) {
  const auto at = reinterpret_cast<std::uintptr_t>(chunk);
  std::uintptr_t words[2];
  std::memcpy(words, chunk, sizeof words);
  const auto names_chunk_near = [at](std::uintptr_t p) {
    constexpr std::uintptr_t kSameHeap = std::uintptr_t{1} << 30;
    return p != 0 && p % 16 == 0 && (p > at ? p - at : at - p) < kSameHeap;
  };
  const std::uintptr_t next = words[0] ^ (at >> 12);
  if (next == 0) return false;  // the last one cached
  return names_chunk_near(next) || names_chunk_near(words[0]) || names_chunk_near(words[1]);
}

}  // namespace

std::size_t empty_malloc_thread_cache() {
  // glibc's cache (tcache): 7 chunks by default for each chunk size from 32 to 1,040 bytes.
  // A malloc of each size takes the cached chunks first; once it had to look elsewhere (the
  // heap's free lists, or fresh pages, which would then count in the peak RSS) it stops.
  constexpr std::size_t kSmallestChunk = 32, kLargestChunk = 1040, kStep = 16, kPerSize = 7;
  std::vector<void*> taken;
  taken.reserve((kLargestChunk - kSmallestChunk) / kStep * kPerSize + kPerSize);
  for (std::size_t chunk = kSmallestChunk; chunk <= kLargestChunk; chunk += kStep) {
    for (std::size_t i = 0; i < kPerSize; ++i) {
      void* p = std::malloc(chunk - 8);
      if (!p) break;
      taken.push_back(p);
      if (!cache_may_hold_more(p)) break;
    }
  }
  std::thread([&taken] {
    for (void* p : taken) std::free(p);
  }).join();
  return taken.size();
}

void trim_malloc_heap() {
  // glibc's allocator sets itself up on first use, and a first malloc_trim on two threads at
  // once is not safe (tests/io/malloc_trim_test.cc). Under ASan and TSan, which replace malloc,
  // a trim is that first use: a chat server on two reactors crashed in glibc's mtrim.
  static std::once_flag glibc_malloc_set_up;
  std::call_once(glibc_malloc_set_up, [] { ::malloc_trim(0); });
  ::malloc_trim(0);
}

void Reactor::trim_heap_when_quiet() {
  if (options_.heap_trim_after.count() <= 0) return;
  heap_trim_due_ = true;
  last_transient_work_ = monotonic_now();
}

std::optional<Duration> Reactor::trim_heap_or_wait(std::optional<Duration> timeout) {
  const Duration quiet = monotonic_now() - last_transient_work_;
  const Duration left = options_.heap_trim_after - quiet;
  if (left.count() > 0) return timeout ? std::min(*timeout, left) : left;
  for (auto release_caches : heap_trim_hooks()) release_caches();
  frame_pool::release_cached();
  empty_malloc_thread_cache();
  trim_malloc_heap();
  // Between two io_uring_enter calls, with DEFER_TASKRUN, no receive can write into the ring.
  if (buffer_ring_ && defer_taskrun_) buffer_ring_->give_back_unused_memory();
  ++stats_.heap_trims;
  heap_trim_due_ = false;
  return timeout;
}

void Reactor::run() {
  while (!stopped_ && has_work()) run_once();
}

void Reactor::run_until_stopped() {
  waits_for_posts_ = true;
  while (!stopped_) turn(true, {});
  waits_for_posts_ = false;
  io_uring_submit(&ring_);  // doorbells queued by the last turn
}

// --- posting -----------------------------------------------------------------------------

void Reactor::post(PostedWork* work) {
  work->next_posted_ = nullptr;
  if (current_reactor && current_reactor->in_turn_) {
    // Batched: newest first, so the target's list stays newest first after the push.
    Reactor& sender = *current_reactor;
    for (Outgoing& o : sender.outbox_) {
      if (o.target == this) {
        work->next_posted_ = o.newest;
        o.newest = work;
        return;
      }
    }
    sender.outbox_.push_back({this, work, work});
    return;
  }
  posters_ringing_.fetch_add(1, std::memory_order_relaxed);
  if (push_posts(work, work)) wake_by_eventfd();
  posters_ringing_.fetch_sub(1, std::memory_order_release);
}

void Reactor::request_stop() {
  post([this] { stop(); });
}

bool Reactor::push_posts(PostedWork* newest, PostedWork* oldest) {
  PostedWork* top = inbox_.load(std::memory_order_relaxed);
  do {
    oldest->next_posted_ = top;
  } while (!inbox_.compare_exchange_weak(top, newest, std::memory_order_release,
                                         std::memory_order_relaxed));
  return top == nullptr;
}

void Reactor::wake_by_eventfd() {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is huge: a wake is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
  if (current_reactor) ++current_reactor->stats_.bells_by_eventfd;
}

void Reactor::ring_doorbell_of(Reactor& target) {
  if (msg_ring_ && target.msg_ring_) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_msg_ring(sqe, target.ring_.ring_fd, 0, kDoorbell, 0);
    // No CQE here unless it failed (then the eventfd carries the doorbell).
    io_uring_sqe_set_data(sqe, reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(&target) |
                                                       kFailedBellTag));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    ++stats_.bells_by_msg_ring;
  } else {
    target.wake_by_eventfd();
  }
}

void Reactor::flush_outbox() {
  if (outbox_.empty()) return;
  for (Outgoing& o : outbox_) {
    o.target->posters_ringing_.fetch_add(1, std::memory_order_relaxed);
    if (o.target->push_posts(o.newest, o.oldest)) ring_doorbell_of(*o.target);
    o.target->posters_ringing_.fetch_sub(1, std::memory_order_release);
  }
  outbox_.clear();
}

void Reactor::run_posted() {
  PostedWork* newest = inbox_.exchange(nullptr, std::memory_order_acquire);
  PostedWork* oldest_first = nullptr;
  while (newest) {
    PostedWork* next = newest->next_posted_;
    newest->next_posted_ = oldest_first;
    oldest_first = newest;
    newest = next;
  }
  while (oldest_first) {
    PostedWork* next = oldest_first->next_posted_;
    ++stats_.posts_run;
    oldest_first->run();
    oldest_first = next;
  }
}

void Reactor::arm_wake_read() {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, wake_fd_.get(), &wake_value_, sizeof wake_value_, 0);
  // Not counted as work: run() still ends when nothing else is in flight.
  io_uring_sqe_set_data(sqe, reinterpret_cast<void*>(kWakeRead));
  wake_read_armed_ = true;
}

void Reactor::handle_tagged_cqe(std::uintptr_t user_data, int result) {
  if (user_data == kDoorbell) {
    schedule(&posted_node_);
  } else if (user_data == kWakeRead) {
    wake_read_armed_ = false;
    if (destroying_) return;
    schedule(&posted_node_);
    arm_wake_read();
  } else if ((user_data & kTagMask) == kFailedBellTag) {
    auto* target = reinterpret_cast<Reactor*>(user_data & ~kTagMask);
    WSP_LOG_DEBUG("MSG_RING doorbell failed (%d); using the eventfd", result);
    target->wake_by_eventfd();
  }
}

}  // namespace io
