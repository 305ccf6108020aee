#include "wsp/protocol/buffer_pool.h"

#include <algorithm>
#include <array>
#include <bit>
#include <new>
#include <vector>

namespace wsp {
namespace {

// A class of small buffers keeps at most 128 KiB: every message of a
// reactor turn of pipelined small messages (one turn parses all connections' messages before
// the application takes them); a class of large ones (16 KiB and up) at most 1 MiB, the
// buffers of a few bulk connections. In all at most about 8 MiB stays in a pool.
constexpr unsigned kFirstLargeClass = 14;
constexpr std::size_t kSmallClassBytes = 128 * 1024;
constexpr std::size_t kLargeClassBytes = 1024 * 1024;
// How many of a class's most recently pooled buffers take() looks at for one large enough.
constexpr std::size_t kSearched = 4;
// Blocks kept: one per connection of a busy reactor turn (a block is about 100 bytes).
constexpr std::size_t kMaxBlocks = 1024;

unsigned size_class(std::size_t capacity) { return std::bit_width(capacity) - 1; }

}  // namespace

// The most recently pooled buffers of classes k and up: the first large enough.
std::string BufferPool::take_searching(std::size_t wanted, unsigned k) {
  for (; k <= kLargestClass; ++k) {
    std::vector<std::string>& buffers = bucket(k);
    const std::size_t searched = std::min(buffers.size(), kSearched);
    for (std::size_t i = buffers.size(); i-- > buffers.size() - searched;) {
      if (buffers[i].capacity() < wanted) continue;
      std::string buffer = std::move(buffers[i]);
      if (i + 1 != buffers.size()) buffers[i] = std::move(buffers.back());
      buffers.pop_back();
      return buffer;
    }
  }
  std::string fresh;
  fresh.reserve(wanted);
  return fresh;
}

std::string BufferPool::take(std::size_t at_least) {
  const std::size_t wanted = std::max<std::size_t>(at_least, 1u << kSmallestClass);
  if (wanted > kMaxPooledCapacity) {
    std::string fresh;
    fresh.reserve(wanted);
    return fresh;
  }
  const unsigned k = size_class(wanted);
  std::vector<std::string>& buffers = bucket(k);
  // Pipelined messages of one size: the last buffer given back fits.
  if (!buffers.empty() && buffers.back().capacity() >= wanted) {
    std::string buffer = std::move(buffers.back());
    buffers.pop_back();
    return buffer;
  }
  return take_searching(wanted, k);
}


void BufferPool::keep_or_free(std::string&& buffer) {
  const std::size_t capacity = buffer.capacity();
  const unsigned k = size_class(capacity);
  if (capacity <= kMaxPooledCapacity) {
    std::vector<std::string>& buffers = bucket(k);
    const std::size_t limit = std::max<std::size_t>(
        (k < kFirstLargeClass ? kSmallClassBytes : kLargeClassBytes) >> k, 1);
    if (buffers.size() < limit) {
      buffers.push_back(std::move(buffer));
      buffers.back().clear();
      return;
    }
  }
  std::string().swap(buffer);  // too large, or the class is full: freed here
}

void* BufferPool::take_block(std::size_t size) {
  if (block_size_ == 0) {
    block_size_ = size;
    blocks_.reserve(kMaxBlocks);  // give_back_block() never allocates
  }
  if (size == block_size_ && !blocks_.empty()) {
    void* block = blocks_.back();
    blocks_.pop_back();
    return block;
  }
  return ::operator new(size);
}

void BufferPool::give_back_block(void* block, std::size_t size) noexcept {
  if (size == block_size_ && blocks_.size() < kMaxBlocks) {
    blocks_.push_back(block);
    return;
  }
  ::operator delete(block);
}

BufferPool::~BufferPool() { release_all(); }

void BufferPool::release_all() noexcept {
  for (Bucket& buffers : classes_) Bucket().swap(buffers);
  for (std::string& s : spares_) std::string().swap(s);
  for (void* block : blocks_) ::operator delete(block);
  std::vector<void*>().swap(blocks_);
}

std::size_t BufferPool::pooled() const {
  std::size_t n = 0;
  for (const Bucket& buffers : classes_) n += buffers.size();
  for (const std::string& s : spares_) n += heap_capacity(s) != 0;
  return n;
}

}  // namespace wsp
