// BufferPool: buffers (messages being assembled, serialized output) shared by the connections
// of a thread. A message that was echoed or forwarded hands its buffer back and the next
// message of any connection is assembled in it: pipelined small messages cost no allocation,
// bulk transfers reuse their large buffers, and a connection keeps no buffer between bursts.
// Bounded, so a burst does not pin memory; not thread-safe. The protocol core takes one from
// its caller (ProtocolConfig::buffers): the engine passes its thread's pool
// (wsp/engine/per_thread.h), and without one buffers are plainly allocated and freed.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <string>
#include <vector>

namespace wsp {

// Bytes a string holds on the heap (none while its text fits the inline storage).
inline std::size_t heap_capacity(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() : 0;
}

class BufferPool {
 public:
  // Larger buffers are freed when given back: kept, they would pin memory (a few MiB each)
  // long after the burst of large messages that needed them.
  static constexpr std::size_t kMaxPooledCapacity = 1024 * 1024;

  // An empty buffer with capacity >= at_least: a pooled one when it fits, else a new one.
  std::string take(std::size_t at_least);
  // Keeps `buffer` for a later take() if it is small and the pool has room; frees it
  // otherwise. `buffer` is left empty.
  void give_back(std::string&& buffer) {
    if (buffer.capacity() >= 64) {
      keep_or_free(std::move(buffer));
    } else {
      buffer.clear();  // inline storage: nothing to keep
    }
  }
  // Two buffers kept apart from the classes for the two uses that come back with every
  // message (a connection of one message per read takes and gives back both each time): the
  // payload a parse pass fills and the output a write takes. A spare moves in and out, where a
  // class costs a search and a vector's push or pop. Larger than kMaxSpareCapacity: a class's.
  enum class Use : std::uint8_t { payload, output };
  static constexpr std::size_t kMaxSpareCapacity = 16 * 1024;
  // The spare for `use`, if there is one, into `into` (which holds no buffer of its own).
  void take_spare(Use use, std::string& into) {
    std::string& s = spare(use);
    if (heap_capacity(s) != 0) into = std::move(s);
  }
  // Kept as the spare for `use` when there is none and it is small enough, else give_back().
  void give_back_spare(Use use, std::string&& buffer) {
    std::string& s = spare(use);
    if (heap_capacity(s) == 0 && buffer.capacity() <= kMaxSpareCapacity) {
      buffer.clear();
      s = std::move(buffer);
    } else {
      give_back(std::move(buffer));
    }
  }

  // Buffers held, spares included (for tests).
  std::size_t pooled() const;
  // Frees every buffer and block held: once a burst is over (the reactor's quiet-period trim),
  // what the pool kept for it would otherwise stay resident.
  void release_all() noexcept;

  // Blocks of one size, for state made and freed around every message (a Protocol's buffers'
  // holder): kept, up to a bound, for the next take_block() of that size; other sizes are
  // plain allocations.
  void* take_block(std::size_t size);
  void give_back_block(void* block, std::size_t size) noexcept;
  // Blocks held (for tests).
  std::size_t pooled_blocks() const { return blocks_.size(); }

  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  ~BufferPool();

 private:
  // Class k holds capacities in [2^k, 2^(k+1)), from 64 bytes (std::string keeps up to 15
  // inline; smaller ones are not worth pooling) to kMaxPooledCapacity.
  static constexpr unsigned kSmallestClass = 6;
  static_assert(1u << kSmallestClass == 64, "give_back() tests the smallest class inline");
  static constexpr unsigned kLargestClass = std::bit_width(kMaxPooledCapacity) - 1;
  using Bucket = std::vector<std::string>;

  void keep_or_free(std::string&& buffer);
  std::string take_searching(std::size_t wanted, unsigned size_class);
  Bucket& bucket(unsigned size_class) { return classes_[size_class - kSmallestClass]; }

  std::array<Bucket, kLargestClass - kSmallestClass + 1> classes_;
  std::string& spare(Use use) { return spares_[static_cast<std::size_t>(use)]; }
  std::array<std::string, 2> spares_;
  std::size_t block_size_ = 0;  // set by the first take_block()
  std::vector<void*> blocks_;
};

}  // namespace wsp
