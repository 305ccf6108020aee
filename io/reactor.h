// Reactor: one io_uring per thread that runs coroutine tasks.
//
// Every operation handed to the kernel is a Completion whose address is the SQE's user_data.
// A completion does not resume its coroutine inline: it links the waiting coroutine into the
// ready list, and the loop resumes ready coroutines after reaping. SQEs are submitted once per
// loop turn (batching), together with reaping, in one io_uring_enter.
//
// Safety rule: memory the kernel may write into lives in the awaiter, which lives on the
// coroutine frame. An awaiter destroyed while its operation is in flight (its task was
// destroyed or cancelled) submits IORING_OP_ASYNC_CANCEL and waits for the final CQE before
// the frame's memory can go away.
//
// Other threads hand work to a reactor with post(): a lock-free list (one compare-and-swap per
// batch) and a doorbell. A reactor thread posting during its turn batches per target and
// flushes once per turn, before io_uring_enter; the doorbell is an IORING_OP_MSG_RING CQE
// posted into the target's ring from the sender's, or a write to the target's eventfd where
// the kernel lacks MSG_RING (or Options::wake_by_eventfd asks for it), and from threads that
// run no reactor. Only the post that finds the target's list empty rings.
#pragma once

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "io/result.h"
#include "io/completion.h"
#include "io/file_descriptor.h"
#include "io/ready_list.h"
#include "io/task.h"


namespace io {

using Duration = std::chrono::nanoseconds;

class Reactor;
class BufferRing;
class ManualClock;
class TimeoutList;
class TimeoutEntry;

// Counters a service may export.
struct ReactorStats {
  std::uint64_t loop_turns = 0;
  std::uint64_t enter_calls = 0;       // io_uring_enter system calls made by the loop
  std::uint64_t sqes_submitted = 0;
  std::uint64_t cqes_reaped = 0;
  std::uint64_t receive_buffer_shortages = 0;  // receives stopped by an empty buffer ring
  std::uint64_t posts_run = 0;          // posted work run on this reactor
  std::uint64_t bells_by_msg_ring = 0;  // doorbells this reactor sent through its ring
  std::uint64_t bells_by_eventfd = 0;   // doorbells this reactor's thread wrote to an eventfd
  std::uint64_t heap_trims = 0;         // heap (and ring) trims after a quiet period (see below)
  std::uint64_t tasks_spawned = 0;
  std::uint64_t files_registered = 0;   // sockets in the registered-file table now (a gauge)
};

// Work handed to a reactor by post(), from any thread. Exactly one of run() (on the target's
// thread, on one of its turns) or discard() (the target was destroyed first) is called; either
// ends the node's part in the reactor, so it may delete itself there.
class PostedWork {
 public:
  virtual void run() = 0;
  virtual void discard() = 0;

 protected:
  ~PostedWork() = default;

