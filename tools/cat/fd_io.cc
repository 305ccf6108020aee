#include "tools/cat/fd_io.h"

#include "io/operation.h"

namespace wsp_cat {

io::Task<io::Result<std::string>> read_chunk(io::Reactor& reactor, int fd, std::size_t max) {
  std::string chunk(max, '\0');
  // Offset -1: the file's own position, so files, pipes and terminals read alike.
  const int n = co_await io::uring_op(reactor, [fd, data = chunk.data(), max](io_uring_sqe* sqe) {
    io_uring_prep_read(sqe, fd, data, static_cast<unsigned>(max), static_cast<__u64>(-1));
  });
  if (n < 0) co_return io::errno_code(-n);
  chunk.resize(static_cast<std::size_t>(n));
  co_return chunk;
}

FdWriter::FdWriter(io::Reactor& reactor, int fd) : reactor_(reactor), fd_(fd), idle_(reactor) {
  idle_.set();
}

FdWriter::~FdWriter() {
  if (running_) reactor_.cancel(task_);
}

void FdWriter::write(std::string_view bytes) {
  if (failed_) return;
  buffer_.append(bytes);
  if (!running_) {
    running_ = true;
    idle_.reset();
    task_ = reactor_.spawn(drain());
  }
}

io::Task<void> FdWriter::drain() {
  while (!buffer_.empty() && !failed_) {
    writing_.swap(buffer_);
    std::size_t done = 0;
    while (done < writing_.size()) {
      const char* data = writing_.data() + done;
      const auto size = static_cast<unsigned>(writing_.size() - done);
      const int n = co_await io::uring_op(reactor_, [fd = fd_, data, size](io_uring_sqe* sqe) {
        io_uring_prep_write(sqe, fd, data, size, static_cast<__u64>(-1));
      });
      if (n <= 0) {
        failed_ = true;
        buffer_.clear();
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    writing_.clear();
  }
  running_ = false;
  idle_.set();
}

io::Task<void> FdWriter::flushed() {
  while (running_) {
    idle_.reset();
    if (!running_) break;
    co_await idle_.wait();
  }
}

}  // namespace wsp_cat
