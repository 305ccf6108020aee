// The per-connection WebSocket state machine (RFC 6455 §5, §7), sans-IO: received bytes go in
// and come out as events; outgoing frames accumulate in an output buffer the caller writes to
// the transport. Used alike by client and server; no sockets, clocks or reactor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "wsp/protocol/buffer_pool.h"
#include "wsp/protocol/frame.h"
#include "wsp/protocol/interned.h"
#include "wsp/protocol/mask_key_source.h"
#include "wsp/protocol/permessage_deflate.h"
#include "wsp/protocol/utf8.h"

namespace wsp {

enum class Role : std::uint8_t { client, server };

// The one-byte fields first, together: a Protocol is part of every connection.
struct ProtocolConfig {
  Role role = Role::client;
  // Set when an extension that uses RSV1 (permessage-deflate, RFC 7692) was negotiated: RSV1
  // is then accepted on the first frame of a data message and reported as ProtocolEvent::compressed.
  bool allow_rsv1 = false;
  // Whether the close frame that answers a received close or a protocol error goes into the
  // output at once. false: it waits for write_close_answer(), and data frames may still be
  // sent before it: the engine first lets the application take the messages that came before
  // and send its replies (RFC 6455 §7.1.7 and §5.5.1 allow both).
  bool answer_close_at_once = true;
  // Largest reassembled data message accepted (bytes); larger closes with 1009. 0 = unlimited.
  std::size_t max_message_size = 65535;
  // Outgoing messages longer than this are split into frames of at most this many payload
  // bytes. 0 = one frame per message.
  std::size_t max_fragment_bytes_per_frame = 0;
  // permessage-deflate (RFC 7692) when it was negotiated: its configuration, its zlib state
  // made on the first compressed message either way. RSV1 is then accepted on a first data
  // frame; compressed messages are inflated before they are reported (the inflated size
  // counts against max_message_size: 1009; invalid DEFLATE data or inflated text that is not
  // UTF-8: 1007), and send_message() compresses messages of at least its min_size bytes.
  DeflateSlot deflate{};
  // The thread's streams for the shared mode (DeflateConfig::shared), borrowed.
  SharedDeflateStreams* deflate_streams = nullptr;
  // Where message and output buffers come from and go back to; null: plain allocation.
  BufferPool* buffers = nullptr;
  // Masking keys, required for the client role (the constructor throws without them).
  MaskKeySource* mask_keys = nullptr;
  // What the Protocol's owner keeps with its configuration, opaque here and compared by
  // address: stored once with the config for every Protocol configured alike, so that an owner
  // (a Connection: its limits and request) needs no pointer of its own to it.
  std::shared_ptr<const void> attached{};

  bool operator==(const ProtocolConfig&) const = default;
};

}  // namespace wsp

// Interned configs are found by hash: with an attachment per distinct request (a URL with a
// query, kept headers) a server may hold one per connection.
template <>
struct std::hash<wsp::ProtocolConfig> {
  std::size_t operator()(const wsp::ProtocolConfig& c) const noexcept {
    return std::hash<const void*>{}(c.attached.get()) ^ (c.max_message_size << 1) ^
           static_cast<std::size_t>(c.role);
  }
};

namespace wsp {

enum class ProtocolEventType : std::uint8_t { none, message, ping, pong, close };

struct ProtocolEvent {
  ProtocolEventType type = ProtocolEventType::none;
  bool text = false;
  // RSV1 was set on the message (only with ProtocolConfig::allow_rsv1 and no deflate): the
  // payload is still compressed and its UTF-8 has not been checked; the extension does both.
  bool compressed = false;
  std::string payload;
  int close_code = -1;
  std::string close_reason;
};

class Protocol {
 public:
  // Where the closing handshake (§7) stands, by our close frame: none sent yet (though one may
  // be owed: close_answer_pending); sent, waiting for the peer's; done (both passed, or ours
  // answered a protocol error).
  enum class CloseHandshake : std::uint8_t { none, sent, done };

  explicit Protocol(ProtocolConfig config);
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;
  ~Protocol();

