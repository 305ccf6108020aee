#include "wsp/protocol/protocol.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "wsp/protocol/close_code.h"
#include "wsp/protocol/mask.h"

namespace wsp {
namespace {

constexpr std::size_t kMaxControlPayload = 125;  // §5.5
constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;
// A frame header may announce up to 2^63 bytes; reserve no more than this up front and let the
// string grow with the bytes that really arrive.
constexpr std::size_t kMaxReserve = 1 << 20;
// Room for a few small frames, so a burst of small sends rarely grows the output buffer.
constexpr std::size_t kFirstOutputCapacity = 512;


// A compressed message may be a little larger than it inflates to (stored blocks cost 5 bytes
// per 64 KiB, plus a few bytes per message): its wire size may pass the limit by this much;
// the inflated size is held to the limit exactly.
inline std::uint64_t compressed_limit(std::size_t limit) { return limit + limit / 1024 + 64; }

// Header length implied by its first two bytes (§5.2).
inline std::uint8_t header_size(std::uint8_t b1) {
  std::uint8_t n = 2;
  const std::uint8_t len7 = b1 & 0x7F;
  if (len7 == 126) n += 2;
  if (len7 == 127) n += 8;
  if (b1 & 0x80) n += 4;
  return n;
}

inline bool known_opcode(std::uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }

}  // namespace

Protocol::Protocol(ProtocolConfig config)
    : config_(config) {  // a made deflate slot is copied as its configuration
  if (config_->role == Role::client && !config_->mask_keys) {
    throw std::invalid_argument("a client Protocol needs a MaskKeySource");
  }
}

Protocol::~Protocol() {
  drop_scratch();
  delete made_deflate();
}

void Protocol::give_back_buffer(std::string&& buffer) {
  std::string& message = scratch().message;
  if (buffer.capacity() > message.capacity() && message.empty()) {
    buffer.clear();
    message = std::move(buffer);
  }
}

void Protocol::consume_output(std::size_t n) {
  if (!scratch_ptr()) return;
  Scratch& s = made_scratch();
  s.out_offset += std::min(n, s.out.size() - s.out_offset);
  if (s.out_offset == s.out.size()) {
    s.out.clear();  // its capacity stays for the next output
    s.out_offset = 0;
  } else if (s.out_offset >= 65536 && s.out_offset * 2 >= s.out.size()) {
    s.out.erase(0, s.out_offset);
    s.out_offset = 0;
  }
}

void Protocol::take_output(std::string& into) {
  into.clear();
  if (!scratch_ptr()) return;
  Scratch& s = made_scratch();
  if (s.out_offset > 0) s.out.erase(0, s.out_offset);
  s.out_offset = 0;
  if (heap_capacity(into) == 0) {
    into = std::move(s.out);  // a move, where a swap is a call
  } else {
    s.out.swap(into);
  }
  drop_idle_scratch();
}

void Protocol::make_scratch() {
  PerMessageDeflate* deflate = made_deflate();
  void* block = config_->buffers ? config_->buffers->take_block(sizeof(Scratch))
                                 : ::operator new(sizeof(Scratch));
  Scratch* s = new (block) Scratch();
  s->deflate = deflate;
  scratch_word_ = reinterpret_cast<std::intptr_t>(s);
}

void Protocol::drop_scratch() {
  Scratch* s = scratch_ptr();
  if (!s) return;
  PerMessageDeflate* deflate = s->deflate;
  s->~Scratch();
  if (config_->buffers) {
    config_->buffers->give_back_block(s, sizeof(Scratch));
  } else {
    ::operator delete(s);
  }
  keep_idle_deflate(deflate);
}

PerMessageDeflate* Protocol::deflate_engine() {
  if (PerMessageDeflate* made = made_deflate()) return made;
  // The shared slot stays a configuration: a copy makes this connection's state, or gives
  // the thread's stateless one (kept nowhere: nothing of it is this connection's).
  DeflateSlot slot = config_->deflate;
  PerMessageDeflate* engine = slot.get(config_->deflate_streams);
  if (PerMessageDeflate* made = slot.release()) {
    if (Scratch* s = scratch_ptr()) s->deflate = made;
    else keep_idle_deflate(made);
  }
  return engine;
}

void Protocol::drop_scratch_if_idle() {
  // Kept: a frame or message being read, a control payload or the peer's close reason, output
  // not taken (drop_idle_scratch() tested that), a buffer handed back for the next message.
  Scratch& s = made_scratch();
  if (!s.frame.at_boundary()) return;
  if (!s.message.empty() || heap_capacity(s.message) != 0 || !s.control.empty()) return;
  if (config_->buffers && heap_capacity(s.out) != 0) config_->buffers->give_back(std::move(s.out));
  drop_scratch();
}

// ---- Receiving --------------------------------------------------------------------------

bool Protocol::check_first_two_bytes(std::uint8_t b0, std::uint8_t b1) {
  const std::uint8_t op = b0 & 0x0F;
  const bool fin = b0 & 0x80;
  const bool rsv1 = b0 & 0x40;
  // §5.2: RSV bits must be 0 unless an extension defines them; RFC 7692 §6 allows RSV1 only
  // on the first frame of a data message.
  if (b0 & 0x30) return false;
  if (rsv1 && ((!config_->allow_rsv1 && !config_->deflate) || op == 0 || op >= 8)) return false;
  if (!known_opcode(op)) return false;  // §5.2: reserved opcodes
  if (op >= 8) {
    if (!fin) return false;                          // §5.5: control frames are not fragmented
    if ((b1 & 0x7F) > kMaxControlPayload) return false;  // §5.5: payload <= 125
  } else if (op == 0) {
    if (!in_message()) return false;  // §5.4: continuation without a started message
  } else if (in_message()) {
    return false;  // §5.4: a new data message while one is still open
  }
  // §5.1: a server closes on an unmasked frame, a client on a masked one.
  const bool masked = b1 & 0x80;
  if (masked != (config_->role == Role::server)) return false;
  return true;
}

bool Protocol::start_frame(const std::uint8_t* h) {
  Frame& f = frame();
  f.fin = h[0] & 0x80;
  f.opcode = static_cast<Opcode>(h[0] & 0x0F);
  f.masked = h[1] & 0x80;
  std::uint64_t len = h[1] & 0x7F;
  std::size_t p = 2;
  if (len == 126) {
    len = (std::uint64_t{h[2]} << 8) | h[3];
    p = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | h[2 + i];
    p = 10;
    // §5.2: the most significant bit of a 64-bit length must be 0.
    if (len >> 63) {
      fail(close_code::protocol_error);
      return false;
    }
  }
  if (f.masked) std::memcpy(f.key, h + p, 4);
  f.len = len;
  f.done = 0;

  if (is_control(f.opcode)) {
    scratch().control.clear();
    return true;
  }
  std::string& message = scratch().message;
  const std::size_t have = message.size();
  const bool compressed = f.opcode == Opcode::continuation ? f.message_compressed : (h[0] & 0x40);
  const std::uint64_t limit = compressed && config_->deflate ? compressed_limit(config_->max_message_size)
                                                            : config_->max_message_size;
  if (config_->max_message_size != 0 && (len > limit || have + len > limit)) {
    fail(close_code::message_too_big);
    return false;
  }
  if (f.opcode != Opcode::continuation) {
    f.in_message = true;
    f.message_text = f.opcode == Opcode::text;
    f.message_compressed = h[0] & 0x40;
    message.clear();
    f.utf8.reset();
  }
  // A compressed message gets RFC 7692's 4-byte tail appended before it is inflated.
  const std::uint64_t want = have + len + (compressed && config_->deflate ? 4 : 0);
  if (want > message.capacity()) {
    if (have == 0 && config_->buffers && want <= BufferPool::kMaxPooledCapacity) {
      config_->buffers->give_back(std::move(message));
      message = config_->buffers->take(static_cast<std::size_t>(want));
    } else {
      message.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(want, kMaxReserve)));
    }
  }
  return true;
}