 private:
  friend class Reactor;
  PostedWork* next_posted_ = nullptr;
};

// Registers a function the quiet-period trim (Reactor::trim_heap_when_quiet) calls on the
// reactor's thread before malloc_trim: per-thread caches of the layers above free what a burst
// left in them. Register once, before reactors run (at static initialization).
void add_heap_trim_hook(void (*release_caches)());

// Hands the chunks glibc's malloc keeps cached for this thread (up to 7 of each size to 1 KiB)
// back to the heap, where malloc_trim can return their pages. The cache cannot be emptied
// directly: its chunks are taken out with a malloc of each size and freed on a short-lived
// thread, whose own cache glibc empties into the heap as it exits. After a burst of
// handshakes those chunks are scattered through the heap and kept about 40 bytes per idle
// connection resident at 10,000 (docs/perf.md). Part of the quiet-period trim. Takes at most
// one chunk of each size beyond what was cached; returns how many it took.
std::size_t empty_malloc_thread_cache();
// malloc_trim(0), safe from several threads at once: the first call of the process runs alone
// (see reactor.cc). Part of the quiet-period trim.
void trim_malloc_heap();

class Reactor {
 public:
  struct Options {
    // SQ slots: a full queue is submitted early, so more only saves an io_uring_enter per
    // `entries` SQEs of a busy turn; the kernel keeps the SQEs resident (64 B each).
    unsigned entries = 256;
    // CQ slots: completions of one turn beyond these wait in the kernel's overflow list, which
    // allocates for each (16 B each while they fit).
    unsigned completion_entries = 4096;
    // The receive buffer ring every push-style TCP receive shares (made on first use). With
    // incremental consumption (Linux 6.12) a few large buffers serve any number of
    // connections and stay in cache, and the ring doubles when a burst finds it empty;
    // without it, 128 x 64 KiB (a receive takes a whole one). What the kernel may put in the
    // ring is what a turn takes out of the sockets' queues into this process, and each
    // message is copied out of it and held until its echo is sent: with 2 x 64 KiB at start
    // the peak of 8 connections streaming 64 KiB messages was a third of 4 x 128 KiB's, at the
    // same CPU (docs/perf.md, fifteenth session).
    unsigned receive_buffers = 16;                   // at most; a power of two
    unsigned receive_buffers_at_start = 2;
    std::size_t receive_buffer_size = 64 * 1024;
    bool incremental_receive_buffers = true;         // false: whole buffers, as on older kernels
    // false: each receive has a buffer of its own, as on kernels without buffer rings (tests).
    bool receive_buffer_ring = true;
    // Slots of the ring's registered-file table (made on the first push-style socket, at most
    // the open-files soft limit): a socket numbered below it is put in at its own number, so
    // its sends and receives skip the kernel's file lookup and reference count, 1-3% of
    // the kernel's time per small message (docs/perf.md, eighteenth session). Kernel memory,
    // 8 bytes a slot. 0: none.
    unsigned registered_file_slots = 1u << 16;
    // For tests: sleep_for() waits for advance_clock() instead of the kernel (see
    // manual_clock.h). Off, nothing of it is made and a sleep costs one null check.
    bool manual_clock = false;
    // Posts to this reactor (and the doorbells it rings) use an eventfd even where the kernel
    // has IORING_OP_MSG_RING: the fallback path, for tests.
    bool wake_by_eventfd = false;
    // Fewer wake-ups when completions come in a stream (a load generator, a saturated peer):
    // a blocking turn waits up to `batch_wait` for `batch_completions` completions, then
    // returns with however many came (at least one). Each completion may be handled up to
    // `batch_wait` later. Needs Linux 6.12 (IORING_FEAT_MIN_TIMEOUT); without it, or with
    // 0, a turn returns on its first completion.
    unsigned batch_completions = 0;
    std::chrono::microseconds batch_wait{0};
    // After trim_heap_when_quiet(), once the reactor has had nothing to do for this long it
    // gives the heap's free pages back to the system (malloc_trim), and the receive ring's
    // unused ones. 0: never.
    std::chrono::milliseconds heap_trim_after{250};
  };
  Reactor();
  explicit Reactor(Options options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // The reactor of this thread: the one most recently constructed on it and still alive, or a
  // default one created on first use.
  static Reactor& current();
  // The same without making one: null on a thread that has none.
  static Reactor* current_if_any();

  // Drive modes.
  void run();                                           // until stop() or no work left
  // Until stop(): with no work left it waits for posted work instead of returning. For a
  // reactor that serves other threads (io::ReactorPool).
  void run_until_stopped();
  bool run_once(std::optional<Duration> timeout = {});  // one turn; false once stopped
  void poll();                                          // one turn that never blocks
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  void restart() { stopped_ = false; }
  bool has_work() const { return in_flight_ > 0 || !ready_.empty(); }

  // Starts a detached task on the next turn. Its frame is owned by the reactor until it
  // finishes; cancel() destroys it (cancelling its I/O); the reactor's destructor destroys
  // those still alive. An exception escaping it is logged, never rethrown into the loop.
  using TaskId = std::uint64_t;
  TaskId spawn(Task<void> task);
  bool cancel(TaskId id);
  // Whether the task `id` was spawned and has not ended (nor been cancelled).
  bool alive(TaskId id) const { return static_cast<bool>(detached_frame(id)); }
  // Destroys every detached task (the destructor does it too): for a thread that must end its
  // tasks before the objects they use go away.
  void cancel_all();
  std::size_t detached_count() const { return detached_count_; }

  // The reactor's list of timeouts that last `after` and end with `expired` (io/timeout_list.h),
  // made on first use and kept for the reactor's life.
  TimeoutList& timeouts(Duration after, void (*expired)(TimeoutEntry&));

  // Hands `work` to this reactor from any thread (the target must outlive the call and run to
  // take it). Order is kept per posting thread. On a reactor's own thread during its turn the
  // work waits for the end of that turn, batched with the turn's other posts to this target.
  void post(PostedWork* work);
  // The same for a callable, moved into a node of its own (one allocation).
  template <typename F>
    requires std::invocable<F&>
  void post(F&& f);
  // stop() from any thread, as posted work.
  void request_stop();
  enum class WakeMode : std::uint8_t { msg_ring, eventfd };
  // How posts to this reactor ring its doorbell from other reactors (threads running no
  // reactor always use the eventfd).
  WakeMode wake_mode() const { return msg_ring_ ? WakeMode::msg_ring : WakeMode::eventfd; }

  // Runs `task` to completion on this reactor and returns its result (rethrows its exception).
  template <typename T>
  T sync_wait(Task<T> task);

  // For awaitables. get_sqe() never fails: a full submission queue is flushed first.
  io_uring_sqe* get_sqe();
  // Two consecutive SQEs for an operation linked to its timeout.
  void reserve_sqes(unsigned count);
  void submit_tracked(io_uring_sqe* sqe, Completion* c,
                      Completion::Request request = Completion::Request::first);
  // A msghdr for `sqe`'s sendmsg, one per submission-queue slot, valid until the SQE is
  // submitted: the kernel copies it then (IORING_FEAT_SUBMIT_STABLE), so a write in progress
  // keeps none of its own.
  msghdr& message_header(io_uring_sqe* sqe);
  // The user_data that names `request` of `c` (for a cancel).
  static void* user_data(Completion* c, Completion::Request request);
  void make_ready(ReadyNode* node, std::coroutine_handle<> h);
  // Queues a callback node or a ReadyBase to run in this or the next turn.
  void schedule(ReadyLink* node) {
    if (!node->linked()) ready_.push_back(node);
  }
  // The provided-buffer ring shared by receives on this reactor, made on first use; null when
  // the kernel refuses it (receives then use their own buffers).
  BufferRing* buffer_ring();
  // The same once buffer_ring() has been called: no check, for the receive path.
  BufferRing* buffer_ring_made() const { return buffer_ring_.get(); }
  // Puts socket `fd` into the ring's registered-file table at index `fd` (see
  // Options::registered_file_slots), so operations on it may name it with IOSQE_FIXED_FILE and
  // the same number. False when the kernel or the table refuses it: the descriptor serves as
  // before. One io_uring_register call.
  bool register_file(int fd);
  // Takes `fd` out of the table, where it was registered: before it is closed, since the table
  // holds the socket open. No operation on it may be in flight.
  void unregister_file(int fd);
  // Cancels `c` and reaps until its final CQE has arrived. Other completions reaped meanwhile
  // are queued as usual; no coroutine is resumed from here.
  void cancel_and_wait(Completion* c, Completion::Request request = Completion::Request::first);

  // The clock of sleep_for() when made with Options::manual_clock, else null. Its sleeps are
  // not work for has_work() or run(): only advance_clock() can end them.
  ManualClock* manual_clock() { return manual_clock_.get(); }
  // The time sleep_for() counts in: the manual clock's, else the steady clock's
  // (io::monotonic_now()).
  Duration now() const;
  // Moves the manual clock forward (see ManualClock::advance); the sleeps now due run on the
  // next turn. Throws std::logic_error on a reactor without a manual clock.
  std::size_t advance_clock(Duration d);

  const ReactorStats& stats() const { return stats_; }
  ReactorStats& stats() { return stats_; }
  // Work whose allocations are all freed by now has just ended (a handshake: its buffers and
  // frames), or a burst of receives found the ring empty. A burst of handshakes leaves the
  // heap grown and mostly free, its pages resident though nothing is in them: about 1 MB
  // after a few hundred at once, whether 256 or 10,000 connections stay open. The next time
  // the reactor would block, once Options::heap_trim_after passed without such work, it
  // empties the thread's caches (the frame pool, add_heap_trim_hook's, malloc's own), returns
  // the heap's free pages with malloc_trim, and the pages of the receive ring's buffers that
  // hold nothing undelivered (with DEFER_TASKRUN).
  void trim_heap_when_quiet();
  // Drives the loop until `done`; false if the task can never finish (waits with no work left).
  bool drive_until(const bool& done) {
    while (!done) {
      turn(true, {});
      if (!done && !has_work()) return false;
    }
    return true;
  }
  io_uring* ring() { return &ring_; }
  const char* setup_mode() const { return setup_mode_; }
  // Whether completions are handled only inside this thread's io_uring_enter (DEFER_TASKRUN).
  bool defers_task_work() const { return defer_taskrun_; }
  // Whether blocking turns wait for batches (Options::batch_*, and the kernel allows it).
  bool batches_waits() const { return batch_waits_; }

 private:
  void submit_and_reap(bool may_block, std::optional<Duration> timeout);
  // One io_uring_enter that submits and waits with Options::batch_* (see there).
  int submit_and_wait_batch(std::optional<Duration> timeout);
  void reap();
  void run_ready();
  void turn(bool may_block, std::optional<Duration> timeout);
  // Before a blocking wait: trims the heap if it is due, else shortens the wait to when it is.
  std::optional<Duration> trim_heap_or_wait(std::optional<Duration> timeout);
  // Posting (see the top of this file).
  bool push_posts(PostedWork* newest, PostedWork* oldest);  // true when the list was empty
  void ring_doorbell_of(Reactor& target);
  void wake_by_eventfd();
  void flush_outbox();
  void run_posted();
  void arm_wake_read();
  void handle_tagged_cqe(std::uintptr_t user_data, int result);

  io_uring ring_{};
  const char* setup_mode_ = "";
  bool defer_taskrun_ = false;
  bool ring_fd_registered_ = false;
  bool batch_waits_ = false;  // Options::batch_* asked for, and the kernel has min-wait
  bool stopped_ = false;
  std::size_t in_flight_ = 0;
  ReadyList ready_;
  Options options_;
  ReactorStats stats_;
  Reactor* previous_current_ = nullptr;
  std::unique_ptr<BufferRing> buffer_ring_;
  std::unique_ptr<msghdr[]> message_headers_;  // message_header()'s, made on first use
  bool buffer_ring_tried_ = false;
  int registered_file_slots_ = -1;  // the table's size once made; -1: not made yet
  std::unique_ptr<ManualClock> manual_clock_;
  std::vector<std::unique_ptr<TimeoutList>> timeout_lists_;
  bool heap_trim_due_ = false;
  Duration last_transient_work_{};  // monotonic_now()

  // Detached tasks: a slot each, reused with a new generation, so a TaskId is the slot index
  // and its generation and the id of a task that ended never matches a later one.
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};
  struct DetachedSlot {
    std::coroutine_handle<> frame;  // null while free
    std::uint32_t generation = 1;
    std::uint32_t next_free = kNoSlot;
  };
  std::coroutine_handle<> detached_frame(TaskId id) const;
  void start_spawned();
  friend void detail::detached_frame_gone(Reactor&, std::uint64_t, const std::exception_ptr&) noexcept;

