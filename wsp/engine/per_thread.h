// What the connections of one thread share: the buffer pool their protocols assemble messages
// and output in, the masking keys of their client frames, and the zlib streams of
// permessage-deflate's shared mode. Per thread, so no locking.
#pragma once

#include "wsp/engine/random_mask_keys.h"
#include "wsp/protocol/buffer_pool.h"
#include "wsp/protocol/permessage_deflate.h"

namespace wsp {

BufferPool& thread_buffer_pool();
RandomMaskKeys& thread_mask_keys();
// Made on first use: a thread that never compresses holds no zlib state.
SharedDeflateStreams& thread_deflate_streams();

}  // namespace wsp