bool Protocol::consume_payload(const std::uint8_t* data, std::size_t n) {
  Frame& f = frame();
  const bool control = is_control(f.opcode);
  std::string& dst = control ? scratch().control : scratch().message;
  const std::size_t at = dst.size();
  dst.append(reinterpret_cast<const char*>(data), n);
  auto* p = reinterpret_cast<std::uint8_t*>(dst.data()) + at;
  if (f.masked) {
    apply_mask(p, n, {f.key[0], f.key[1], f.key[2], f.key[3]}, static_cast<std::size_t>(f.done & 3));
  }
  f.done += n;
  // §8.1: a text message may be failed as soon as its bytes cannot become valid UTF-8.
  if (!control && f.message_text && !f.message_compressed && !f.utf8.feed(p, n)) {
    fail(close_code::invalid_payload);
    return false;
  }
  return true;
}

bool Protocol::finish_close_frame(ProtocolEvent& out) {
  int code = close_code::no_status;
  std::string_view reason;
  const std::string& payload = scratch().control;
  if (payload.size() == 1) {
    fail(close_code::protocol_error);  // §5.5.1: a code is 2 bytes
    return false;
  }
  if (payload.size() >= 2) {
    code = (static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]);
    if (!is_valid_received_close_code(code)) {
      fail(close_code::protocol_error);  // §7.4.1
      return false;
    }
    reason = std::string_view(payload).substr(2);
    if (!is_valid_utf8(reason)) {
      fail(close_code::invalid_payload);  // §5.5.1: the reason is UTF-8
      return false;
    }
  }
  close_received_ = true;
  received_close_code_ = static_cast<std::int16_t>(code);  // valid: at most 4999
  if (config_->answer_close_at_once) write_close_answer();
  stop_reading();  // §5.5.1: nothing the peer sends after its close frame counts
  out.type = ProtocolEventType::close;
  out.close_code = code;
  out.close_reason.assign(reason);
  // A reason stays for received_close_reason(); without one the scratch can go (a burst of
  // closes would otherwise hold one per connection until each connection ends).
  if (reason.empty()) scratch().control.clear();
  return true;
}

