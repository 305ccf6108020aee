// The monotonic clock (CLOCK_MONOTONIC, as std::chrono::steady_clock), read through the vDSO's
// clock_gettime directly. Going through libstdc++'s steady_clock::now and libc's clock_gettime
// maps a 64 KiB block of each library's code into the process the first time a connection
// reads the clock (the kernel maps code around a fault, 64 KiB at a time): 128 kB of a server's
// peak RSS for two small functions. Falls back to libc where the vDSO lacks the function (or
// is hidden, as under valgrind).
#pragma once

#include <chrono>

namespace io {

// Time since an unspecified start, equal to steady_clock::now().time_since_epoch().
std::chrono::nanoseconds monotonic_now() noexcept;

// Whether monotonic_now() calls the vDSO directly (for tests).
bool monotonic_clock_uses_vdso() noexcept;

}  // namespace io
