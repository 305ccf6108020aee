#include "wsp/engine/per_thread.h"

namespace wsp {

BufferPool& thread_buffer_pool() {
  thread_local BufferPool pool;
  return pool;
}

RandomMaskKeys& thread_mask_keys() {
  thread_local RandomMaskKeys keys;
  return keys;
}

SharedDeflateStreams& thread_deflate_streams() {
  thread_local SharedDeflateStreams streams;
  return streams;
}

}  // namespace wsp