bool Protocol::finish_frame(ProtocolEvent& out) {
  Frame& f = frame();
  f.stage = Frame::Stage::header;
  switch (f.opcode) {
    case Opcode::ping: {
      std::string& payload = scratch().control;
      // §5.5.2: answer with a pong carrying the same data, unless we are closing (§5.5.1).
      if (!close_sent_) write_frame(Opcode::pong, true,
                                    reinterpret_cast<const std::uint8_t*>(payload.data()),
                                    payload.size(), false);
      out.type = ProtocolEventType::ping;
      out.payload.assign(payload);
      payload.clear();
      return true;
    }
    case Opcode::pong:
      out.type = ProtocolEventType::pong;
      out.payload.assign(scratch().control);
      scratch().control.clear();
      return true;
    case Opcode::close:
      return finish_close_frame(out);
    default:
      break;
  }
  if (!f.fin) return false;
  if (f.message_compressed && config_->deflate) return inflate_message(out);
  if (f.message_text && !f.message_compressed && !f.utf8.complete()) {
    fail(close_code::invalid_payload);  // ends inside a code point
    return false;
  }
  f.in_message = false;
  out.type = ProtocolEventType::message;
  out.text = f.message_text;
  out.compressed = f.message_compressed;
  // Swapped: the message is handed over without a copy. The caller's old buffer goes first:
  // kept in the scratch, it would keep the scratch.
  std::string& message = scratch().message;
  let_go(out.payload);
  out.payload.swap(message);
  return true;
}

// RFC 7692 §7.2.2: the whole compressed message is here; inflate it into the event, bounded
// by max_message_size, then check text as §8.1 asks of any text message.
bool Protocol::inflate_message(ProtocolEvent& out) {
  Frame& f = frame();
  f.in_message = false;
  PerMessageDeflate* deflate = deflate_engine();
  if (!deflate) {
    fail(close_code::internal_error);
    return false;
  }
  std::string& message = scratch().message;
  switch (deflate->inflate(message, out.payload, config_->max_message_size, config_->buffers)) {
    case PerMessageDeflate::InflateResult::ok:
      break;
    case PerMessageDeflate::InflateResult::too_big:
      fail(close_code::message_too_big);
      return false;
    case PerMessageDeflate::InflateResult::invalid:
      fail(close_code::invalid_payload);
      return false;
    case PerMessageDeflate::InflateResult::no_memory:
      fail(close_code::internal_error);
      return false;
  }
  // The compressed bytes are spent: their buffer goes back to the pool rather than staying
  // with this connection (an idle connection holds no buffer).
  let_go(message);
  if (f.message_text && !is_valid_utf8(out.payload)) {
    out.payload.clear();
    fail(close_code::invalid_payload);
    return false;
  }
  out.type = ProtocolEventType::message;
  out.text = f.message_text;
  return true;
}

