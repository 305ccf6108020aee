// Where the protocol core gets the buffers it assembles messages and output in, and where it
// hands back the ones it no longer needs. The core keeps no pool of its own: the engine passes
// the pool its thread's connections share (wsp/engine/buffer_pool.h); without one, buffers are
// plainly allocated and freed.
#pragma once

#include <cstddef>
#include <string>

namespace wsp {

class BufferSource {
 public:
  // An empty buffer with capacity >= at_least.
  virtual std::string take(std::size_t at_least) = 0;
  // Takes back a buffer its holder is done with; `buffer` is left empty.
  virtual void give_back(std::string&& buffer) = 0;
  // Buffers above this capacity are not handed back: their holder keeps or frees them.
  virtual std::size_t max_pooled_capacity() const = 0;

 protected:
  ~BufferSource() = default;
};

// Allocates on take() and frees on give_back(); keeps nothing.
BufferSource& allocating_buffers();

}  // namespace wsp
