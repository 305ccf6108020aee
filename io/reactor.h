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
#pragma once

#include <liburing.h>

#include <chrono>
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
#include "io/task.h"

namespace io {

using Duration = std::chrono::nanoseconds;

class Reactor;
class BufferRing;

// A coroutine waiting to be resumed by the loop. Links itself into the reactor's ready list;
// unlinks itself if destroyed while still linked (its frame was destroyed in the meantime).
class ReadyNode {
 public:
  ReadyNode() = default;
  ReadyNode(const ReadyNode&) = delete;
  ReadyNode& operator=(const ReadyNode&) = delete;
  ~ReadyNode() { unlink(); }

  std::coroutine_handle<> waiter;
  // When set, the loop calls this instead of resuming `waiter` (completion-driven objects
  // schedule their work this way, so it runs after reaping, never inside it).
  void (*callback)(ReadyNode*) = nullptr;
  bool linked() const { return prev_ != nullptr; }
  void unlink();

 private:
  friend class Reactor;
  friend class ReadyList;
  ReadyNode* prev_ = nullptr;
  ReadyNode* next_ = nullptr;
};

// A ReadyNode that calls `(owner->*Method)()` when the loop reaches it.
template <typename Owner, void (Owner::*Method)()>
class CallbackNode : public ReadyNode {
 public:
  explicit CallbackNode(Owner* owner) : owner_(owner) {
    callback = [](ReadyNode* n) {
      auto* self = static_cast<CallbackNode*>(n);
      (self->owner_->*Method)();
    };
  }

 private:
  Owner* owner_;
};

class ReadyList {
 public:
  ReadyList() { head_.prev_ = head_.next_ = &head_; }
  bool empty() const { return head_.next_ == &head_; }
  void push_back(ReadyNode* n);
  ReadyNode* pop_front();

 private:
  ReadyNode head_;
};

// One request to the kernel. `on_complete` runs for every CQE carrying this address (several
// for multishot requests); `in_flight` stays true until the final one (no IORING_CQE_F_MORE).
class Completion {
 public:
  virtual void on_complete(int result, std::uint32_t flags) = 0;
  bool in_flight() const { return in_flight_; }

 protected:
  ~Completion() = default;

 private:
  friend class Reactor;
  bool in_flight_ = false;
};

// Counters a service may export.
struct ReactorStats {
  std::uint64_t loop_turns = 0;
  std::uint64_t enter_calls = 0;       // io_uring_enter system calls made by the loop
  std::uint64_t sqes_submitted = 0;
  std::uint64_t cqes_reaped = 0;
  std::uint64_t receive_buffer_shortages = 0;  // receives stopped by an empty buffer ring
};

class Reactor {
 public:
  struct Options {
    unsigned entries = 1024;  // SQ slots; a full queue is submitted early. CQ: 4x.
    // The receive buffer ring every push-style TCP receive shares (made on first use). With
    // incremental consumption (Linux 6.12) a few large buffers serve any number of
    // connections and stay in cache, and the ring doubles when a burst finds it empty;
    // without it, 128 x 64 KiB (a receive takes a whole one).
    unsigned receive_buffers = 16;                   // at most; a power of two
    unsigned receive_buffers_at_start = 4;
    std::size_t receive_buffer_size = 128 * 1024;
    bool incremental_receive_buffers = true;         // false: whole buffers, as on older kernels
  };
  Reactor();
  explicit Reactor(Options options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // The reactor of this thread: the one most recently constructed on it and still alive, or a
  // default one created on first use.
  static Reactor& current();

  // Drive modes.
  void run();                                           // until stop() or no work left
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
  std::size_t detached_count() const { return detached_count_; }

  // Runs `task` to completion on this reactor and returns its result (rethrows its exception).
  template <typename T>
  T sync_wait(Task<T> task);

  // For awaitables. get_sqe() never fails: a full submission queue is flushed first.
  io_uring_sqe* get_sqe();
  // Two consecutive SQEs for an operation linked to its timeout.
  void reserve_sqes(unsigned count);
  void submit_tracked(io_uring_sqe* sqe, Completion* c);
  void make_ready(ReadyNode* node, std::coroutine_handle<> h);
  // Queues a callback node (see ReadyNode::callback) to run in this or the next turn.
  void schedule(ReadyNode* node) {
    if (!node->linked()) ready_.push_back(node);
  }
  // The provided-buffer ring shared by receives on this reactor, made on first use; null when
  // the kernel refuses it (receives then use their own buffers).
  BufferRing* buffer_ring();
  // Cancels `c` and reaps until its final CQE has arrived. Other completions reaped meanwhile
  // are queued as usual; no coroutine is resumed from here.
  void cancel_and_wait(Completion* c);

  const ReactorStats& stats() const { return stats_; }
  ReactorStats& stats() { return stats_; }
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

 private:
  void submit_and_reap(bool may_block, std::optional<Duration> timeout);
  void reap();
  void run_ready();
  void turn(bool may_block, std::optional<Duration> timeout);

  io_uring ring_{};
  const char* setup_mode_ = "";
  bool defer_taskrun_ = false;
  bool stopped_ = false;
  std::size_t in_flight_ = 0;
  ReadyList ready_;
  Options options_;
  ReactorStats stats_;
  Reactor* previous_current_ = nullptr;
  std::unique_ptr<BufferRing> buffer_ring_;
  bool buffer_ring_tried_ = false;

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
};

// Base of the one-SQE awaitables: records the CQE result and resumes the waiter via the loop.
class Operation : public Completion {
 public:
  explicit Operation(Reactor& reactor) : reactor_(&reactor) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  ~Operation() {
    if (in_flight()) reactor_->cancel_and_wait(this);
  }
  void on_complete(int result, std::uint32_t flags) override {
    result_ = result;
    flags_ = flags;
    reactor_->make_ready(&node_, node_.waiter);
  }

