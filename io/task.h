// Task<T>: a lazily started coroutine in the shape of cppcoro's task<T>. Awaiting it starts it;
// when it finishes it transfers control straight back to its awaiter (symmetric transfer, no
// stack growth). The result, or the exception it threw, is stored in the promise and handed to
// the awaiter. Destroying a Task destroys its frame, and with it any pending I/O awaiter, which
// cancels its operation and waits for the kernel to let go of it (see reactor.h).
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <utility>
#include <variant>

#include "io/frame_pool.h"

namespace io {

class Reactor;

template <typename T>
class Task;

namespace detail {

// Told by a detached task's frame (Reactor::spawn) as it goes away, finished or destroyed;
// logs what escaped it. Defined in reactor.cc.
void detached_frame_gone(Reactor& reactor, std::uint64_t id, const std::exception_ptr& escaped) noexcept;

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr exception;
  // Set for a task the reactor runs detached: with no awaiter, its frame destroys itself when
  // it ends (no wrapper frame per spawned task).
  Reactor* detached_by = nullptr;
  std::uint64_t detached_id = 0;

  PromiseBase() = default;
  PromiseBase(const PromiseBase&) = delete;
  PromiseBase& operator=(const PromiseBase&) = delete;
  ~PromiseBase() {
    if (detached_by) detached_frame_gone(*detached_by, detached_id, exception);
  }

  static void* operator new(std::size_t size) { return frame_pool::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_pool::deallocate(p, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      if (h.promise().detached_by) {
        h.destroy();  // a detached task ends here; its promise tells the reactor
        return std::noop_coroutine();
      }
      auto next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <typename T>
struct Promise : PromiseBase {
  std::variant<std::monostate, T> value;
  Task<T> get_return_object() noexcept;
  template <typename U>
  void return_value(U&& v) {
    value.template emplace<1>(std::forward<U>(v));
  }
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(std::get<1>(value));
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

template <typename T = void>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return bool(h_); }
  bool done() const { return h_ && h_.done(); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle h;
      bool await_ready() noexcept { return !h || h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().continuation = awaiting;
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return Awaiter{h_};
  }

  // For the reactor's spawn() and sync_wait(): hands over the frame.
  Handle release() { return std::exchange(h_, {}); }

 private:
  void reset() {
    if (h_) h_.destroy();
    h_ = {};
  }
  Handle h_;
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace io
