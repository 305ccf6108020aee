#include "io/tcp_listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>

#include "io/event.h"
#include "io/file_descriptor.h"
#include "io/log.h"
#include "io/operation.h"
#include "io/socket_address.h"

namespace io {

struct TcpListener::State final : Completion {
  // Re-arms the accept after a pause when the process ran out of descriptors.
  struct RetryTimer final : Completion {
    State* owner = nullptr;
    __kernel_timespec delay{0, 100'000'000};
    void on_complete(int, std::uint32_t) override { owner->arm(); }
  };

  State(Reactor& r, FileDescriptor listen_fd) : reactor(&r), fd(std::move(listen_fd)), ready(r) {
    retry.owner = this;
  }
  ~State() {
    closing = true;
    if (in_flight()) reactor->cancel_and_wait(this);
    if (retry.in_flight()) reactor->cancel_and_wait(&retry);
    for (int accepted_fd : accepted) ::close(accepted_fd);
  }

  void arm() {
    if (closing || in_flight()) return;
    io_uring_sqe* sqe = reactor->get_sqe();
    io_uring_prep_multishot_accept(sqe, fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    reactor->submit_tracked(sqe, this);
  }

  void on_complete(int result, std::uint32_t flags) override {
    if (result >= 0) {
      accepted.push_back(result);
      ready.set();
    } else if (result == -EMFILE || result == -ENFILE) {
      ++fd_exhaustion;
      WSP_LOG_WARN("accept: out of file descriptors (%d so far); retrying shortly", int(fd_exhaustion));
    }
    if (flags & IORING_CQE_F_MORE || closing) return;
    if (result == -EMFILE || result == -ENFILE || result == -ENOBUFS || result == -ENOMEM) {
      io_uring_sqe* sqe = reactor->get_sqe();
      io_uring_prep_timeout(sqe, &retry.delay, 0, 0);
      reactor->submit_tracked(sqe, &retry);
    } else {
      arm();
    }
  }

  Reactor* reactor;
  FileDescriptor fd;
  Event ready;
  std::deque<int> accepted;
  RetryTimer retry;
  std::uint64_t fd_exhaustion = 0;
  bool closing = false;
};

Result<TcpListener> TcpListener::bind(Reactor& reactor, std::string_view host, std::uint16_t port,
                                      Options options) {
  SocketAddress address;
  if (host.empty() || host == "*") {
    address = *SocketAddress::parse("::", port);
  } else if (host == "localhost") {
    address = *SocketAddress::parse("127.0.0.1", port);
  } else {
    auto parsed = SocketAddress::parse(host, port);
    if (!parsed) return parsed.error();
    address = *parsed;
  }
  FileDescriptor fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_code(errno);
  set_socket_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  if (options.reuse_port) set_socket_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
  if (address.family() == AF_INET6) set_socket_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, options.v6_only);
  if (::bind(fd.get(), address.data(), address.size()) != 0) return errno_code(errno);
  if (::listen(fd.get(), options.backlog) != 0) return errno_code(errno);
  TcpListener listener;
  listener.state_ = std::make_unique<State>(reactor, std::move(fd));
  return listener;
}

TcpListener::TcpListener() = default;
TcpListener::TcpListener(TcpListener&&) noexcept = default;
TcpListener& TcpListener::operator=(TcpListener&&) noexcept = default;
TcpListener::~TcpListener() = default;

void TcpListener::close() {
  if (!state_) return;
  state_->ready.set();  // wakes accept() waiters, which then see the listener closed
  state_.reset();
}

std::optional<FileDescriptor> TcpListener::try_accept_fd() {
  if (!state_) return std::nullopt;
  state_->arm();
  if (state_->accepted.empty()) return std::nullopt;
  int fd = state_->accepted.front();
  state_->accepted.pop_front();
  return FileDescriptor(fd);
}

std::optional<TcpStream> TcpListener::try_accept() {
  auto fd = try_accept_fd();
  if (!fd) return std::nullopt;
  return TcpStream(*state_->reactor, std::move(*fd));
}

Task<Result<FileDescriptor>> TcpListener::accept_fd() {
  for (;;) {
    if (!state_) co_return errno_code(EBADF);
    if (auto fd = try_accept_fd()) co_return std::move(*fd);
    state_->ready.reset();
    co_await state_->ready.wait();
  }
}

Task<Result<TcpStream>> TcpListener::accept() {
  for (;;) {
    if (!state_) co_return errno_code(EBADF);
    if (auto stream = try_accept()) co_return std::move(*stream);
    state_->ready.reset();
    co_await state_->ready.wait();
  }
}

std::uint16_t TcpListener::local_port() const {
  if (!state_) return 0;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(state_->fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
}

std::uint64_t TcpListener::fd_exhaustion_count() const {
  return state_ ? state_->fd_exhaustion : 0;
}

}  // namespace io
