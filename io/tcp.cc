#include "io/tcp.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <thread>

#include "io/buffer_ring.h"
#include "io/log.h"

namespace io {

// --- addresses ---------------------------------------------------------------------------

namespace {
std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}
}  // namespace

Result<SocketAddress> SocketAddress::parse(std::string_view ip, std::uint16_t port) {
  std::string text(strip_brackets(ip));
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len_ = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  return errno_code(EINVAL);
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  a.len_ = std::min<socklen_t>(len, sizeof(a.storage_));
  std::memcpy(&a.storage_, sa, a.len_);
  return a;
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::to_string() const {
  if (family() == AF_INET6) return "[" + ip() + "]:" + std::to_string(port());
  return ip() + ":" + std::to_string(port());
}

// --- resolution --------------------------------------------------------------------------

namespace {

struct ResolveJob {
  std::string host;
  std::uint16_t port = 0;
  FileDescriptor done_signal{eventfd(0, EFD_CLOEXEC)};
  int status = 0;
  std::vector<SocketAddress> addresses;
};

void resolve_blocking(ResolveJob& job) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  job.status = getaddrinfo(job.host.c_str(), nullptr, &hints, &list);
  if (job.status == 0) {
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
      SocketAddress a = SocketAddress::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
      auto numeric = SocketAddress::parse(a.ip(), job.port);
      if (numeric) job.addresses.push_back(*numeric);
    }
    freeaddrinfo(list);
  }
}

}  // namespace

Task<Result<std::vector<SocketAddress>>> resolve(Reactor& reactor, std::string host,
                                                 std::uint16_t port) {
  if (auto numeric = SocketAddress::parse(host, port)) {
    co_return std::vector<SocketAddress>{*numeric};
  }
  if (host.empty()) co_return errno_code(EINVAL);
  auto job = std::make_shared<ResolveJob>();
  job->host = std::move(host);
  job->port = port;
  if (!job->done_signal) co_return errno_code(errno);
  // The worker owns a reference: if this task is cancelled the job outlives it.
  std::thread([job] {
    resolve_blocking(*job);
    std::uint64_t one = 1;
    ssize_t ignored = ::write(job->done_signal.get(), &one, sizeof one);
    (void)ignored;
  }).detach();
  std::uint64_t signal_value = 0;
  int rc = co_await uring_op(reactor, [fd = job->done_signal.get(), &signal_value](io_uring_sqe* sqe) {
    io_uring_prep_read(sqe, fd, &signal_value, sizeof signal_value, 0);
  });
  if (rc < 0) co_return errno_code(-rc);
  if (job->status != 0 || job->addresses.empty()) {
    WSP_LOG_DEBUG("resolve %s: %s", job->host.c_str(), gai_strerror(job->status));
    co_return errno_code(EHOSTUNREACH);
  }
  co_return std::move(job->addresses);
}

std::uint64_t raise_open_files_limit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

// --- file descriptors --------------------------------------------------------------------

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void FileDescriptor::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {
void set_option(int fd, int level, int name, int value) {
  ::setsockopt(fd, level, name, &value, sizeof value);
}
}  // namespace

// --- streams -----------------------------------------------------------------------------

TcpStream::TcpStream() = default;
TcpStream::TcpStream(TcpStream&&) noexcept = default;
TcpStream& TcpStream::operator=(TcpStream&&) noexcept = default;
TcpStream::~TcpStream() = default;

TcpStream::TcpStream(Reactor& reactor, FileDescriptor fd) : reactor_(&reactor), fd_(std::move(fd)) {
  set_option(fd_.get(), IPPROTO_TCP, TCP_NODELAY, 1);
}

