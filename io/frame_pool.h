// Per-thread free lists for coroutine frames. A connection awaits reads and writes millions of
// times; recycling frames by size class keeps the hot path free of malloc.
#pragma once

#include <cstddef>

namespace io::frame_pool {

void* allocate(std::size_t size);
void deallocate(void* p, std::size_t size) noexcept;

}  // namespace io::frame_pool
