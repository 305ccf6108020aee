// Result<T>: a value or a std::error_code. The one error type of io/ (errors are values; no
// exception crosses the reactor loop). Errno values use std::system_category().
#pragma once

#include <cerrno>
#include <system_error>
#include <utility>
#include <variant>

namespace io {

inline std::error_code errno_code(int err) { return {err, std::system_category()}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT: implicit by design
  Result(std::error_code error) : v_(error) {}              // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  std::error_code error() const { return ok() ? std::error_code{} : std::get<1>(v_); }

 private:
  std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(std::error_code error) : error_(error) {}          // NOLINT
  bool ok() const { return !error_; }
  explicit operator bool() const { return ok(); }
  std::error_code error() const { return error_; }

 private:
  std::error_code error_;
};

// Turns a negative-errno syscall/CQE result into a Result.
inline Result<int> from_syscall(int res) {
  if (res < 0) return errno_code(-res);
  return res;
}

}  // namespace io
