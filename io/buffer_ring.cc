#include "io/buffer_ring.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace io {
namespace {

// Not in liburing 2.3's headers (Debian 12): the registration flag (the field liburing calls
// `pad`) and the completion flag of incremental consumption.
constexpr std::uint16_t kIncrementalConsumption = 2;  // IOU_PBUF_RING_INC
constexpr std::uint32_t kBufferMore = 1u << 4;        // IORING_CQE_F_BUF_MORE

// Receives starved in one batch of completions that make the ring grow.
constexpr unsigned kStarvedToGrow = 16;

// A buffer whose receives brought less than 1/32 of it each on average was emptied by small
// messages; the kernel keeps four (see the header: with two, 64 connections with 16 messages of
// 64 bytes in flight ran the ring dry a thousand times in 3 seconds).
constexpr unsigned kSmallReceiveFraction = 32;
constexpr unsigned kKeptForSmallReceives = 4;
// Such a buffer goes back to the kernel with a share of its length: small receives then keep
// only its first pages resident. The share starts at kLeastShare and grows until the kernel
// holds twice the bytes of the largest batch of completions seen (a turn's arrivals), up to a
// quarter of the buffer, which a batch that ran the ring dry gets at once: 64 connections with
// one 64-byte message each in flight need 3 KB a turn, not 128 KiB.
constexpr std::size_t kPage = 4096;
constexpr std::size_t kLeastShare = 2 * kPage;
constexpr unsigned kBatchHeadroom = 2;

// Without incremental consumption a receive takes a whole buffer.
std::size_t largest_share(std::size_t buffer_size, bool incremental) {
  const std::size_t quarter = buffer_size / 4 / kPage * kPage;
  return incremental && quarter > 0 ? quarter : buffer_size;
}

}  // namespace

BufferRing::BufferRing(io_uring* ring, unsigned count, std::size_t buffer_size, bool incremental)
    : ring_(ring),
      count_(count),
      buffer_size_(buffer_size),
      incremental_(incremental),
      largest_share_(largest_share(buffer_size, incremental)),
      share_(std::min(kLeastShare, largest_share_)),
      slots_(count) {
  parked_.reserve(count);  // no allocation on the receive path
}

