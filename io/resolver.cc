#include "io/resolver.h"

#include <netdb.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "io/file_descriptor.h"
#include "io/log.h"
#include "io/operation.h"
#include "io/reactor.h"

namespace io {

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

}  // namespace io
