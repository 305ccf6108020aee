// A request to the kernel, identified by its address in the SQE's user_data.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace io {

class Reactor;

// One request to the kernel, or two at a time (a socket's receive and its send: one object
// and one vtable pointer for both). `on_complete` runs for every CQE of the first request
// (several for multishot requests), `on_second_complete` for the second's, whose user_data the
// reactor tags; `in_flight` stays true until the request's final CQE (no IORING_CQE_F_MORE).
class Completion {
 public:
  enum class Request : std::uint8_t { first, second };

  virtual void on_complete(int result, std::uint32_t flags) = 0;
  virtual void on_second_complete(int, std::uint32_t) { std::abort(); }  // never submitted
  bool in_flight(Request request = Request::first) const {
    return request == Request::first ? in_flight_ : second_in_flight_;
  }

 protected:
  ~Completion() = default;

 private:
  friend class Reactor;
  bool in_flight_ = false;
  bool second_in_flight_ = false;
};

}  // namespace io
