// Reactor::sync_wait: runs a task to completion on the calling thread's loop.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "io/reactor.h"
#include "io/task.h"

namespace io {

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