 protected:
  // Submits `sqe` for this operation, linked to a timeout when `timeout` is positive.
  template <typename Prepare>
  void submit(std::coroutine_handle<> waiter, Prepare&& prepare, Duration timeout) {
    node_.waiter = waiter;
    has_timeout_ = timeout.count() > 0;
    if (has_timeout_) reactor_->reserve_sqes(2);
    io_uring_sqe* sqe = reactor_->get_sqe();
    prepare(sqe);
    reactor_->submit_tracked(sqe, this);
    if (has_timeout_) {
      sqe->flags |= IOSQE_IO_LINK;
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
      timeout_spec_.tv_sec = secs.count();
      timeout_spec_.tv_nsec = (timeout - secs).count();
      io_uring_sqe* tsqe = reactor_->get_sqe();
      io_uring_prep_link_timeout(tsqe, &timeout_spec_, 0);
      io_uring_sqe_set_data(tsqe, nullptr);
    }
  }
  // The CQE result; an operation cut short by its linked timeout reports -ETIMEDOUT.
  int result() const { return has_timeout_ && result_ == -ECANCELED ? -ETIMEDOUT : result_; }
  std::uint32_t flags() const { return flags_; }
  Reactor& reactor() const { return *reactor_; }

 private:
  Reactor* reactor_;
  ReadyNode node_;
  int result_ = 0;
  std::uint32_t flags_ = 0;
  bool has_timeout_ = false;
  __kernel_timespec timeout_spec_{};
};

// Awaitable for any single SQE: `prepare(sqe)` fills it; co_await yields the raw CQE result
// (negative errno on failure). Optional per-operation deadline via a linked timeout.
template <typename Prepare>
class UringOp : public Operation {
 public:
  UringOp(Reactor& reactor, Prepare prepare, Duration timeout)
      : Operation(reactor), prepare_(std::move(prepare)), timeout_(timeout) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { submit(h, prepare_, timeout_); }
  int await_resume() const noexcept { return result(); }

 private:
  Prepare prepare_;
  Duration timeout_;
};

template <typename Prepare>
UringOp<Prepare> uring_op(Reactor& reactor, Prepare prepare, Duration timeout = Duration::zero()) {
  return UringOp<Prepare>(reactor, std::move(prepare), timeout);
}

// co_await sleep_for(reactor, 10ms): an IORING_OP_TIMEOUT.
class SleepOp : public Operation {
 public:
  SleepOp(Reactor& reactor, Duration d);
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const noexcept {}

 private:
  __kernel_timespec spec_{};
};
inline SleepOp sleep_for(Reactor& reactor, Duration d) { return SleepOp(reactor, d); }

// co_await yield(reactor): lets every other ready coroutine run first.
class YieldOp {
 public:
  explicit YieldOp(Reactor& reactor) : reactor_(&reactor) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { reactor_->make_ready(&node_, h); }
  void await_resume() const noexcept {}

 private:
  Reactor* reactor_;
  ReadyNode node_;
};
inline YieldOp yield(Reactor& reactor) { return YieldOp(reactor); }

// A level-triggered signal for coroutines on one reactor: wait() suspends until set() is
// called (or returns at once if already set); every waiter is resumed. reset() clears it.
class Event {
 public:
  explicit Event(Reactor& reactor) : reactor_(&reactor) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();

  void set() {
    set_ = true;
    if (waiters_) wake_waiters();  // inline: set once per message received, rarely awaited
  }
  void reset() { set_ = false; }
  bool is_set() const { return set_; }

  class Waiter {
   public:
    explicit Waiter(Event& event) : event_(&event) {}
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();
    bool await_ready() const noexcept { return event_ && event_->set_; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

   private:
    friend class Event;
    Event* event_;
    ReadyNode node_;
    Waiter* next_ = nullptr;
    Waiter* prev_ = nullptr;
    bool waiting_ = false;
  };
  Waiter wait() { return Waiter(*this); }

 private:
  void wake_waiters();

  Reactor* reactor_;
  bool set_ = false;
  Waiter* waiters_ = nullptr;
};

// --- sync_wait ---------------------------------------------------------------------------

namespace detail {
struct SyncWaitTask {
  struct promise_type {
    bool* done;
    SyncWaitTask get_return_object() {
      return SyncWaitTask{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept {
      *done = true;
      return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
};

template <typename T>
using SyncResult = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
SyncWaitTask sync_wait_body(Task<T>& task, std::optional<SyncResult<T>>& out,
                            std::exception_ptr& error) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      out.emplace();
    } else {
      out.emplace(co_await std::move(task));
    }
  } catch (...) {
    error = std::current_exception();
  }
}
}  // namespace detail

template <typename T>
T Reactor::sync_wait(Task<T> task) {
  bool done = false;
  std::exception_ptr error;
  std::optional<detail::SyncResult<T>> out;
  bool was_stopped = stopped_;
  stopped_ = false;
  auto body = detail::sync_wait_body(task, out, error);
  body.h.promise().done = &done;
  body.h.resume();
  bool finished = drive_until(done);
  body.h.destroy();
  stopped_ = was_stopped;
  if (!finished) throw std::logic_error("sync_wait: the task waits for something nothing will do");
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*out);
}

}  // namespace io
