#include "wsp/protocol/cpu.h"

namespace wsp::detail {

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  // Static initialisers may run before libgcc has probed the CPU, hence the explicit init.
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
#else
  return false;
#endif
}

}  // namespace wsp::detail