  // Parses received bytes, split anywhere. Stops right after one complete event so the caller
  // can apply back-pressure: returns how many bytes were consumed and sets `out` (type none
  // when all bytes were consumed without completing an event). Reusing one ProtocolEvent across calls
  // recycles its payload buffer. After a failure or the peer's close, input is discarded.
  std::size_t receive(const std::uint8_t* data, std::size_t len, ProtocolEvent& out) {
    const std::size_t used = receive_some(data, len, out);
    drop_idle_scratch();
    return used;
  }

  // Queue one message (fragmented per config; compressed first when deflate is set and the
  // message is at least its min_size bytes). `rsv1`: the payload is already compressed, send it
  // as it is with RSV1 set. False after a close was sent.
  bool send_message(bool text, const std::uint8_t* data, std::size_t len, bool rsv1 = false) {
    // A server's message that needs no compression or fragmentation is one plain frame:
    // written here, past the general path.
    if (!rsv1 && sends_plain_frame(len)) {
      write_unmasked_frame(text ? Opcode::text : Opcode::binary, true, data, len, false);
      return true;
    }
    return send_message_framed(text, data, len, rsv1);
  }
  // Zero-copy variant for a payload the caller owns: queues only the frame header, and on the
  // client side masks `payload` in place; the caller writes the payload right after the
  // output pending now. False (nothing queued) after a close was sent, when the message
  // would be fragmented (max_fragment_bytes_per_frame) or compressed (deflate).
  bool send_message_header(bool text, std::uint8_t* payload, std::size_t len);
  // Whether a data message of `len` bytes would go out as one unmasked frame without
  // compression (a server, no fragmentation or deflate for it, no close sent): then a frame
  // encoded once elsewhere (publish/subscribe) is exactly what send_message() would write.
  bool sends_plain_frame(std::size_t len) const {
    if (close_sent_ || config_->role != Role::server) return false;
    const std::size_t frag = config_->max_fragment_bytes_per_frame;
    if (frag != 0 && len > frag) return false;
    return !config_->deflate.should_compress(len);
  }
  // Queues bytes that are already whole frames, as they are (after sends_plain_frame()).
  bool send_encoded(std::string_view frames);
  // False when the payload exceeds 125 bytes (§5.5) or after a close was sent.
  bool send_ping(std::string_view payload);
  bool send_pong(std::string_view payload);
  // code -1 or 1005: close frame with an empty payload. Otherwise the code must be sendable
  // (is_sendable_close_code) and the reason valid UTF-8; a reason over 123 bytes is cut at a
  // code point boundary to fit the 125-byte control payload. False (nothing queued) for a bad
  // code, an invalid reason, or when a close was already sent.
  bool send_close(int code, std::string_view reason);

  std::string_view pending_output() const {
    const Scratch* s = scratch_ptr();
    return s ? std::string_view(s->out).substr(s->out_offset) : std::string_view();
  }
  std::size_t pending_output_size() const {
    const Scratch* s = scratch_ptr();
    return s ? s->out.size() - s->out_offset : 0;
  }
  void consume_output(std::size_t n);
  // Hands all pending output to the caller in one move, without copying: `into` is cleared
  // and its capacity becomes the next output buffer.
  void take_output(std::string& into);

  // With answer_close_at_once, a received close queues our echo at once, so it goes straight
  // to done; so does a failure (§7.1.7: the caller flushes the queued close frame, then drops
  // the connection).
  CloseHandshake close_handshake() const {
    if (!close_sent_) return CloseHandshake::none;
    return failed_code_ != 0 || close_received_ ? CloseHandshake::done : CloseHandshake::sent;
  }
  // A close frame is owed: the peer's close or a protocol error, not answered yet.
  bool close_answer_pending() const {
    return !close_sent_ && (close_received_ || failed_code_ != 0);
  }
  // Queues the owed close frame: the failure's code and reason, or the echo of the peer's
  // code. Nothing when none is owed.
  void write_close_answer();
  bool close_sent() const { return close_sent_; }
  bool close_received() const { return close_received_; }
  // Both close frames passed and no failure: the clean close of §7.1.4.
  bool clean_close() const { return close_sent_ && close_received_ && failed_code_ == 0; }
  // The peer's close code: 1005 for an empty close payload (§7.1.5), -1 when none arrived.
  int received_close_code() const { return received_close_code_; }
  std::string received_close_reason() const;
  // The code of the close frame we queued because the peer broke the protocol
  // (1002, 1007, 1009), 0 when none; and the reason sent with it ("" when none).
  int failed_code() const { return failed_code_; }
  const char* failure_reason() const;  // said by the code: one reason per code