// The common case in one step, at a frame boundary: a whole unfragmented data frame of at most
// 64 KiB, RSV bits clear, masked as the role requires, within max_message_size. Returns its length, or 0 for
// anything else (the general path parses it, and reports whatever rule it breaks).
inline std::size_t Protocol::receive_whole_frame(const std::uint8_t* data, std::size_t len,
                                                 ProtocolEvent& out) {
  const std::uint8_t b0 = data[0], b1 = data[1];
  const std::uint8_t op = b0 & 0x0F;
  if ((b0 & 0xF0) != 0x80 || (op != 1 && op != 2)) return 0;
  const bool masked = b1 & 0x80;
  if (masked != (config_->role == Role::server)) return 0;
  std::size_t size = b1 & 0x7F;
  std::size_t header = 2;
  if (size == 126) {
    if (len < 4) return 0;
    size = (std::size_t{data[2]} << 8) | data[3];
    header = 4;
  } else if (size == 127) {
    return 0;
  }
  const std::uint8_t* key = data + header;
  if (masked) header += 4;
  if (len < header || len - header < size) return 0;
  if (config_->max_message_size != 0 && size > config_->max_message_size) return 0;

  std::string& payload = out.payload;  // empty: receive() cleared it
  if (payload.capacity() < size) make_room(payload, size);
  if (masked) {
    payload.resize(size);  // then copied and unmasked in one pass
    mask_copy(reinterpret_cast<std::uint8_t*>(payload.data()), data + header, size,
              {key[0], key[1], key[2], key[3]}, 0);
  } else {
    payload.append(reinterpret_cast<const char*>(data + header), size);
  }
  if (op == 1 && !is_valid_utf8(payload)) {
    payload.clear();
    fail(close_code::invalid_payload);  // §8.1
    return len;
  }
  out.type = ProtocolEventType::message;
  out.text = op == 1;
  return header + size;
}

void Protocol::make_room(std::string& payload, std::size_t size) {
  let_go(payload);  // too small; and a swap below must leave no buffer in the scratch
  if (Scratch* s = scratch_ptr(); s && s->message.capacity() >= size) {
    payload.swap(s->message);  // a buffer handed back by give_back_buffer()
  } else if (config_->buffers) {
    payload = config_->buffers->take(size);
  } else {
    payload.reserve(size);
  }
}

void Protocol::let_go(std::string& buffer) {
  if (config_->buffers) {
    config_->buffers->give_back(std::move(buffer));
  } else {
    std::string().swap(buffer);
  }
}

std::size_t Protocol::receive_some(const std::uint8_t* data, std::size_t len, ProtocolEvent& out) {
  out.type = ProtocolEventType::none;
  out.text = false;
  out.compressed = false;
  out.payload.clear();
  out.close_code = -1;
  out.close_reason.clear();

  if (stopped_) return len;
  if (at_frame_boundary() && len >= 2) {
    if (std::size_t used = receive_whole_frame(data, len, out)) return stopped_ ? len : used;
  }
  return receive_frames(data, len, out);
}

std::size_t Protocol::receive_frames(const std::uint8_t* data, std::size_t len,
                                     ProtocolEvent& out) {
  std::size_t pos = 0;
  while (pos < len) {
    if (stopped_) return len;
    // Looked up again each round: a finished close frame resets it.
    Frame& f = frame();
    if (f.stage == Frame::Stage::header) {
      const std::uint8_t* h;
      if (f.header_have == 0 && len - pos >= 2 && len - pos >= header_size(data[pos + 1])) {
        // Fast path: the whole header is in this buffer, parse it in place.
        if (!check_first_two_bytes(data[pos], data[pos + 1])) {
          fail(close_code::protocol_error);
          return len;
        }
        h = data + pos;
        pos += header_size(data[pos + 1]);
      } else {
        while (pos < len && (f.header_have < 2 || f.header_have < f.header_need)) {
          f.header[f.header_have++] = data[pos++];
          if (f.header_have == 2) {
            // Reject a bad frame on its first two bytes, before the rest arrives.
            if (!check_first_two_bytes(f.header[0], f.header[1])) {
              fail(close_code::protocol_error);
              return len;
            }
            f.header_need = header_size(f.header[1]);
          }
        }
        if (f.header_have < 2 || f.header_have < f.header_need) return pos;
        h = f.header;
        f.header_have = 0;
        f.header_need = 2;
      }
      if (!start_frame(h)) return len;
      f.stage = Frame::Stage::payload;
      if (f.len == 0) {
        if (finish_frame(out)) return pos;
        if (stopped_) return len;
        continue;
      }
    }
    // Frame::Stage::payload
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len - pos, f.len - f.done));
    if (!consume_payload(data + pos, n)) return len;
    pos += n;
    if (f.done == f.len) {
      if (finish_frame(out)) return pos;
      if (stopped_) return len;
    }
  }
  return pos;
}

