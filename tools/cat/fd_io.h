// Reading stdin and writing stdout through the reactor (io_uring reads and writes on the file
// descriptors), so a slow pipe or a terminal never blocks the connections: works alike for
// pipes, terminals and regular files.
#pragma once

#include <cstddef>
#include <string>

#include "io/event.h"
#include "io/reactor.h"
#include "io/result.h"
#include "io/task.h"

namespace wsp_cat {

// The next chunk of `fd` (at most `max` bytes); empty at the end of input.
io::Task<io::Result<std::string>> read_chunk(io::Reactor& reactor, int fd, std::size_t max);

// An ordered output stream to `fd`: write() appends and returns at once (one writer task
// drains the buffer); flushed() waits until everything was written. A failed write (the
// reader went away: EPIPE) drops the rest and is reported by failed().
class FdWriter {
 public:
  FdWriter(io::Reactor& reactor, int fd);
  ~FdWriter();
  void write(std::string_view bytes);
  // How many bytes wait: writers of much may pause until it drops (back-pressure).
  std::size_t buffered() const { return buffer_.size() + writing_.size(); }
  io::Task<void> flushed();
  bool failed() const { return failed_; }

 private:
  io::Task<void> drain();
  io::Reactor& reactor_;
  int fd_;
  std::string buffer_;   // waiting
  std::string writing_;  // handed to the kernel
  bool failed_ = false;
  bool running_ = false;
  io::Reactor::TaskId task_ = 0;
  io::Event idle_;
};

}  // namespace wsp_cat
