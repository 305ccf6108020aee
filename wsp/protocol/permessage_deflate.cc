#include "wsp/protocol/permessage_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace wsp {
namespace {

// RFC 7692 §7.2.1: what a sync flush ends with, removed by the sender and added back by the
// receiver (§7.2.2).
constexpr std::uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
// zlib counts in uInt: feed and drain at most this much per call.
constexpr std::size_t kMaxStep = std::size_t{1} << 30;
// zlib writes into one buffer per thread, and the message takes what came out at its exact
// size. Growing the message itself instead zero-filled it (std::string::resize) and faulted
// in pages it might never use: about a tenth of an echo server's CPU at 16 KiB.
constexpr std::size_t kOutputBufferSize = 64 * 1024;

std::uint8_t* zlib_output_buffer() {
  thread_local std::unique_ptr<std::uint8_t[]> buffer(new (std::nothrow) std::uint8_t[kOutputBufferSize]);
  return buffer.get();
}

z_stream* make_deflater(int level, int window_bits, int mem_level) {
  auto* z = new z_stream{};
  // Negative window bits: raw DEFLATE, no zlib header or checksum (§7.2.1).
  if (deflateInit2(z, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete z;
    return nullptr;
  }
  return z;
}

z_stream* make_inflater(int window_bits) {
  auto* z = new z_stream{};
  if (inflateInit2(z, -window_bits) != Z_OK) {
    delete z;
    return nullptr;
  }
  return z;
}

void free_deflater(z_stream* z) {
  if (!z) return;
  deflateEnd(z);
  delete z;
}

void free_inflater(z_stream* z) {
  if (!z) return;
  inflateEnd(z);
  delete z;
}

// Appends `size` bytes to `s`, its capacity growing by doubling but never past `limit` (0: no
// limit; the caller keeps s.size() + size within it). A fresh allocation of the exact
// capacity, since std::string's own growth may double past the limit.
void append_within(std::string& s, const std::uint8_t* data, std::size_t size, std::size_t limit) {
  const std::size_t need = s.size() + size;
  if (need > s.capacity()) {
    std::size_t capacity = std::max(need, s.capacity() * 2);
    if (limit != 0) capacity = std::max(need, std::min(capacity, limit));
    std::string bigger;
    bigger.reserve(capacity);
    bigger.append(s);
    s.swap(bigger);
  }
  s.append(reinterpret_cast<const char*>(data), size);
}

}  // namespace

// ---- SharedDeflateStreams ---------------------------------------------------------------

SharedDeflateStreams::~SharedDeflateStreams() {
  for (z_stream* z : compressors_) free_deflater(z);
  free_inflater(decompressor_);
}

z_stream* SharedDeflateStreams::compressor(int window_bits, int level) {
  const std::size_t i = static_cast<std::size_t>(std::clamp(window_bits, 9, 15) - 9);
  z_stream*& z = compressors_[i];
  if (!z) {
    z = make_deflater(level, window_bits, 8);
    levels_[i] = level;
    return z;
  }
  deflateReset(z);
  if (levels_[i] != level && deflateParams(z, level, Z_DEFAULT_STRATEGY) == Z_OK) levels_[i] = level;
  return z;
}

z_stream* SharedDeflateStreams::decompressor() {
  if (!decompressor_) {
    decompressor_ = make_inflater(15);
    return decompressor_;
  }
  inflateReset(decompressor_);
  return decompressor_;
}

PerMessageDeflate* SharedDeflateStreams::stateless(const DeflateConfig& config, std::uint64_t key) {
  for (auto& [k, deflate] : stateless_) {
    if (k == key) return deflate.get();
  }
  auto made = std::unique_ptr<PerMessageDeflate>(new (std::nothrow) PerMessageDeflate(config, this));
  if (!made) return nullptr;
  stateless_.emplace_back(key, std::move(made));
  return stateless_.back().second.get();
}

DeflateStats SharedDeflateStreams::stats() const {
  DeflateStats sum;
  for (const auto& entry : stateless_) sum += entry.second->stats();
  return sum;
}

int SharedDeflateStreams::streams() const {
  int n = decompressor_ != nullptr;
  for (z_stream* z : compressors_) n += z != nullptr;
  return n;
}

// ---- PerMessageDeflate ------------------------------------------------------------------

PerMessageDeflate::PerMessageDeflate(const DeflateConfig& config, SharedDeflateStreams* shared)
    : config_(config), shared_(config.shared ? shared : nullptr) {}

PerMessageDeflate::~PerMessageDeflate() {
  free_deflater(compressor_);
  free_inflater(decompressor_);
}

z_stream* PerMessageDeflate::take_compressor() {
  // Without context takeover nothing is kept between messages: the thread's stream will do.
  if (shared_ && config_.send_no_context_takeover) {
    return shared_->compressor(config_.send_window_bits, config_.level);
  }
  if (!compressor_) {
    compressor_ = make_deflater(config_.level, config_.send_window_bits, config_.mem_level);
  }
  return compressor_;
}

z_stream* PerMessageDeflate::take_decompressor() {
  if (shared_ && config_.receive_no_context_takeover) return shared_->decompressor();
  if (!decompressor_) decompressor_ = make_inflater(config_.receive_window_bits);
  return decompressor_;
}

bool PerMessageDeflate::compress(const std::uint8_t* data, std::size_t size, std::string& out) {
  z_stream* z = take_compressor();
  std::uint8_t* buffer = zlib_output_buffer();
  if (!z || !buffer) return false;
  const bool own = z == compressor_;
  out.clear();
  std::size_t left = size;
  z->avail_in = 0;
  bool ok = true;
  for (;;) {
    if (z->avail_in == 0 && left > 0) {
      const std::size_t step = std::min(left, kMaxStep);
      z->next_in = const_cast<Bytef*>(data + (size - left));
      z->avail_in = static_cast<uInt>(step);
      left -= step;
    }
    z->next_out = buffer;
    z->avail_out = static_cast<uInt>(kOutputBufferSize);
    // §7.2.1: compress all of it, then an empty stored block ends the message on a byte
    // boundary (Z_SYNC_FLUSH).
    const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    const int rc = deflate(z, flush);
    append_within(out, buffer, kOutputBufferSize - z->avail_out, 0);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      ok = false;
      break;
    }
    if (flush == Z_SYNC_FLUSH && z->avail_in == 0 && z->avail_out != 0) break;
  }
  ok = ok && out.size() >= 4 && std::memcmp(out.data() + out.size() - 4, kTail, 4) == 0;
  out.resize(ok ? out.size() - 4 : 0);
  // A sender may always drop its context: after a failure, or when none is to be kept.
  if (own && (!ok || config_.send_no_context_takeover)) deflateReset(z);
  if (!ok) return false;
  // Without context takeover a message that did not shrink may as well go uncompressed (with
  // it, the peer's window must see every byte our compressor saw).
  if (config_.send_no_context_takeover && out.size() >= size) return false;
  ++stats_.messages_compressed;
  stats_.bytes_before_compression += size;
  stats_.bytes_after_compression += out.size();
  return true;
}

