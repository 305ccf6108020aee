// BufferRing: a provided-buffer ring (IORING_REGISTER_PBUF_RING) shared by every receive on a
// reactor. The kernel picks a buffer only when data arrives, so an idle connection holds no
// receive buffer at all; a buffer goes back to the ring as soon as its bytes were consumed.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "io/result.h"

namespace io {

class BufferRing {
 public:
  static constexpr std::uint16_t kGroup = 0;

  // `count` must be a power of two.
  static Result<BufferRing*> create(io_uring* ring, unsigned count, std::size_t buffer_size);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  std::span<const std::uint8_t> buffer(std::uint16_t id, std::size_t length) const {
    return {memory_ + static_cast<std::size_t>(id) * buffer_size_, length};
  }
  // Hands buffer `id` back to the kernel.
  void recycle(std::uint16_t id);
  std::size_t buffer_size() const { return buffer_size_; }

 private:
  BufferRing(io_uring* ring, unsigned count, std::size_t buffer_size);

  io_uring* ring_;
  unsigned count_;
  std::size_t buffer_size_;
  io_uring_buf_ring* entries_ = nullptr;
  std::size_t entries_bytes_ = 0;
  std::uint8_t* memory_ = nullptr;
  std::size_t memory_bytes_ = 0;
};

}  // namespace io
