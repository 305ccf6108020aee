// TCP on the reactor: addresses, name resolution, listeners and streams.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_stream.h"
#include "io/reactor.h"
#include "io/result.h"
#include "io/task.h"

namespace io {

// An IPv4 or IPv6 socket address.
class SocketAddress {
 public:
  SocketAddress() = default;
  // Numeric addresses only ("127.0.0.1", "::1", "[::1]"); no resolution.
  static Result<SocketAddress> parse(std::string_view ip, std::uint16_t port);
  static SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len);

  std::string ip() const;            // "127.0.0.1", "::1"
  std::uint16_t port() const;
  std::string to_string() const;     // "127.0.0.1:80", "[::1]:80"
  int family() const { return storage_.ss_family; }
  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// Resolves `host` without blocking the reactor: numeric addresses are parsed directly; names go
// to getaddrinfo on a worker thread that signals completion through an eventfd read by the ring.
Task<Result<std::vector<SocketAddress>>> resolve(Reactor& reactor, std::string host,
                                                 std::uint16_t port);

// Raises this process's soft open-files limit to the hard limit (servers with many
// connections need it); returns the soft limit now in force.
std::uint64_t raise_open_files_limit();

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

class TcpStream final : public ByteStream {
 public:
  TcpStream();
  TcpStream(Reactor& reactor, FileDescriptor fd);
  TcpStream(TcpStream&&) noexcept;
  TcpStream& operator=(TcpStream&&) noexcept;
  ~TcpStream() override;

  // Connects to a numeric address; `timeout` zero means the kernel's own. With `local`, the
  // socket is bound to that address first.
  static Task<Result<TcpStream>> connect(Reactor& reactor, SocketAddress address,
                                         Duration timeout = Duration::zero(),
                                         std::optional<SocketAddress> local = std::nullopt);
  // Resolves `host` (off the reactor thread) and tries each address in turn.
  static Task<Result<TcpStream>> connect(Reactor& reactor, std::string host, std::uint16_t port,
                                         Duration timeout = Duration::zero());

  bool is_open() const { return bool(fd_); }
  int fd() const { return fd_.get(); }
  Reactor& reactor() override { return *reactor_; }

  // Awaitables returning the CQE result (bytes, 0 at EOF, or -errno). `timeout` bounds the
  // single operation through a linked timeout (-ETIMEDOUT when it fires).
  auto recv(std::span<std::uint8_t> buffer, Duration timeout = Duration::zero()) {
    return uring_op(*reactor_, [fd = fd_.get(), buffer](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, fd, buffer.data(), buffer.size(), 0);
    }, timeout);
  }
  auto send(std::span<const std::uint8_t> data, Duration timeout = Duration::zero()) {
    return uring_op(*reactor_, [fd = fd_.get(), data](io_uring_sqe* sqe) {
      io_uring_prep_send(sqe, fd, data.data(), data.size(), MSG_NOSIGNAL);
    }, timeout);
  }

  // Sends everything, resubmitting after short writes. On failure `*sent` (if given) tells how
  // much went out before the error.
  Task<Result<void>> send_all(std::span<const std::uint8_t> data, std::size_t* sent = nullptr);

  // ByteStream
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  Task<Result<void>> write_all(std::span<const iovec> buffers) override;
  Task<Result<void>> shutdown() override;   // half-close: SHUT_WR, reads go on
  void close() override;                    // drops the connection now
  TcpStream* tcp() override { return this; }
  // Push-style I/O: a multishot receive into the reactor's buffer ring (an idle connection
  // holds no receive buffer) and sendmsg straight from the caller's buffers.
  void start_receiving(ReceiveHandler& handler) override;
  void resume_receiving() override;
  void start_write(std::span<const iovec> buffers, WriteHandler& handler) override;
  void stop_io() override;

  Result<SocketAddress> local_address() const;
  Result<SocketAddress> remote_address() const;
  Result<void> set_no_delay(bool enabled);

 private:
  struct PushIo;
  PushIo& push_io();

  Reactor* reactor_ = nullptr;
  FileDescriptor fd_;
  std::unique_ptr<PushIo> push_;  // declared last: destroyed (its I/O cancelled) before fd_
};

class TcpListener {
 public:
  struct Options {
    int backlog = 4096;
    bool reuse_port = false;
    bool v6_only = false;
  };

  // host: numeric IPv4/IPv6 address, "*" or "" for all IPv6+IPv4 interfaces, or "localhost".
  static Result<TcpListener> bind(Reactor& reactor, std::string_view host, std::uint16_t port,
                                  Options options);
  static Result<TcpListener> bind(Reactor& reactor, std::string_view host, std::uint16_t port) {
    return bind(reactor, host, port, Options{});
  }

  TcpListener();
  TcpListener(TcpListener&&) noexcept;
  TcpListener& operator=(TcpListener&&) noexcept;
  ~TcpListener();

  // Next accepted connection (one multishot accept feeds them all).
  Task<Result<TcpStream>> accept();
  // Non-blocking: an accepted connection if one is queued (arms the multishot accept).
  std::optional<TcpStream> try_accept();

  std::uint16_t local_port() const;
  bool is_listening() const { return bool(state_); }
  void close();

  // Accepts refused for lack of file descriptors (EMFILE/ENFILE); the listener keeps
  // running and retries after a short pause.
  std::uint64_t fd_exhaustion_count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace io
