// permessage-deflate (RFC 7692 §7.2): one connection's compressor and decompressor over zlib,
// sans-IO. A message is compressed, or inflated, whole and in one call, so streams without
// context takeover can be shared by every connection of a thread (SharedDeflateStreams).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wsp/protocol/buffer_pool.h"
#include "wsp/protocol/deflate_negotiation.h"

struct z_stream_s;

namespace wsp {

class PerMessageDeflate;
struct DeflateStats;

// zlib streams shared by the connections of one thread when nothing is kept between
// messages: one decompressor (15-bit window) and one compressor per window size, each made
// on first use and reset before each message. Not thread-safe; the engine keeps one per
// thread (wsp/engine/per_thread.h).
class SharedDeflateStreams {
 public:
  SharedDeflateStreams() = default;
  ~SharedDeflateStreams();
  SharedDeflateStreams(const SharedDeflateStreams&) = delete;
  SharedDeflateStreams& operator=(const SharedDeflateStreams&) = delete;

  // A compressor for `window_bits` (9..15), reset and set to `level`; null when zlib has no
  // memory.
  z_stream_s* compressor(int window_bits, int level);
  // The decompressor, reset; null when zlib has no memory.
  z_stream_s* decompressor();
  // Streams made so far (for tests).
  int streams() const;

  // The PerMessageDeflate that every connection of this thread with `config` uses when it
  // keeps no state of its own (shared, no context takeover either way, no per-connection
  // counters), made on first use; `key` identifies the configuration (DeflateSlot's word).
  PerMessageDeflate* stateless(const DeflateConfig& config, std::uint64_t key);
  // What those connections compressed and inflated, summed.
  DeflateStats stats() const;

 private:
  std::array<z_stream_s*, 7> compressors_{};  // windows 9..15
  std::array<int, 7> levels_{};
  z_stream_s* decompressor_ = nullptr;
  std::vector<std::pair<std::uint64_t, std::unique_ptr<PerMessageDeflate>>> stateless_;
};

struct DeflateStats {
  std::uint64_t messages_compressed = 0;
  std::uint64_t bytes_before_compression = 0;  // payload bytes of the messages compressed
  std::uint64_t bytes_after_compression = 0;   // what they took on the wire
  std::uint64_t messages_inflated = 0;
  std::uint64_t bytes_before_inflation = 0;    // compressed payload bytes received
  std::uint64_t bytes_after_inflation = 0;

  DeflateStats& operator+=(const DeflateStats& o) {
    messages_compressed += o.messages_compressed;
    bytes_before_compression += o.bytes_before_compression;
    bytes_after_compression += o.bytes_after_compression;
    messages_inflated += o.messages_inflated;
    bytes_before_inflation += o.bytes_before_inflation;
    bytes_after_inflation += o.bytes_after_inflation;
    return *this;
  }
};

class PerMessageDeflate {
 public:
  enum class InflateResult : std::uint8_t {
    ok,
    too_big,   // the inflated message would pass the limit (close 1009)
    invalid,   // not a valid DEFLATE stream (close 1007)
    no_memory, // zlib could not allocate its state (close 1011)
  };

  // `shared` (required when config.shared) is borrowed and must outlive this object.
  PerMessageDeflate(const DeflateConfig& config, SharedDeflateStreams* shared);
  ~PerMessageDeflate();
  PerMessageDeflate(const PerMessageDeflate&) = delete;
  PerMessageDeflate& operator=(const PerMessageDeflate&) = delete;

  // Whether a message of `size` bytes goes out compressed (config.min_size).
  bool should_compress(std::size_t size) const { return size >= config_.min_size; }

  // Compresses one message (§7.2.1): DEFLATE blocks ended by an empty stored block whose
  // 00 00 ff ff is removed. `out` is overwritten. False (send it uncompressed) when zlib has
  // no memory, or, when no context is kept, when compressing did not make it smaller.
  bool compress(const std::uint8_t* data, std::size_t size, std::string& out);

  // Inflates one whole message's payload (§7.2.2): `in` gets 00 00 ff ff appended. Output
  // goes into `out` (overwritten), which grows step by step and never past `limit` bytes
  // (0: unlimited): once `limit` bytes are out, one more byte decides too_big. With
  // `buffers`, an `out` too small is swapped for a pooled buffer that fits.
  InflateResult inflate(std::string& in, std::string& out, std::size_t limit,
                        BufferPool* buffers = nullptr);