bool PerMessageDeflate::restart_decompressor(z_stream* z) {
  if (config_.receive_no_context_takeover) return inflateReset(z) == Z_OK;
  // The next block may refer back into what this message inflated: carry the window over.
  std::string window(std::size_t{1} << config_.receive_window_bits, '\0');
  uInt have = 0;
  if (inflateGetDictionary(z, reinterpret_cast<Bytef*>(window.data()), &have) != Z_OK) return false;
  if (inflateReset(z) != Z_OK) return false;
  return have == 0 ||
         inflateSetDictionary(z, reinterpret_cast<const Bytef*>(window.data()), have) == Z_OK;
}

PerMessageDeflate::InflateResult PerMessageDeflate::inflate(std::string& in, std::string& out,
                                                           std::size_t limit, BufferPool* buffers) {
  z_stream* z = take_decompressor();
  std::uint8_t* buffer = zlib_output_buffer();
  if (!z || !buffer) return InflateResult::no_memory;
  const std::size_t compressed = in.size();
  in.append(reinterpret_cast<const char*>(kTail), sizeof kTail);  // §7.2.2
  out.clear();
  // Output collects in `buffer` (`pending` bytes) and moves to `out` when it is full or the
  // message is over, so a message that fits takes one buffer of its exact size.
  std::size_t produced = 0, pending = 0, left = in.size();
  auto move_pending = [&] {
    if (out.empty() && buffers && out.capacity() < pending) {
      buffers->give_back(std::move(out));
      out = buffers->take(pending);
    }
    append_within(out, buffer, pending, limit);
    pending = 0;
  };
  z->avail_in = 0;
  InflateResult result = InflateResult::ok;
  for (;;) {
    if (z->avail_in == 0 && left > 0) {
      const std::size_t step = std::min(left, kMaxStep);
      z->next_in = reinterpret_cast<Bytef*>(in.data() + (in.size() - left));
      z->avail_in = static_cast<uInt>(step);
      left -= step;
    }
    // Once `limit` bytes are out, one more byte (the probe) decides too_big.
    const bool probing = limit != 0 && produced >= limit;
    if (pending == kOutputBufferSize) move_pending();
    std::size_t room = kOutputBufferSize - pending;
    if (probing) {
      room = 1;
    } else if (limit != 0) {
      room = std::min(room, limit - produced);
    }
    z->next_out = buffer + pending;
    z->avail_out = static_cast<uInt>(room);
    // Each call writes at most `room` bytes: a small input cannot make one unbounded step.
    const int rc = ::inflate(z, Z_SYNC_FLUSH);
    const std::size_t written = room - z->avail_out;
    if (probing && written > 0) {
      result = InflateResult::too_big;
      break;
    }
    if (!probing) {
      pending += written;
      produced += written;
    }
    if (rc == Z_STREAM_END) {
      // A block with BFINAL set ended zlib's stream (§7.2.3.4); what follows starts anew.
      if (!restart_decompressor(z)) {
        result = InflateResult::invalid;
        break;
      }
      if (z->avail_in == 0 && left == 0) break;
      continue;
    }
    if (rc == Z_MEM_ERROR) {
      result = InflateResult::no_memory;
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
      result = InflateResult::invalid;
      break;
    }
    // Done once all input went in and the output was not full (nothing left to flush).
    if (z->avail_in == 0 && left == 0 && z->avail_out != 0) break;
    if (rc == Z_BUF_ERROR && written == 0 && z->avail_in != 0) {
      result = InflateResult::invalid;  // no progress possible
      break;
    }
  }
  in.resize(compressed);
  if (result == InflateResult::ok && pending > 0) move_pending();
  if (result != InflateResult::ok) {
    out.clear();
    if (z == decompressor_) inflateReset(z);
    return result;
  }
  if (z == decompressor_ && config_.receive_no_context_takeover) inflateReset(z);
  ++stats_.messages_inflated;
  stats_.bytes_before_inflation += compressed;
  stats_.bytes_after_inflation += produced;
  return InflateResult::ok;
}