Task<Result<TcpStream>> TcpStream::connect(Reactor& reactor, SocketAddress address,
                                           Duration timeout, std::optional<SocketAddress> local) {
  FileDescriptor fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) co_return errno_code(errno);
  if (local) {
    set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
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
      int n = co_await uring_op(*reactor_, [fd = fd_.get(), &message](io_uring_sqe* sqe) {
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

Task<Result<void>> TcpStream::shutdown() {
  int rc = co_await uring_op(*reactor_, [fd = fd_.get()](io_uring_sqe* sqe) {
    io_uring_prep_shutdown(sqe, fd, SHUT_WR);
  });
  if (rc < 0) co_return errno_code(-rc);
  co_return Result<void>{};
}

void TcpStream::close() {
  // shutdown() first: closing the descriptor alone does not end receives the ring holds.
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
  push_.reset();
  fd_.reset();
}

// --- push-style I/O ----------------------------------------------------------------------

// Receives with one multishot recv whose buffers the kernel takes from the reactor's ring, and
// sends with sendmsg. Completions only record and schedule; the handlers run from the ready
// list, where they may even destroy this object.
struct TcpStream::PushIo {
  struct Receiver final : Completion {
    PushIo* owner;
    void on_complete(int result, std::uint32_t flags) override { owner->received(result, flags); }
  };
  struct Sender final : Completion {
    PushIo* owner;
    void on_complete(int result, std::uint32_t) override { owner->sent(result); }
  };
  struct Chunk {
    const std::uint8_t* data;  // in the ring's buffer, or own_buffer
    int result;                // bytes, 0 at EOF, -errno
    std::uint16_t buffer;      // ring buffer id when from_ring
    bool from_ring;
  };

  PushIo(Reactor& r, int socket) : reactor(r), fd(socket), ring(r.buffer_ring()) {
    receiver.owner = this;
    sender.owner = this;
  }
  ~PushIo() {
    if (destroyed_flag) *destroyed_flag = true;
    if (receiver.in_flight()) reactor.cancel_and_wait(&receiver);
    if (sender.in_flight()) reactor.cancel_and_wait(&sender);
    for (const Chunk& c : chunks) {
      if (c.from_ring) ring->release(c.buffer);
    }
  }

  void arm() {
    if (receiver.in_flight() || ended || paused) return;
    cancel_requested = false;
    io_uring_sqe* sqe = reactor.get_sqe();
    if (ring) {
      io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = BufferRing::kGroup;
    } else {
      if (!own_buffer) own_buffer = std::make_unique<std::uint8_t[]>(kOwnBufferSize);
      io_uring_prep_recv(sqe, fd, own_buffer.get(), kOwnBufferSize, 0);
    }
    reactor.submit_tracked(sqe, &receiver);
  }

  void received(int result, std::uint32_t flags) {
    if (result == -ENOBUFS) {
      // The ring ran dry; the receive is re-armed once delivery has returned buffers.
      ++reactor.stats().receive_buffer_shortages;
      ring->ran_dry();
    } else if (result == -ECANCELED && cancel_requested) {
      // Stopped on purpose (back-pressure); re-armed on resume.
      cancel_requested = false;
    } else if (flags & IORING_CQE_F_BUFFER) {
      auto id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
      // Taken now, in completion order: with incremental consumption that order says where
      // in the buffer the bytes are.
      auto bytes = ring->take(id, result > 0 ? static_cast<std::size_t>(result) : 0, flags);
      chunks.push_back({bytes.data(), result, id, true});
    } else {
      chunks.push_back({own_buffer.get(), result, 0, false});
    }
    due_delivery = true;
    reactor.schedule(&work_node);
  }

  // The one ready-list entry for both kinds of work (a node is 40 bytes a connection).
  void run_due_work() {
    if (due_write_end) {
      due_write_end = false;
      bool destroyed = false;
      destroyed_flag = &destroyed;
      written();  // the handler may destroy this object
      if (destroyed) return;
      destroyed_flag = nullptr;
    }
    if (due_delivery) {
      due_delivery = false;
      deliver();
    }
  }

  void deliver() {
    // The handler may destroy this object (it closes the stream): a flag on our own stack
    // tells, so nothing of `this` is touched afterwards.
    bool destroyed = false;
    destroyed_flag = &destroyed;
    BufferRing* buffers = ring;
    std::vector<Chunk> batch;
    batch.swap(chunks);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Chunk& c = batch[i];
      if (destroyed || ended) {
        if (c.from_ring) buffers->release(c.buffer);
        continue;
      }
      if (c.result > 0) {
        bool more = handler->on_received({c.data, static_cast<std::size_t>(c.result)});
        if (c.from_ring) buffers->release(c.buffer);
        if (!destroyed && !more) pause();
      } else {
        if (c.from_ring) buffers->release(c.buffer);
        ended = true;
        handler->on_receive_end(c.result == 0 ? std::error_code{} : errno_code(-c.result));
      }
    }
    if (destroyed) return;
    destroyed_flag = nullptr;
    if (chunks.empty()) {
      batch.clear();
      chunks.swap(batch);  // keep the capacity: no allocation per delivery
    }
    arm();
  }

  void pause() {
    if (paused) return;
    paused = true;
    if (receiver.in_flight() && ring && !cancel_requested) {
      cancel_requested = true;
      io_uring_sqe* sqe = reactor.get_sqe();
      io_uring_prep_cancel(sqe, &receiver, 0);
      io_uring_sqe_set_data(sqe, nullptr);
    }
  }

  void resume() {
    paused = false;
    if (!chunks.empty()) {
      due_delivery = true;
      reactor.schedule(&work_node);
    } else {
      arm();
    }
  }

  void start_write(std::span<const iovec> buffers, WriteHandler& h) {
    write_handler = &h;
    iov.assign(buffers.begin(), buffers.end());
    next = 0;
    submit_send();
  }
  void submit_send() {
    io_uring_sqe* sqe = reactor.get_sqe();
    if (iov.size() - next == 1) {
      // One buffer (the common case): a plain send skips importing a msghdr and iovec.
      io_uring_prep_send(sqe, fd, iov[next].iov_base, iov[next].iov_len, MSG_NOSIGNAL | MSG_WAITALL);
    } else {
      if (!message) message = std::make_unique<msghdr>();
      *message = msghdr{};
      message->msg_iov = iov.data() + next;
      message->msg_iovlen = iov.size() - next;
      io_uring_prep_sendmsg(sqe, fd, message.get(), MSG_NOSIGNAL | MSG_WAITALL);
    }
    reactor.submit_tracked(sqe, &sender);
  }
  void sent(int result) {
    if (result <= 0) {
      write_result = result < 0 ? result : -EPIPE;
      due_write_end = true;
      reactor.schedule(&work_node);
      return;
    }
    auto left = static_cast<std::size_t>(result);
    while (next < iov.size() && left >= iov[next].iov_len) left -= iov[next++].iov_len;
    if (next < iov.size()) {
      iov[next].iov_base = static_cast<char*>(iov[next].iov_base) + left;
      iov[next].iov_len -= left;
      submit_send();  // a short write: send the rest
      return;
    }
    write_result = 0;
    due_write_end = true;
    reactor.schedule(&work_node);
  }
  void written() {
    write_handler->on_written(write_result < 0 ? errno_code(-write_result) : std::error_code{});
  }

  Reactor& reactor;
  int fd;
  BufferRing* ring;
  ReceiveHandler* handler = nullptr;
  Receiver receiver;
  std::vector<Chunk> chunks;
  static constexpr std::size_t kOwnBufferSize = 16 * 1024;
  std::unique_ptr<std::uint8_t[]> own_buffer;  // only without a buffer ring
  CallbackNode<PushIo, &PushIo::run_due_work> work_node{this};
  bool due_delivery = false;
  bool due_write_end = false;
  bool paused = false;
  bool cancel_requested = false;  // our own cancel of the multishot (pause) is in flight
  bool ended = false;
  bool* destroyed_flag = nullptr;  // set while a handler runs (it may destroy this object)

  Sender sender;
  WriteHandler* write_handler = nullptr;
  std::vector<iovec> iov;
  std::size_t next = 0;
  std::unique_ptr<msghdr> message;  // for scatter-gather writes only: most connections never make one
  int write_result = 0;
};

TcpStream::PushIo& TcpStream::push_io() {
  if (!push_) push_ = std::make_unique<PushIo>(*reactor_, fd_.get());
  return *push_;
}

void TcpStream::start_receiving(ReceiveHandler& handler) {
  PushIo& io = push_io();
  io.handler = &handler;
  io.arm();
}

void TcpStream::resume_receiving() {
  if (push_) push_->resume();
}

void TcpStream::start_write(std::span<const iovec> buffers, WriteHandler& handler) {
  push_io().start_write(buffers, handler);
}

void TcpStream::stop_io() { push_.reset(); }

Result<SocketAddress> TcpStream::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return errno_code(errno);
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> TcpStream::remote_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return errno_code(errno);
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<void> TcpStream::set_no_delay(bool enabled) {
  int value = enabled ? 1 : 0;
  if (::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0) {
    return errno_code(errno);
  }
  return {};
}

// --- listener ----------------------------------------------------------------------------

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
  set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  if (options.reuse_port) set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
  if (address.family() == AF_INET6) set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, options.v6_only);
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

std::optional<TcpStream> TcpListener::try_accept() {
  if (!state_) return std::nullopt;
  state_->arm();
  if (state_->accepted.empty()) return std::nullopt;
  int fd = state_->accepted.front();
  state_->accepted.pop_front();
  return TcpStream(*state_->reactor, FileDescriptor(fd));
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
