// A request to the kernel, identified by its address in the SQE's user_data.
#pragma once

#include <cstdint>

namespace io {

class Reactor;

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

}  // namespace io
