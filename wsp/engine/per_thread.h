// What the connections of one thread share: the buffer pool their protocols assemble messages
// and output in, and the masking keys of their client frames. Per thread, so no locking.
#pragma once

#include "wsp/engine/random_mask_keys.h"
#include "wsp/protocol/buffer_pool.h"

namespace wsp {

BufferPool& thread_buffer_pool();
RandomMaskKeys& thread_mask_keys();

}  // namespace wsp
