// BufferRing: a provided-buffer ring (IORING_REGISTER_PBUF_RING) shared by every receive on a
// reactor. The kernel picks a buffer only when data arrives, so an idle connection holds no
// receive buffer at all; a buffer goes back to the ring once its bytes were consumed.
//
// Where the kernel supports it (Linux 6.12), buffers are consumed incrementally
// (IOU_PBUF_RING_INC): a receive takes only the bytes it needs from the current buffer, so
// the small receives of many connections share one buffer and a bulk transfer reads large
// chunks, while the whole ring stays small enough to stay in cache. The ring starts with a few
// buffers and doubles (up to its capacity) when a burst from many connections finds it empty,
// so they find room in the next turn instead of re-arming receives turn after turn.
//
// Small receives (messages of a few hundred bytes) fill a buffer front to back and then move
// to the next, so they would walk through every page of every buffer given to the kernel.
// Instead, a buffer that small receives emptied goes back with only a share of its length (and
// so do the buffers given at start), and it is parked when the kernel already holds four (the
// one it fills and spares enough for a burst of small messages from many connections): its
// pages go back to the system, and the next receive that finds the ring empty brings every
// parked buffer back, whole. The share starts at two pages and grows with the largest batch of
// arrivals seen (one turn's), up to a quarter of a buffer, at once when a batch runs the ring
// dry; the ring grows by whole buffers only after that. Small messages then keep four shares
// resident, as few pages as their traffic needs, not the whole ring. A buffer that bulk
// receives emptied goes back whole, so they read large chunks.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "io/result.h"

namespace io {

class BufferRing {
 public:
  static constexpr std::uint16_t kGroup = 0;

  // `capacity` (a power of two) buffers at most, `initial` of them given to the kernel now.
  // `incremental` fails (EINVAL) on kernels without it.
  static Result<BufferRing*> create(io_uring* ring, unsigned capacity, unsigned initial,
                                    std::size_t buffer_size, bool incremental);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // A completion put `length` bytes in buffer `id` (its CQE flags say whether the kernel
  // will put more there): returns them. They stay valid until release(id).
  std::span<const std::uint8_t> take(std::uint16_t id, std::size_t length, std::uint32_t cqe_flags);
  // The bytes of one take() were consumed. A buffer goes back to the kernel when the kernel
  // has finished with it and every piece taken from it was released.
  void release(std::uint16_t id);
  // Where buffer `id` starts (the ring's memory never moves).
  const std::uint8_t* buffer(std::uint16_t id) const {
    return memory_ + static_cast<std::size_t>(id) * buffer_size_;
  }

  // A receive found the ring empty. When many do in one batch of completions (a burst from
  // many connections) and small receives already get their largest share, more buffers join
  // (doubling, up to the capacity); a few bulk connections that run it dry now and then do
  // better with a small ring that stays in cache.
  void ran_dry();
  // A batch of completions begins: what the last one brought may widen small receives' share.
  void new_batch();
  // Buffers the kernel may fill (given to it so far, whether filled or not).
  unsigned buffers() const { return circulating_; }

  // Gives back to the system the pages of every buffer that holds nothing undelivered
  // (MADV_DONTNEED: they read as zeros and cost nothing until data lands there again); a
  // stream of small messages walks through the whole ring, so an idle server would otherwise
  // keep all of it resident. Only while the kernel cannot write into the ring: with
  // DEFER_TASKRUN receives complete only inside this thread's io_uring_enter. Returns the
  // bytes given back.
  std::size_t give_back_unused_memory();
  // Bytes of the buffers resident now (mincore).
  std::size_t resident_bytes() const;

  bool incremental() const { return incremental_; }
  // The bytes of a buffer small receives get now (see above).
  std::size_t small_receive_share() const { return share_; }
  std::size_t buffer_size() const { return buffer_size_; }

 private:
  BufferRing(io_uring* ring, unsigned count, std::size_t buffer_size, bool incremental);
  // The first `length` bytes of buffer `id`.
  void give_to_kernel(std::uint16_t id, std::size_t length);

  struct Slot {
    std::uint32_t filled = 0;   // bytes the kernel put in this buffer so far
    std::uint32_t pieces = 0;   // taken and not yet released
    std::uint32_t takes = 0;    // completions that put bytes here
    bool kernel_done = false;   // the kernel moved on to the next buffer
  };

  io_uring* ring_;
  unsigned count_;
  unsigned circulating_ = 0;
  unsigned in_kernel_ = 0;  // given to the kernel and not yet finished by it
  std::vector<std::uint16_t> parked_;
  unsigned dry_in_batch_ = 0;
  std::size_t buffer_size_;
  bool incremental_;
  std::size_t largest_share_;  // how much of a buffer small receives get: share_, at most this
  std::size_t share_;
  std::size_t batch_bytes_ = 0;  // taken since new_batch()
  io_uring_buf_ring* entries_ = nullptr;
  std::size_t entries_bytes_ = 0;
  std::uint8_t* memory_ = nullptr;
  std::size_t memory_bytes_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace io
