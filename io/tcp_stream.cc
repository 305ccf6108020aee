#include "io/tcp_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "io/log.h"
#include "io/resolver.h"
#include "io/tcp_push_io.h"

namespace io {

TcpStream::TcpStream() = default;
TcpStream::TcpStream(TcpStream&&) noexcept = default;
TcpStream& TcpStream::operator=(TcpStream&&) noexcept = default;
TcpStream::~TcpStream() = default;

TcpStream::TcpStream(Reactor& reactor, FileDescriptor fd)
    : socket_(std::make_unique<TcpPushIo>(reactor, std::move(fd))) {
  set_socket_option(this->fd(), IPPROTO_TCP, TCP_NODELAY, 1);
}

bool TcpStream::is_open() const { return socket_ && socket_->socket; }
int TcpStream::fd() const { return socket_ ? socket_->socket.get() : -1; }
Reactor& TcpStream::reactor() { return socket_->reactor; }

Task<Result<TcpStream>> TcpStream::connect(Reactor& reactor, SocketAddress address,
                                           Duration timeout, std::optional<SocketAddress> local) {
  FileDescriptor fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) co_return errno_code(errno);
  if (local) {
    set_socket_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
    if (::bind(fd.get(), local->data(), local->size()) != 0) co_return errno_code(errno);
  }
  int rc = co_await uring_op(reactor, [s = fd.get(), &address](io_uring_sqe* sqe) {
    io_uring_prep_connect(sqe, s, address.data(), address.size());
  }, timeout);
  if (rc < 0) co_return errno_code(-rc);
  co_return TcpStream(reactor, std::move(fd));
}

Task<Result<TcpStream>> TcpStream::connect(Reactor& reactor, std::string host, std::uint16_t port,
                                           Duration timeout) {
  auto addresses = co_await resolve(reactor, std::move(host), port);
  if (!addresses) co_return addresses.error();
  std::error_code last = errno_code(EHOSTUNREACH);
  for (const SocketAddress& a : *addresses) {
    auto stream = co_await connect(reactor, a, timeout);
    if (stream) co_return std::move(*stream);
    last = stream.error();
  }
  co_return last;
}

Task<Result<std::size_t>> TcpStream::read_some(std::span<std::uint8_t> buffer) {
  int n = co_await recv(buffer);
  if (n < 0) co_return errno_code(-n);
  co_return static_cast<std::size_t>(n);
}

Task<Result<void>> TcpStream::write_all(std::span<const iovec> buffers) {
  // The kernel may advance through a copy of the vector; short sends resume where they stopped.
  constexpr std::size_t kBatch = 64;
  iovec pending[kBatch];
  while (!buffers.empty()) {
    std::size_t count = std::min(buffers.size(), kBatch);
    std::memcpy(pending, buffers.data(), count * sizeof(iovec));
    buffers = buffers.subspan(count);
    iovec* cursor = pending;
    while (count > 0) {
      msghdr message{};
      message.msg_iov = cursor;
      message.msg_iovlen = count;
      int n = co_await uring_op(reactor(), [fd = fd(), &message](io_uring_sqe* sqe) {
        io_uring_prep_sendmsg(sqe, fd, &message, MSG_NOSIGNAL | MSG_WAITALL);
      });
      if (n < 0) co_return errno_code(-n);
      if (n == 0) co_return errno_code(EPIPE);
      auto left = static_cast<std::size_t>(n);
      while (count > 0 && left >= cursor->iov_len) {
        left -= cursor->iov_len;
        ++cursor;
        --count;
      }
      if (count > 0) {
        cursor->iov_base = static_cast<char*>(cursor->iov_base) + left;
        cursor->iov_len -= left;
      }
    }
  }
  co_return Result<void>{};
}

Task<Result<void>> TcpStream::send_all(std::span<const std::uint8_t> data, std::size_t* sent) {
  std::size_t done = 0;
  while (done < data.size()) {
    int n = co_await send(data.subspan(done));
    if (n <= 0) {
      if (sent) *sent = done;
      co_return errno_code(n < 0 ? -n : EPIPE);
    }
    done += static_cast<std::size_t>(n);
  }
  if (sent) *sent = done;
  co_return Result<void>{};
}

Task<Result<void>> TcpStream::shutdown() { co_return *shutdown_at_once(); }

std::optional<Result<void>> TcpStream::shutdown_at_once() {
  // A direct call, not IORING_OP_SHUTDOWN: TCP's SHUT_WR only queues a FIN and never blocks,
  // while io_uring always hands that op to an io-wq worker thread, whose completions a
  // waiting reactor was seen to miss (a server stopping under load hung in io_uring_enter).
  if (::shutdown(fd(), SHUT_WR) != 0) return errno_code(errno);
  return Result<void>{};
}

void TcpStream::close() {
  if (!is_open()) return;
  // shutdown() first: closing the descriptor alone does not end receives the ring holds.
  ::shutdown(fd(), SHUT_RDWR);
  socket_->stop();
  socket_->socket.reset();
}

void TcpStream::start_receiving(StreamHandler& handler) { socket_->start(handler); }

void TcpStream::resume_receiving() {
  if (socket_->handler) socket_->resume();
}

void TcpStream::start_write(std::span<const iovec> buffers, StreamHandler& handler) {
  socket_->start_write(buffers, handler);
}

void TcpStream::stop_io() {
  if (socket_) socket_->stop();
}

Result<SocketAddress> TcpStream::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return errno_code(errno);
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> TcpStream::remote_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return errno_code(errno);
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<void> TcpStream::set_no_delay(bool enabled) {
  int value = enabled ? 1 : 0;
  if (::setsockopt(fd(), IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0) {
    return errno_code(errno);
  }
  return {};
}

}  // namespace io