  std::vector<DetachedSlot> detached_;
  std::uint32_t first_free_slot_ = kNoSlot;
  std::size_t detached_count_ = 0;
  std::vector<TaskId> starting_;  // spawned, to be started by start_node_
  CallbackNode<Reactor, &Reactor::start_spawned> start_node_{this};

  // Posting. inbox_ holds posted work newest first; the owner takes it all at once.
  std::atomic<PostedWork*> inbox_{nullptr};
  // Posters between their push and their doorbell: the posted work may already have run and
  // let this reactor end, so the destructor waits for them before closing what they ring.
  std::atomic<int> posters_ringing_{0};
  FileDescriptor wake_fd_;          // eventfd: the doorbell for threads without MSG_RING
  std::uint64_t wake_value_ = 0;    // the eventfd read's buffer
  bool wake_read_armed_ = false;
  bool msg_ring_ = false;           // doorbells to and from this reactor go through rings
  bool in_turn_ = false;
  bool waits_for_posts_ = false;    // run_until_stopped(): block even with no work in flight
  bool destroying_ = false;
  struct Outgoing {
    Reactor* target;
    PostedWork* newest;
    PostedWork* oldest;
  };
  std::vector<Outgoing> outbox_;  // posts made during this turn, per target
  CallbackNode<Reactor, &Reactor::run_posted> posted_node_{this};
};

namespace detail {
template <typename F>
class PostedCallable final : public PostedWork {
 public:
  explicit PostedCallable(F f) : f_(std::move(f)) {}
  void run() override {
    f_();
    delete this;
  }
  void discard() override { delete this; }

 private:
  F f_;
};
}  // namespace detail

template <typename F>
  requires std::invocable<F&>
void Reactor::post(F&& f) {
  post(new detail::PostedCallable<std::decay_t<F>>(std::forward<F>(f)));
}

}  // namespace io

// The definition of the member template sync_wait.
#include "io/sync_wait.h"
