// Owned file descriptors and the process's open-files limit.
#pragma once

#include <cstdint>

namespace io {

// An owned file descriptor, closed on destruction.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.release()) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  int release() { int fd = fd_; fd_ = -1; return fd; }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Raises this process's soft open-files limit to the hard limit (servers with many
// connections need it); returns the soft limit now in force.
std::uint64_t raise_open_files_limit();

// setsockopt for an int-valued option; failures are ignored (best-effort tuning).
void set_socket_option(int fd, int level, int name, int value);

}  // namespace io