Result<BufferRing*> BufferRing::create(io_uring* ring, unsigned count, unsigned initial,
                                       std::size_t buffer_size, bool incremental) {
  auto* br = new BufferRing(ring, count, buffer_size, incremental);
  br->entries_bytes_ = count * sizeof(io_uring_buf);
  void* entries = mmap(nullptr, br->entries_bytes_, PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  // Buffer memory is mapped, not allocated: pages count toward RSS only once data lands there.
  br->memory_bytes_ = count * buffer_size;
  void* memory = mmap(nullptr, br->memory_bytes_, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (entries == MAP_FAILED || memory == MAP_FAILED) {
    int err = errno;
    if (entries != MAP_FAILED) munmap(entries, br->entries_bytes_);
    if (memory != MAP_FAILED) munmap(memory, br->memory_bytes_);
    br->entries_ = nullptr;
    br->memory_ = nullptr;
    delete br;
    return errno_code(err);
  }
  br->entries_ = static_cast<io_uring_buf_ring*>(entries);
  br->memory_ = static_cast<std::uint8_t*>(memory);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(entries);
  reg.ring_entries = count;
  reg.bgid = kGroup;
  if (incremental) reg.pad = kIncrementalConsumption;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0) {
    br->ring_ = nullptr;  // nothing registered
    delete br;
    return errno_code(-rc);
  }
  io_uring_buf_ring_init(br->entries_);
  // Until receives say otherwise, the traffic is taken to be small messages.
  for (unsigned i = 0; i < std::min(initial, count); ++i) {
    br->give_to_kernel(static_cast<std::uint16_t>(i), br->share_);
  }
  br->circulating_ = std::min(initial, count);
  return br;
}

void BufferRing::ran_dry() {
  // Parked buffers first: they are the ring's own, already counted in circulating_.
  for (std::uint16_t id : parked_) give_to_kernel(id, buffer_size_);
  parked_.clear();
  // While small receives get less than a quarter, the share grows instead (new_batch()).
  if (++dry_in_batch_ != kStarvedToGrow || share_ < largest_share_) return;
  const unsigned added = std::min(circulating_, count_ - circulating_);
  for (unsigned i = 0; i < added; ++i) {
    give_to_kernel(static_cast<std::uint16_t>(circulating_ + i), buffer_size_);
  }
  circulating_ += added;
}

BufferRing::~BufferRing() {
  if (ring_ && entries_) io_uring_unregister_buf_ring(ring_, kGroup);
  if (entries_) munmap(entries_, entries_bytes_);
  if (memory_) munmap(memory_, memory_bytes_);
}

std::span<const std::uint8_t> BufferRing::take(std::uint16_t id, std::size_t length,
                                               std::uint32_t cqe_flags) {
  Slot& slot = slots_[id];
  // Incremental consumption fills a buffer front to back, completions in order: the bytes
  // follow those of the previous completion that used this buffer.
  const std::uint8_t* at = buffer(id) + slot.filled;
  batch_bytes_ += length;
  slot.filled += static_cast<std::uint32_t>(length);
  ++slot.pieces;
  ++slot.takes;
  if (!slot.kernel_done && (!incremental_ || !(cqe_flags & kBufferMore))) {
    slot.kernel_done = true;
    --in_kernel_;
  }
  return {at, length};
}

void BufferRing::release(std::uint16_t id) {
  Slot& slot = slots_[id];
  if (--slot.pieces != 0 || !slot.kernel_done) return;
  const bool small_receives =
      std::size_t{slot.filled} * kSmallReceiveFraction < std::size_t{slot.takes} * buffer_size_;
  if (!incremental_ || !small_receives) {
    give_to_kernel(id, buffer_size_);
    return;
  }
  std::uint8_t* const start = memory_ + static_cast<std::size_t>(id) * buffer_size_;
  if (in_kernel_ >= kKeptForSmallReceives) {
    slots_[id] = Slot{};
    ::madvise(start, buffer_size_, MADV_DONTNEED);
    parked_.push_back(id);
    return;
  }
  const std::size_t length = share_;
  // Given whole before (a burst), it goes on short: the pages past its new end go back.
  if (slot.filled > length) ::madvise(start + length, buffer_size_ - length, MADV_DONTNEED);
  give_to_kernel(id, length);
}

void BufferRing::new_batch() {
  if (share_ < largest_share_) {
    // Twice the last batch over four buffers; a batch that ran the ring dry (bulk data, or a
    // burst larger than that) gets the largest share at once.
    std::size_t wanted = batch_bytes_ * kBatchHeadroom / kKeptForSmallReceives;
    if (dry_in_batch_ > 0) wanted = largest_share_;
    if (wanted > share_) share_ = std::min((wanted + kPage - 1) / kPage * kPage, largest_share_);
  }
  batch_bytes_ = 0;
  dry_in_batch_ = 0;
}

std::size_t BufferRing::give_back_unused_memory() {
  // In runs of neighbouring buffers: one madvise each.
  std::size_t given = 0;
  unsigned id = 0;
  while (id < circulating_) {
    if (slots_[id].pieces != 0) {
      ++id;
      continue;
    }
    const unsigned first = id;
    while (id < circulating_ && slots_[id].pieces == 0) ++id;
    const std::size_t bytes = static_cast<std::size_t>(id - first) * buffer_size_;
    if (::madvise(memory_ + static_cast<std::size_t>(first) * buffer_size_, bytes, MADV_DONTNEED) == 0) {
      given += bytes;
    }
  }
  return given;
}

std::size_t BufferRing::resident_bytes() const {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((memory_bytes_ + page - 1) / page);
  if (::mincore(memory_, memory_bytes_, pages.data()) != 0) return 0;
  return page * static_cast<std::size_t>(std::count_if(pages.begin(), pages.end(),
                                                       [](unsigned char p) { return p & 1; }));
}

void BufferRing::give_to_kernel(std::uint16_t id, std::size_t length) {
  slots_[id] = Slot{};
  ++in_kernel_;
  io_uring_buf_ring_add(entries_, memory_ + static_cast<std::size_t>(id) * buffer_size_,
                        static_cast<unsigned>(length), id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
}

}  // namespace io
