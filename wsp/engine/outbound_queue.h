// OutboundQueue: messages the protocol serialized and the stream has not written yet. It counts
// them toward the outbound limits and assembles each write: all pending output in one piece,
// or, when large messages were given away (zero-copy), the output interleaved with those
// payloads, each written from its own buffer right after its frame header, and with frames
// shared by reference (SharedFrame: publish/subscribe writes one frame to many connections).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/frame_pool.h"
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
  bool writing() const { return busy_ && busy_->single.iov_base; }
  // Heap bytes of the write in progress (its output and payloads) and of the given-away
  // payloads waiting.
  std::size_t buffer_capacity() const {
    if (!busy_) return 0;
    std::size_t n = sizeof(Busy);
    if (writing()) n += heap_capacity(busy_->output);
    if (const Pieces* pieces = busy_->pieces.get()) {
      n += sizeof(Pieces);
      for (const Piece& p : pieces->writing) n += heap_capacity(p.data);
      for (const Piece& p : pieces->next) n += heap_capacity(p.data);
    }
    return n;
  }

  // The counts take 32 bits (thousands of connections): limits are at most this.
  static constexpr std::size_t kMostQueued = std::numeric_limits<std::uint32_t>::max();
  // Whether `max_count` messages or `max_bytes` payload bytes (each at most kMostQueued) would
  // be passed by one more message of `size` bytes.
  bool too_many(std::size_t max_count) const { return count_ >= max_count; }
  bool too_big(std::size_t size, std::size_t max_bytes) const { return bytes_ + size > max_bytes; }
  // Whether a given-away message of `size` bytes should travel in its own buffer.
  bool takes_own_buffer(std::size_t size) const {
    return size >= kZeroCopyMin && takes_shared_frame();
  }

  // A message of `payload_size` bytes was serialized into the protocol's output.
  void queued(std::size_t payload_size) {
    ++count_;
    bytes_ += static_cast<std::uint32_t>(payload_size);  // too_big() keeps it in range
  }
  // The same for a payload written from its own buffer after the output pending at `at`.
  void queued_owned(std::size_t payload_size, std::size_t at, std::string&& payload) {
    queued(payload_size);
    add_piece({at, std::move(payload), {}});
  }

  // Whether a shared frame can go by reference (else its bytes are copied into the output).
  bool takes_shared_frame() const {
    return !busy_ || !busy_->pieces || busy_->pieces->next.size() < kMaxPieces;
  }
  // Pieces queued to be written from their own buffers (the protocol's output may be empty).
  bool has_pieces() const { return busy_ && busy_->pieces && !busy_->pieces->next.empty(); }
  // A whole frame written from `frame`'s bytes after the output pending at `at`.
  void queued_shared(std::size_t at, SharedFrameRef frame) {
    queued(frame->payload().size());
    add_piece({at, {}, std::move(frame)});
  }

  // Takes all of the protocol's pending output for one write and returns the pieces to write
  // (valid until written()).
  std::span<const iovec> start_write(Protocol& protocol) {
    const bool with_pieces = has_pieces();
    Busy& b = busy();  // fresh but for the pieces queued: see written()
    protocol.take_output(b.output);
    b.count = count_;
    b.bytes = bytes_;
    b.single = {b.output.data(), b.output.size()};  // never null: the write is in progress
    if (!with_pieces) return {&b.single, 1};
    Pieces& w = *b.pieces;
    w.writing.swap(w.next);  // `next` takes the emptied vector of the last write
    std::size_t from = 0, written = 0;
    for (Piece& p : w.writing) {
      if (p.at > from) w.parts.push_back({b.output.data() + from, p.at - from});
      written += p.at - from;
      if (p.shared) {
        const std::string_view bytes = p.shared->bytes();
        w.parts.push_back({const_cast<char*>(bytes.data()), bytes.size()});
      } else {
        w.parts.push_back({p.data.data(), p.data.size()});
      }
      written += w.parts.back().iov_len;
      p.end = written;
      from = p.at;
    }
    if (b.output.size() > from) w.parts.push_back({b.output.data() + from, b.output.size() - from});
    return w.parts;
  }
  // The first `bytes` bytes of the write went out: `recycle` gets each given-away payload among
  // them now, so a write of several large messages frees each as it goes.
  template <typename Recycle>
  void written_some(std::size_t bytes, Recycle&& recycle) {
    Pieces* w = busy_->pieces.get();
    if (!w) return;
    for (; w->recycled < w->writing.size() && w->writing[w->recycled].end <= bytes; ++w->recycled) {
      Piece& p = w->writing[w->recycled];
      if (!p.shared) recycle(std::move(p.data));
    }
  }
  // The write ended. On success its messages leave the queue, `recycle` gets each payload
  // that was given away, and the output buffer goes back to `buffers` (which frees one over
  // its largest class). Either way the write's state is freed: a quiet connection holds none.
  template <typename Recycle>
  void written(bool ok, BufferPool& buffers, Recycle&& recycle) {
    if (ok) {
      written_some(std::numeric_limits<std::size_t>::max(), recycle);
      count_ -= busy_->count;
      bytes_ -= busy_->bytes;
      buffers.give_back_spare(BufferPool::Use::output, std::move(busy_->output));
    }
    if (!has_pieces()) {
      busy_.reset();
      return;
    }
    Busy& b = *busy_;
    b.output = std::string();
    b.single = {};
    b.count = b.bytes = 0;
    b.pieces->writing.clear();
    b.pieces->recycled = 0;
    b.pieces->parts.clear();
  }

 private:
  static constexpr std::size_t kMaxPieces = 256;
  struct Piece {
    std::size_t at;  // offset into the pending output the payload follows
    std::string data;
    SharedFrameRef shared;  // instead of `data`: a whole frame, header included
    std::size_t end = 0;    // in a write: where its bytes end, counted from the write's start
  };
  // Given-away payloads and shared frames: those queued for the next write, and those in the
  // write in progress with what the stream writes, the output and the pieces interleaved.
  struct Pieces : io::frame_pool::Pooled {
    std::vector<Piece> next;
    std::vector<Piece> writing;
    std::size_t recycled = 0;  // of `writing`, those whose payload went back as written_some()
    std::vector<iovec> parts;
  };
  // What the queue holds only while it is in use, behind one pointer (thousands of idle
  // connections): the write in progress, in 64 bytes (every connection that writes holds one
  // until the write ends), and the pieces behind another (large messages, publish/subscribe).
  struct Busy : io::frame_pool::Pooled {
    std::string output;
    iovec single{};  // what the stream writes without pieces; set while a write is in progress
    std::uint32_t count = 0, bytes = 0;  // what the write takes off the queue
    std::unique_ptr<Pieces> pieces;
  };
  static_assert(sizeof(Busy) <= 64);
  Busy& busy() {
    if (!busy_) busy_ = std::make_unique<Busy>();
    return *busy_;
  }
  void add_piece(Piece&& piece) {
    std::unique_ptr<Pieces>& pieces = busy().pieces;
    if (!pieces) pieces = std::make_unique<Pieces>();
    pieces->next.push_back(std::move(piece));
  }

  std::uint32_t count_ = 0;
  std::uint32_t bytes_ = 0;
  std::unique_ptr<Busy> busy_;  // null while nothing is written or queued in pieces

 public:
  static constexpr std::size_t kBusySize = sizeof(Busy);  // for bench:memory_layout
};

}  // namespace wsp