// ---- DeflateSlot --------------------------------------------------------------------------

// The packed word, from bit 0: 1 (packed), shared, send_no_context_takeover,
// receive_no_context_takeover, send_window_bits (4), receive_window_bits (4), mem_level (4),
// level + 1 (4), per_connection_stats, then min_size (43 bits).
namespace {
constexpr int kStatsBit = 20;
constexpr int kMinSizeShift = 21;
}  // namespace

static_assert(sizeof(std::uintptr_t) == 8, "DeflateSlot packs a configuration into 64 bits");

DeflateSlot::DeflateSlot(const DeflateConfig& c) {
  const std::uint64_t min_size = std::min<std::uint64_t>(c.min_size, kMaxPackedMinSize);
  word_ = 1 | std::uint64_t{c.shared} << 1 | std::uint64_t{c.send_no_context_takeover} << 2 |
          std::uint64_t{c.receive_no_context_takeover} << 3 |
          std::uint64_t(c.send_window_bits & 15) << 4 | std::uint64_t(c.receive_window_bits & 15) << 8 |
          std::uint64_t(c.mem_level & 15) << 12 | std::uint64_t((c.level + 1) & 15) << 16 |
          std::uint64_t{c.per_connection_stats} << kStatsBit | min_size << kMinSizeShift;
}

DeflateSlot::DeflateSlot(const DeflateSlot& other) {
  if (other.negotiated()) word_ = DeflateSlot(other.config()).word_;
}

DeflateSlot::~DeflateSlot() { delete made(); }

std::size_t DeflateSlot::min_size() const {
  if (!packed()) return word_ ? made()->config().min_size : 0;
  return static_cast<std::size_t>(word_ >> kMinSizeShift);
}

DeflateConfig DeflateSlot::config() const {
  if (!packed()) return word_ ? made()->config() : DeflateConfig{};
  DeflateConfig c;
  c.shared = (word_ >> 1) & 1;
  c.send_no_context_takeover = (word_ >> 2) & 1;
  c.receive_no_context_takeover = (word_ >> 3) & 1;
  c.send_window_bits = static_cast<int>((word_ >> 4) & 15);
  c.receive_window_bits = static_cast<int>((word_ >> 8) & 15);
  c.mem_level = static_cast<int>((word_ >> 12) & 15);
  c.level = static_cast<int>((word_ >> 16) & 15) - 1;
  c.per_connection_stats = (word_ >> kStatsBit) & 1;
  c.min_size = static_cast<std::size_t>(word_ >> kMinSizeShift);
  return c;
}

PerMessageDeflate* DeflateSlot::get(SharedDeflateStreams* shared) {
  if (!packed()) return reinterpret_cast<PerMessageDeflate*>(word_);
  const DeflateConfig c = config();
  if (c.shared && shared && c.send_no_context_takeover && c.receive_no_context_takeover &&
      !c.per_connection_stats) {
    return shared->stateless(c, word_);
  }
  auto* made = new (std::nothrow) PerMessageDeflate(c, shared);
  if (made) word_ = reinterpret_cast<std::uintptr_t>(made);
  return made;
}

}  // namespace wsp