std::string Protocol::received_close_reason() const {
  // A close frame's payload with a reason stays in the scratch's control: nothing is parsed
  // after it.
  const Scratch* s = scratch_ptr();
  if (!close_received_ || !s || s->control.size() <= 2) return {};
  return s->control.substr(2);
}

const char* Protocol::failure_reason() const {
  switch (failed_code_) {
    case close_code::protocol_error: return "Protocol error";
    case close_code::invalid_payload: return "Invalid frame payload data";
    case close_code::message_too_big: return "Message too big";
    case close_code::internal_error: return "Internal error";
    default: return "";
  }
}

void Protocol::fail(int code) {
  // §7.1.7: send a close frame with the matching code, then stop reading.
  failed_code_ = static_cast<std::int16_t>(code);  // one of close_code's
  if (config_->answer_close_at_once) write_close_answer();
  stop_reading();
  if (Scratch* s = scratch_ptr()) s->control.clear();
}

void Protocol::stop_reading() {
  stopped_ = true;
  Scratch* s = scratch_ptr();
  if (!s) return;
  s->frame = Frame();
  std::string().swap(s->message);  // free the partial message at once
}

// ---- Sending ----------------------------------------------------------------------------

void Protocol::write_frame(Opcode opcode, bool fin, const std::uint8_t* data, std::size_t len,
                           bool rsv1) {
  if (config_->role == Role::server) {
    write_unmasked_frame(opcode, fin, data, len, rsv1);
    return;
  }
  // §5.3: a fresh, unpredictable key for every frame.
  const std::array<std::uint8_t, 4> key = config_->mask_keys->next();
  std::uint8_t header[kMaxFrameHeader];
  const std::size_t hlen = encode_frame_header(header, opcode, fin, len, key.data(), rsv1);
  reserve_output(hlen + len);
  std::string& output = scratch().out;
  const std::size_t at = output.size();
  output.resize(at + hlen + len);
  auto* p = reinterpret_cast<std::uint8_t*>(output.data()) + at;
  std::memcpy(p, header, hlen);
  if (len != 0) mask_copy(p + hlen, data, len, key, 0);
}

void Protocol::write_unmasked_frame(Opcode opcode, bool fin, const std::uint8_t* data,
                                    std::size_t len, bool rsv1) {
  // Encoded in words, not a byte array: -fstack-protector puts a canary check around byte
  // arrays, and this runs once per message sent.
  std::uint64_t header[2];
  const std::size_t hlen =
      encode_frame_header(reinterpret_cast<std::uint8_t*>(header), opcode, fin, len, nullptr, rsv1);
  reserve_output(hlen + len);
  std::string& output = made_scratch().out;  // reserve_output() made the scratch
  output.append(reinterpret_cast<const char*>(header), hlen);
  if (len != 0) output.append(reinterpret_cast<const char*>(data), len);
}

void Protocol::grow_output(std::size_t n) {
  std::string& output = scratch().out;
  BufferPool* pool = config_->buffers;
  if (output.empty()) {
    if (pool && n <= BufferPool::kMaxPooledCapacity) {
      const std::size_t wanted = std::max(n, kFirstOutputCapacity);
      if (heap_capacity(output) == 0) pool->take_spare(BufferPool::Use::output, output);
      if (output.capacity() < wanted) {
        pool->give_back(std::move(output));
        output = pool->take(wanted);
      }
    }
    return;  // else the appends grow it
  }
  const std::size_t wanted = std::max(output.size() + n, output.capacity() / 2 * 3);
  std::string bigger =
      pool && wanted <= BufferPool::kMaxPooledCapacity ? pool->take(wanted) : std::string();
  if (bigger.capacity() < wanted) bigger.reserve(wanted);  // from empty: exactly `wanted`
  bigger.append(output);
  output.swap(bigger);
  // The outgrown buffer is freed, not pooled: the next take() of a first output buffer then
  // finds this larger one, rather than a small one to outgrow again.
}

