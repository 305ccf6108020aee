// OutboundQueue: messages the protocol serialized and the stream has not written yet. It counts
// them toward the outbound limits and assembles each write: all pending output in one piece,
// or, when large messages were given away (zero-copy), the output interleaved with those
// payloads, each written from its own buffer right after its frame header, and with frames
// shared by reference (SharedFrame: publish/subscribe writes one frame to many connections).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "wsp/engine/shared_frame.h"
#include "wsp/protocol/buffer_pool.h"
#include "wsp/protocol/protocol.h"

namespace wsp {

class OutboundQueue {
 public:
  // Messages at least this large, when given away, are written from their own buffer; smaller
  // ones are cheaper to copy into the output than to write as a separate piece.
  static constexpr std::size_t kZeroCopyMin = 16 * 1024;

  // Messages and payload bytes not yet fully written (headers excluded).
  std::size_t count() const { return count_; }
  std::size_t bytes() const { return bytes_; }
  bool writing() const { return writing_; }

  // Whether `max_count` messages or `max_bytes` payload bytes (0: unlimited) would be passed
  // by one more message of `size` bytes.
  bool too_many(std::size_t max_count) const { return count_ >= max_count; }
  bool too_big(std::size_t size, std::size_t max_bytes) const {
    return max_bytes > 0 && bytes_ + size > max_bytes;
  }
  // Whether a given-away message of `size` bytes should travel in its own buffer.
  bool takes_own_buffer(std::size_t size) const {
    return size >= kZeroCopyMin && (!owned_ || owned_->queued.size() < kMaxOwnedPayloads);
  }

  // A message of `payload_size` bytes was serialized into the protocol's output.
  void queued(std::size_t payload_size) {
    ++count_;
    bytes_ += payload_size;
  }
  // The same for a payload written from its own buffer after the output pending at `at`.
  void queued_owned(std::size_t payload_size, std::size_t at, std::string&& payload) {
    queued(payload_size);
    if (!owned_) owned_ = std::make_unique<Owned>();
    owned_->queued.push_back({at, std::move(payload), {}});
  }

  // Whether a shared frame can go by reference (else its bytes are copied into the output).
  bool takes_shared_frame() const { return !owned_ || owned_->queued.size() < kMaxOwnedPayloads; }
  // Pieces queued to be written from their own buffers (the protocol's output may be empty).
  bool has_pieces() const { return owned_ && !owned_->queued.empty(); }
  // A whole frame written from `frame`'s bytes after the output pending at `at`.
  void queued_shared(std::size_t at, SharedFrameRef frame) {
    queued(frame->payload().size());
    if (!owned_) owned_ = std::make_unique<Owned>();
    owned_->queued.push_back({at, {}, std::move(frame)});
  }

  // Takes all of the protocol's pending output for one write and returns the pieces to write
  // (valid until written()).
  std::span<const iovec> start_write(Protocol& protocol) {
    protocol.take_output(buffer_);
    writing_count_ = count_;
    writing_bytes_ = bytes_;
    writing_ = true;
    if (!owned_ || owned_->queued.empty()) {
      single_ = {buffer_.data(), buffer_.size()};
      return {&single_, 1};
    }
    Owned& o = *owned_;
    o.writing.swap(o.queued);
    o.parts.clear();
    std::size_t from = 0;
    for (OwnedPayload& p : o.writing) {
      if (p.at > from) o.parts.push_back({buffer_.data() + from, p.at - from});
      if (p.shared) {
        const std::string_view bytes = p.shared->bytes();
        o.parts.push_back({const_cast<char*>(bytes.data()), bytes.size()});
      } else {
        o.parts.push_back({p.data.data(), p.data.size()});
      }
      from = p.at;
    }
    if (buffer_.size() > from) o.parts.push_back({buffer_.data() + from, buffer_.size() - from});
    return o.parts;
  }
  // The write ended. On success its messages leave the queue, `recycle` gets each payload
  // that was given away, and the output buffer goes back to `buffers` (a larger one is kept
  // for the next write while writes fill a good part of it: a quiet connection holds none).
  template <typename Recycle>
  void written(bool ok, BufferPool& buffers, Recycle&& recycle) {
    writing_ = false;
    if (!ok) return;
    count_ -= writing_count_;
    bytes_ -= writing_bytes_;
    writing_count_ = writing_bytes_ = 0;
    if (owned_) {
      for (OwnedPayload& p : owned_->writing) {
        if (!p.shared) recycle(std::move(p.data));
      }
      owned_->writing.clear();
    }
    const std::size_t capacity = buffer_.capacity();
    if (capacity <= BufferPool::kMaxPooledCapacity) {
      buffers.give_back(std::move(buffer_));
    } else if (buffer_.size() < capacity / 4) {
      std::string().swap(buffer_);
    }
  }

 private:
  static constexpr std::size_t kMaxOwnedPayloads = 256;
  struct OwnedPayload {
    std::size_t at;  // offset into the pending output the payload follows
    std::string data;
    SharedFrameRef shared;  // instead of `data`: a whole frame, header included
  };
  struct Owned {  // made on the first given-away message: most connections never need it
    std::vector<OwnedPayload> queued, writing;
    std::vector<iovec> parts;
  };

  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  // Of them, those in the write in progress (a write takes all pending output, so they end
  // together).
  std::size_t writing_count_ = 0;
  std::size_t writing_bytes_ = 0;
  bool writing_ = false;
  std::string buffer_;
  iovec single_{};
  std::unique_ptr<Owned> owned_;
};

}  // namespace wsp