  // Heap bytes of the buffers held now: the message being assembled, a control frame's
  // payload, output not taken yet, and their holder. 0 when idle.
  std::size_t buffer_capacity() const {
    const Scratch* s = scratch_ptr();
    if (!s) return 0;
    return sizeof(Scratch) + heap_capacity(s->message) + heap_capacity(s->control) +
           heap_capacity(s->out);
  }
  // permessage-deflate on this connection (false when not negotiated).
  DeflateView deflate() const { return {config_->deflate, made_deflate()}; }
  // The pool given in the config (null when none).
  BufferPool* buffers() const { return config_->buffers; }
  // What the owner attached to the config (ProtocolConfig::attached).
  const void* attached() const { return config_->attached.get(); }
  // Lets the caller hand back a consumed payload's capacity for the next message.
  void give_back_buffer(std::string&& buffer);

 private:
  // One event: a whole frame in one step when it can (receive_whole_frame(), inlined in it),
  // else the general parser (receive_frames(), apart).
  std::size_t receive_some(const std::uint8_t* data, std::size_t len, ProtocolEvent& out);
  [[gnu::always_inline]] std::size_t receive_whole_frame(const std::uint8_t* data, std::size_t len,
                                                         ProtocolEvent& out);
  [[gnu::noinline]] std::size_t receive_frames(const std::uint8_t* data, std::size_t len,
                                               ProtocolEvent& out);
  // Capacity for a whole frame's payload of `size` bytes in the empty `payload`: apart from
  // receive_whole_frame(), which then keeps no stack canary or spills for it.
  [[gnu::noinline]] void make_room(std::string& payload, std::size_t size);
  // A buffer no longer needed goes back to the pool (freed without one), emptied. Never kept
  // in the scratch: a scratch that holds a buffer is not dropped (drop_scratch_if_idle()).
  void let_go(std::string& buffer);
  bool check_first_two_bytes(std::uint8_t b0, std::uint8_t b1);
  bool start_frame(const std::uint8_t* header);
  bool consume_payload(const std::uint8_t* data, std::size_t n);
  bool finish_frame(ProtocolEvent& out);
  bool finish_close_frame(ProtocolEvent& out);
  bool inflate_message(ProtocolEvent& out);
  void write_message(Opcode first, const std::uint8_t* data, std::size_t len, bool rsv1);
  void fail(int code);  // with the reason failure_reason() gives the code
  // Input is discarded from now on: the frame being read and a partial message are dropped.
  void stop_reading();
  bool send_message_framed(bool text, const std::uint8_t* data, std::size_t len, bool rsv1);
  void write_frame(Opcode opcode, bool fin, const std::uint8_t* data, std::size_t len,
                   bool rsv1);
  void write_unmasked_frame(Opcode opcode, bool fin, const std::uint8_t* data, std::size_t len,
                            bool rsv1);
  void write_close(int code, std::string_view reason);
  // Room for `n` more bytes of output. An empty buffer too small is replaced by a pooled one (a
  // written buffer went back to the pool); a fuller one grows by half, where std::string
  // doubles (16 echoed 64-byte messages, 1,056 bytes, took 2 KiB per connection).
  void reserve_output(std::size_t n) {
    std::string& out = scratch().out;
    if (out.size() + n > out.capacity()) grow_output(n);
  }
  void grow_output(std::size_t n);