bool Protocol::send_message_framed(bool text, const std::uint8_t* data, std::size_t len,
                                   bool rsv1) {
  if (close_sent_) return false;  // §5.5.1: no data frames after a close frame
  const Opcode first = text ? Opcode::text : Opcode::binary;
  PerMessageDeflate* deflate;
  if (!rsv1 && config_->deflate.should_compress(len) && (deflate = deflate_engine())) {
    // The compressed payload is assembled in a pooled buffer, then framed (and fragmented)
    // like any payload, RSV1 on its first frame (RFC 7692 §6).
    std::string compressed = config_->buffers ? config_->buffers->take(len / 2 + 64) : std::string();
    const bool ok = deflate->compress(data, len, compressed);
    if (ok) write_message(first, reinterpret_cast<const std::uint8_t*>(compressed.data()),
                          compressed.size(), true);
    if (config_->buffers) config_->buffers->give_back(std::move(compressed));
    if (ok) return true;
  }
  write_message(first, data, len, rsv1);
  return true;
}

void Protocol::write_message(Opcode first, const std::uint8_t* data, std::size_t len, bool rsv1) {
  const std::size_t frag = config_->max_fragment_bytes_per_frame;
  if (frag == 0 || len <= frag) {
    write_frame(first, true, data, len, rsv1);
    return;
  }
  // §5.4: the first fragment carries the opcode (and RSV1), the rest are continuations.
  for (std::size_t off = 0; off < len; off += frag) {
    const std::size_t n = std::min(frag, len - off);
    write_frame(off == 0 ? first : Opcode::continuation, off + n == len, data + off, n,
                off == 0 && rsv1);
  }
}

bool Protocol::send_message_header(bool text, std::uint8_t* payload, std::size_t len) {
  if (close_sent_) return false;
  const std::size_t frag = config_->max_fragment_bytes_per_frame;
  if (frag != 0 && len > frag) return false;
  if (config_->deflate.should_compress(len)) return false;
  const Opcode opcode = text ? Opcode::text : Opcode::binary;
  std::uint8_t header[kMaxFrameHeader];
  std::size_t hlen;
  if (config_->role == Role::client) {
    const std::array<std::uint8_t, 4> key = config_->mask_keys->next();
    hlen = encode_frame_header(header, opcode, true, len, key.data(), false);
    if (len != 0) apply_mask(payload, len, key, 0);
  } else {
    hlen = encode_frame_header(header, opcode, true, len, nullptr, false);
  }
  scratch().out.append(reinterpret_cast<const char*>(header), hlen);
  return true;
}

bool Protocol::send_encoded(std::string_view frames) {
  if (close_sent_) return false;
  reserve_output(frames.size());
  scratch().out.append(frames);
  return true;
}

bool Protocol::send_ping(std::string_view payload) {
  if (close_sent_ || payload.size() > kMaxControlPayload) return false;
  write_frame(Opcode::ping, true, reinterpret_cast<const std::uint8_t*>(payload.data()),
              payload.size(), false);
  return true;
}

bool Protocol::send_pong(std::string_view payload) {
  if (close_sent_ || payload.size() > kMaxControlPayload) return false;
  write_frame(Opcode::pong, true, reinterpret_cast<const std::uint8_t*>(payload.data()),
              payload.size(), false);
  return true;
}

void Protocol::write_close(int code, std::string_view reason) {
  std::uint8_t payload[kMaxControlPayload] = {};
  std::size_t n = 0;
  if (code >= 0) {
    payload[0] = static_cast<std::uint8_t>(code >> 8);
    payload[1] = static_cast<std::uint8_t>(code);
    if (!reason.empty()) std::memcpy(payload + 2, reason.data(), reason.size());
    n = 2 + reason.size();
  }
  write_frame(Opcode::close, true, payload, n, false);
  close_sent_ = true;
}

void Protocol::write_close_answer() {
  if (!close_answer_pending()) return;
  if (failed_code_ != 0) {
    write_close(failed_code_, failure_reason());
    return;
  }
  // §5.5.1: answer with a close frame, typically echoing the status code received; 1005 is
  // not a wire code, so its echo carries no payload.
  write_close(received_close_code_ == close_code::no_status ? -1 : received_close_code_, {});
}

bool Protocol::send_close(int code, std::string_view reason) {
  if (close_sent_) return false;
  if (code == -1 || code == close_code::no_status) {
    write_close(-1, {});
    return true;
  }
  if (!is_sendable_close_code(code) || !is_valid_utf8(reason)) return false;
  if (reason.size() > kMaxCloseReason) {
    // Cut before the code point that straddles the limit.
    std::size_t cut = kMaxCloseReason;
    while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  write_close(code, reason);
  return true;
}

}  // namespace wsp
