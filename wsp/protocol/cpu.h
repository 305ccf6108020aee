// CPU feature probe shared by the SIMD loops of the protocol core.
#pragma once

namespace wsp::detail {

// True when the running CPU executes AVX2; computed once.
bool cpu_has_avx2();

}  // namespace wsp::detail
