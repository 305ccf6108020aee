#include "io/signals.h"

#include "io/file_descriptor.h"
#include "io/operation.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>


namespace io {

Result<void> block_signals(const std::vector<int>& signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (int rc = pthread_sigmask(SIG_BLOCK, &mask, nullptr); rc != 0) return errno_code(rc);
  return {};
}

Task<Result<int>> wait_for_signal(Reactor& reactor, std::vector<int> signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) co_return errno_code(errno);
  FileDescriptor fd(signalfd(-1, &mask, SFD_CLOEXEC));
  if (!fd) co_return errno_code(errno);
  signalfd_siginfo info{};
  int n = co_await uring_op(reactor, [&](io_uring_sqe* sqe) {
    io_uring_prep_read(sqe, fd.get(), &info, sizeof info, 0);
  });
  if (n < 0) co_return errno_code(-n);
  co_return static_cast<int>(info.ssi_signo);
}

}  // namespace io