  const DeflateConfig& config() const { return config_; }
  const DeflateStats& stats() const { return stats_; }
  // How many zlib streams of its own this connection holds now (made on first use): 0-2.
  std::size_t dedicated_streams() const { return (compressor_ != nullptr) + (decompressor_ != nullptr); }

 private:
  z_stream_s* take_compressor();
  z_stream_s* take_decompressor();
  // After a block with BFINAL set (§7.2.3.5 allows it), zlib's stream has ended: start a new
  // one, keeping the window when context is taken over.
  bool restart_decompressor(z_stream_s* z);

  DeflateConfig config_;
  SharedDeflateStreams* shared_;
  z_stream_s* compressor_ = nullptr;    // dedicated: made on first use
  z_stream_s* decompressor_ = nullptr;  // dedicated: made on first use
  DeflateStats stats_;
};

// permessage-deflate in one word: empty (not negotiated), the negotiated DeflateConfig packed
// into the word (what a Protocol's shared config holds: a connection that has not sent or
// received a compressed message costs nothing more), or the PerMessageDeflate made from it on
// first use (owned, until released to the Protocol that keeps it). A configuration that keeps
// nothing per connection (SharedDeflateStreams::stateless) stays packed for good. Copying
// copies the configuration, never zlib state.
class DeflateSlot {
 public:
  DeflateSlot() = default;
  explicit DeflateSlot(const DeflateConfig& config);
  DeflateSlot(const DeflateSlot& other);
  DeflateSlot(DeflateSlot&& other) noexcept : word_(other.word_) { other.word_ = 0; }
  DeflateSlot& operator=(DeflateSlot other) noexcept {
    std::swap(word_, other.word_);
    return *this;
  }
  ~DeflateSlot();

  // The same word: equal configurations not made yet, or the same state (two empty slots are
  // equal, which is what interning a ProtocolConfig needs).
  bool operator==(const DeflateSlot& other) const { return word_ == other.word_; }

  bool negotiated() const { return word_ != 0; }
  explicit operator bool() const { return negotiated(); }
  DeflateConfig config() const;
  bool should_compress(std::size_t size) const { return negotiated() && size >= min_size(); }
  // The PerMessageDeflate, made now if it was not (`shared` as its constructor takes it), or
  // the thread's one for a configuration that keeps nothing per connection; null when not
  // negotiated or when there was no memory for it.
  PerMessageDeflate* get(SharedDeflateStreams* shared);
  // Gives up the PerMessageDeflate it made (the caller owns it now), leaving the slot empty;
  // null if none was made (the slot is left as it was).
  PerMessageDeflate* release() {
    if (packed() || !word_) return nullptr;
    return reinterpret_cast<PerMessageDeflate*>(std::exchange(word_, 0));
  }
  // The PerMessageDeflate if it was made, else null.
  const PerMessageDeflate* made() const { return packed() ? nullptr : reinterpret_cast<const PerMessageDeflate*>(word_); }

  // min_size is kept in 43 bits: a larger one (8 TiB) is taken as 2^43 - 1, which no message
  // reaches either.
  static constexpr std::uint64_t kMaxPackedMinSize = (std::uint64_t{1} << 43) - 1;

 private:
  bool packed() const { return word_ & 1; }
  std::size_t min_size() const;
  // 0: not negotiated; low bit set: a packed DeflateConfig; else a PerMessageDeflate*.
  std::uintptr_t word_ = 0;
};

// A connection's permessage-deflate as its Protocol keeps it: the negotiated configuration
// (shared by every Protocol configured alike) and the state this connection made from it on
// first use (null until then, and for a configuration that keeps nothing per connection).
class DeflateView {
 public:
  DeflateView(const DeflateSlot& configured, const PerMessageDeflate* made)
      : configured_(&configured), made_(made) {}

  bool negotiated() const { return configured_->negotiated(); }
  explicit operator bool() const { return negotiated(); }
  DeflateConfig config() const { return configured_->config(); }
  const PerMessageDeflate* made() const { return made_; }
  // Its counters (zero until made, and without per-connection counters) and zlib streams of
  // its own (0 until made).
  DeflateStats stats() const { return made_ ? made_->stats() : DeflateStats{}; }
  std::size_t dedicated_streams() const { return made_ ? made_->dedicated_streams() : 0; }

 private:
  const DeflateSlot* configured_;
  const PerMessageDeflate* made_;
};

}  // namespace wsp
