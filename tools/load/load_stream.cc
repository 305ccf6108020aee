#include "tools/load/load_stream.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include "io/reactor.h"
#include "wsp/engine/per_thread.h"
#include "wsp/protocol/close_code.h"
#include "wsp/protocol/mask.h"

namespace wsp_load {

namespace {

// The largest inflated reply taken: past every size wsp-load sends (a longer reply is a
// mismatch anyway), and a bound on what a compression bomb can make us allocate.
constexpr std::size_t kMaxInflated = 64 << 20;

}  // namespace

LoadStream::Compression::Compression(const wsp::DeflateConfig& config)
    : deflate(config, &wsp::thread_deflate_streams()) {}

LoadStream::LoadStream(std::unique_ptr<io::ByteStream> stream, Events& events, void* owner,
                       const wsp::DeflateConfig* deflate)
    : stream_(std::move(stream)), events_(events), owner_(owner) {
  if (deflate) {
    compression_ = std::make_unique<Compression>(*deflate);
    reader_.accept_compressed();
  }
}

LoadStream::~LoadStream() {
  if (stream_) {
    stream_->stop_io();
    stream_->close();
  }
}

void LoadStream::start(std::string_view leftover) {
  if (!leftover.empty()) {
    events_.received(*this, reinterpret_cast<const std::uint8_t*>(leftover.data()), leftover.size());
    if (reader_.failed()) {
      fail_protocol();
      return;
    }
  }
  stream_->start_receiving(*this);
}

std::uint8_t* LoadStream::Buffer::extend(std::size_t n) {
  if (size + n > capacity) {
    const std::size_t grown = std::max(size + n, 2 * capacity + 256);
    auto bigger = std::make_unique<std::uint8_t[]>(grown);  // value-initialized once per growth
    if (size) std::memcpy(bigger.get(), data.get(), size);
    data = std::move(bigger);
    capacity = grown;
  }
  std::uint8_t* at = data.get() + size;
  size += n;
  return at;
}

void LoadStream::queue_frame(wsp::Opcode opcode, const std::uint8_t* payload, std::size_t size,
                             bool rsv1) {
  // §5.3: every client frame is masked with a fresh key from a strong source (the engine's
  // per-thread ChaCha20 keystream).
  const std::array<std::uint8_t, 4> key = wsp::thread_mask_keys().next();
  std::uint8_t header[wsp::kMaxFrameHeader];
  const std::size_t header_size = wsp::encode_frame_header(header, opcode, true, size, key.data(), rsv1);
  std::uint8_t* frame = out_.extend(header_size + size);
  std::memcpy(frame, header, header_size);
  wsp::mask_copy(frame + header_size, payload, size, key);
  if (!flush_node_.linked()) stream_->reactor().schedule(&flush_node_);
}

bool LoadStream::send(bool text, std::string_view payload) {
  if (!open()) return false;
  const wsp::Opcode opcode = text ? wsp::Opcode::text : wsp::Opcode::binary;
  const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
  // RFC 7692 §7.2.1; a message the compressor declines (no memory, or no smaller without
  // context takeover) goes as it is.
  if (compression_ && compression_->deflate.should_compress(payload.size()) &&
      compression_->deflate.compress(data, payload.size(), compression_->compressed)) {
    const std::string& c = compression_->compressed;
    queue_frame(opcode, reinterpret_cast<const std::uint8_t*>(c.data()), c.size(), true);
    return true;
  }
  queue_frame(opcode, data, payload.size());
  return true;
}

void LoadStream::collect_compressed(bool text) {
  compression_->collecting = true;
  compression_->text = text;
  compression_->collected.clear();
}

const std::string* LoadStream::inflate_collected() {
  Compression& c = *compression_;
  c.collecting = false;
  using Result = wsp::PerMessageDeflate::InflateResult;
  switch (c.deflate.inflate(c.collected, c.inflated, kMaxInflated)) {
    case Result::ok:
      return &c.inflated;
    case Result::too_big:
      failure_code_ = wsp::close_code::message_too_big;
      reader_.stop("a compressed message that inflates past 64 MiB");
      return nullptr;
    case Result::invalid:
      failure_code_ = wsp::close_code::invalid_payload;
      reader_.stop("a compressed message that is not valid DEFLATE data");
      return nullptr;
    case Result::no_memory:
      failure_code_ = wsp::close_code::internal_error;
      reader_.stop("a compressed message zlib had no memory to inflate");
      return nullptr;
  }
  return nullptr;
}

void LoadStream::close(int code) {
  if (close_sent_ || ended_) return;
  close_sent_ = true;
  const std::uint8_t payload[2] = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
  queue_frame(wsp::Opcode::close, payload, 2);
}

void LoadStream::abort() {
  if (ended_) return;
  finish();
}

void LoadStream::flush() {
  if (writing_now_ || out_.size == 0 || ended_) return;
  std::swap(writing_, out_);  // the next frames go into the buffer written last time
  writing_now_ = true;
  const iovec part{writing_.data.get(), writing_.size};
  stream_->start_write({&part, 1}, *this);
}

void LoadStream::on_written(std::error_code error) {
  writing_now_ = false;
  writing_.size = 0;
  if (error || reader_.failed()) {  // a failed connection ends once its 1002 is out
    finish();
    return;
  }
  if (out_.size) flush();
}

bool LoadStream::on_received(std::span<const std::uint8_t> data) {
  if (ended_) return true;
  events_.received(*this, data.data(), data.size());
  return reader_.failed() ? fail_protocol() : true;
}

bool LoadStream::fail_protocol() {
  // §7.1.7: fail the connection: our close frame with 1002 (or the code a message that does
  // not inflate calls for), then drop it (on_written). Nothing more is read meanwhile.
  close_code_ = failure_code_;
  close_reason_ = reader_.failure();
  if (close_sent_) {
    finish();
    return false;
  }
  close_sent_ = true;
  const std::uint8_t payload[2] = {static_cast<std::uint8_t>(failure_code_ >> 8),
                                   static_cast<std::uint8_t>(failure_code_)};
  queue_frame(wsp::Opcode::close, payload, 2);
  return false;
}

void LoadStream::control(wsp::Opcode opcode, const std::uint8_t* payload, std::size_t size) {
  if (opcode == wsp::Opcode::ping) {
    if (!close_sent_) queue_frame(wsp::Opcode::pong, payload, size);  // §5.5.2
    return;
  }
  if (opcode != wsp::Opcode::close) return;  // an unsolicited pong: nothing to do (§5.5.3)
  close_received_ = true;
  close_code_ = size >= 2 ? (payload[0] << 8) | payload[1] : wsp::close_code::no_status;
  if (size > 2) close_reason_.assign(reinterpret_cast<const char*>(payload + 2), size - 2);
  if (!close_sent_) {
    // §5.5.1: answer with a close frame (echoing the code); the server then ends the TCP
    // connection, which on_receive_end sees.
    close_sent_ = true;
    queue_frame(wsp::Opcode::close, payload, size >= 2 ? 2 : 0);
  }
}

void LoadStream::on_receive_end(std::error_code) {
  // The server's end of the stream: after the closing handshake the normal end, else a drop
  // (close code -1).
  if (!close_received_ && !reader_.failed()) close_code_ = -1;
  finish();
}

void LoadStream::finish() {
  if (ended_) return;
  ended_ = true;
  if (flush_node_.linked()) flush_node_.unlink();
  stream_->stop_io();
  stream_->close();
  events_.ended(*this);
}

}  // namespace wsp_load
