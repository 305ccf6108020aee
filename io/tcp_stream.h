// A TCP connection on the reactor: connect, pull-style reads and writes (awaitables), and
// push-style I/O (a multishot receive into the reactor's buffer ring, sendmsg for writes).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "io/byte_stream.h"
#include "io/file_descriptor.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/result.h"
#include "io/slab.h"
#include "io/socket_address.h"
#include "io/task.h"

namespace io {

struct TcpPushIo;

class TcpStream final : public ByteStream, public slab::Allocated {
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

  bool is_open() const;
  int fd() const;
  Reactor& reactor() override;

  // Awaitables returning the CQE result (bytes, 0 at EOF, or -errno). `timeout` bounds the
  // single operation through a linked timeout (-ETIMEDOUT when it fires).
  auto recv(std::span<std::uint8_t> buffer, Duration timeout = Duration::zero()) {
    return uring_op(reactor(), [fd = fd(), buffer](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, fd, buffer.data(), buffer.size(), 0);
    }, timeout);
  }
  auto send(std::span<const std::uint8_t> data, Duration timeout = Duration::zero()) {
    return uring_op(reactor(), [fd = fd(), data](io_uring_sqe* sqe) {
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
  std::optional<Result<void>> shutdown_at_once() override;  // the same, never waits
  void close() override;                    // drops the connection now
  TcpStream* tcp() override { return this; }
  // Push-style I/O: a multishot receive into the reactor's buffer ring (an idle connection
  // holds no receive buffer) and sendmsg straight from the caller's buffers.
  void start_receiving(StreamHandler& handler) override;
  void resume_receiving() override;
  void start_write(std::span<const iovec> buffers, StreamHandler& handler) override;
  void stop_io() override;

  Result<SocketAddress> local_address() const;
  Result<SocketAddress> remote_address() const;
  Result<void> set_no_delay(bool enabled);

 private:
  // The socket and its push-style state, one allocation (thousands of idle connections); kept
  // after close(), so reactor() stays valid.
  std::unique_ptr<TcpPushIo> socket_;
};

}  // namespace io
