// io::trim_malloc_heap on two threads at once, as two reactors do when they go quiet at the same
// moment. Its own binary: only the first trim of a process can race (see reactor.cc), so nothing
// here may have used glibc's allocator before the forks.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "io/reactor.h"

// Under ASan and TSan, whose malloc replaces glibc's, a trim is the first use of glibc's
// allocator, which does not set itself up safely on two threads at once: with both trims
// unguarded, 4 to 10 processes in 40 crashed in glibc's mtrim. Each try is a fresh process. In
// plain builds glibc's allocator is set up before main and this only checks that both return.
TEST_CASE("two threads trimming the heap at once, as a process's first use of glibc's allocator, both return") {
  constexpr int kProcesses = 60;
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // never returns into the test runner
      try {
        std::atomic<bool> go{false};
        auto trim = [&go] {
          while (!go.load()) {
          }
          io::trim_malloc_heap();
        };
        std::thread a(trim), b(trim);
        go = true;
        a.join();
        b.join();
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("process " << i << ", wait status " << status);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
}
