#include "wsp/engine/per_thread.h"

#include "io/reactor.h"

namespace wsp {
namespace {

// The pool of the reactor thread that trims is the one it empties.
[[maybe_unused]] const bool pool_released_on_trim =
    (io::add_heap_trim_hook([] { thread_buffer_pool().release_all(); }), true);

}  // namespace

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