  // Made on first use (the first compressed message), unless stateless: null when not
  // negotiated or when there was no memory for it.
  PerMessageDeflate* deflate_engine();

  // Stored once for every Protocol configured alike; its deflate slot stays a configuration.
  Interned<ProtocolConfig> config_;

  // The frame being read and the data message being reassembled (§5.4). They live in the
  // scratch: between messages a connection sits at a frame boundary, where all of this is at
  // its defaults, so an idle connection's Protocol keeps only what outlives a message.
  struct Frame {
    enum class Stage : std::uint8_t { header, payload };
    Stage stage = Stage::header;
    std::uint8_t header[kMaxFrameHeader];
    std::uint8_t header_have = 0;
    std::uint8_t header_need = 2;
    Opcode opcode = Opcode::continuation;
    bool fin = false;
    bool masked = false;
    std::uint8_t key[4] = {};
    std::uint64_t len = 0;
    std::uint64_t done = 0;
    bool in_message = false;
    bool message_text = false;
    bool message_compressed = false;
    Utf8Validator utf8;
    bool at_boundary() const { return stage == Stage::header && header_have == 0 && !in_message; }
  };

  // The buffers and the parser state, only while in use: made by the first frame read or
  // written, dropped once nothing is being read or waits to be taken (drop_idle_scratch).
  struct Scratch {
    std::string message;  // the data message being reassembled
    std::string control;  // payload of the control frame being read (<= 125 bytes); the
                          // peer's close frame stays here once received, if it has a reason
    std::string out;      // output
    std::size_t out_offset = 0;
    Frame frame;
    PerMessageDeflate* deflate = nullptr;  // this connection's own, once made (owned)
  };
  Frame& frame() { return scratch().frame; }
  bool at_frame_boundary() const {
    const Scratch* s = scratch_ptr();
    return !s || s->frame.at_boundary();
  }
  bool in_message() const {
    const Scratch* s = scratch_ptr();
    return s && s->frame.in_message;
  }
  Scratch& scratch() {
    if (scratch_word_ <= 0) make_scratch();
    return made_scratch();
  }
  void make_scratch();  // from the config's pool when there is one: made and freed per message
  void drop_scratch();
  void drop_idle_scratch() {
    // Output waiting (an echo's replies) is the usual reason to keep it: tested here, inline,
    // after every event received.
    if (const Scratch* s = scratch_ptr(); s && s->out.empty()) drop_scratch_if_idle();
  }
  void drop_scratch_if_idle();
  // One word for two things seldom both there (thousands of idle connections): the scratch
  // while there is one (positive: a user-space address), else this connection's own deflate
  // state once made (its address's complement: negative), which the scratch holds while it
  // exists. "Is there a scratch" stays one test of the sign, as a null check was.
  std::intptr_t scratch_word_ = 0;
  Scratch* scratch_ptr() const {
    return scratch_word_ > 0 ? reinterpret_cast<Scratch*>(scratch_word_) : nullptr;
  }
  Scratch& made_scratch() const { return *reinterpret_cast<Scratch*>(scratch_word_); }  // one exists
  PerMessageDeflate* made_deflate() const {
    if (scratch_word_ < 0) return reinterpret_cast<PerMessageDeflate*>(~scratch_word_);
    return scratch_word_ > 0 ? made_scratch().deflate : nullptr;
  }
  void keep_idle_deflate(PerMessageDeflate* deflate) {
    scratch_word_ = deflate ? ~reinterpret_cast<std::intptr_t>(deflate) : 0;
  }

  // Close codes are below 5000: 16 bits each.
  std::int16_t received_close_code_ = -1;
  std::int16_t failed_code_ = 0;
  // Bits, last: an owner's one-byte fields fit in the three bytes after them
  // ([[no_unique_address]]). Set about once a connection: the masking costs no message.
  bool stopped_ : 1 = false;  // failed, or the peer's close arrived: input is discarded
  // Close handshake.
  bool close_sent_ : 1 = false;
  bool close_received_ : 1 = false;
};

}  // namespace wsp
