// LoadStream: one wsp-load connection after its opening handshake: the byte stream (TCP or
// TLS) with push-style I/O, the server's frames read by ServerFrameReader and handed to the
// worker in place, and the client's frames (masked, RFC 6455 §5.3) written once per reactor
// turn, every frame queued meanwhile in one write. Pings are answered, the closing handshake
// is done here, and a protocol violation by the server fails the connection with 1002. With
// permessage-deflate (RFC 7692) messages of at least min_size bytes go out compressed, and a
// compressed reply is collected and inflated whole before the worker sees it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/byte_stream.h"
#include "io/ready_list.h"
#include "tools/load/server_frame_reader.h"
#include "wsp/protocol/deflate_negotiation.h"
#include "wsp/protocol/close_code.h"
#include "wsp/protocol/frame.h"
#include "wsp/protocol/permessage_deflate.h"

namespace wsp_load {

class LoadStream final : private io::StreamHandler {
 public:
  // What the worker is told, always from the reactor's ready list: a received chunk, which it
  // reads with feed() (one call per chunk; the per-message calls are inlined in the worker),
  // and the end.
  class Events {
   public:
    virtual void received(LoadStream& s, const std::uint8_t* data, std::size_t size) = 0;
    virtual void ended(LoadStream& s) = 0;  // the connection is over; close_code() says how

   protected:
    ~Events() = default;
  };

  // `deflate`: what the handshake agreed for permessage-deflate (null: not negotiated).
  LoadStream(std::unique_ptr<io::ByteStream> stream, Events& events, void* owner,
             const wsp::DeflateConfig* deflate = nullptr);
  ~LoadStream();
  LoadStream(const LoadStream&) = delete;
  LoadStream& operator=(const LoadStream&) = delete;

  // Starts receiving; `leftover` is what followed the handshake response.
  void start(std::string_view leftover);

  // Queues one whole message (a frame masked with a fresh key); written this turn. False
  // once the connection is closing or over.
  bool send(bool text, std::string_view payload);
  // Starts the closing handshake (§7.1.2): our close frame, then the server's, then its TCP end.
  void close(int code);
  // Drops the connection now (no close frame).
  void abort();

  bool open() const { return !close_sent_ && !close_received_ && !ended_; }
  bool ended() const { return ended_; }
  // The server's close code (1005: none in its frame), the 1002 we sent when the server broke
  // the protocol, or -1 when the connection was dropped without a close frame.
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  const char* protocol_failure() const { return reader_.failure(); }
  void* owner() const { return owner_; }
  // permessage-deflate on this connection (null when not negotiated), with its counters.
  const wsp::PerMessageDeflate* deflate() const { return compression_ ? &compression_->deflate : nullptr; }

  // Parses a received chunk: data messages go to `replies` (message_begin(bool text),
  // message_data(const uint8_t*, size_t), message_end()), inflated first when compressed;
  // control frames are handled here.
  template <typename Replies>
  void feed(const std::uint8_t* data, std::size_t size, Replies& replies) {
    struct Both {
      LoadStream& stream;
      Replies& replies;
      void message_begin(bool text, bool compressed) {
        if (compressed) stream.collect_compressed(text);
        else replies.message_begin(text);
      }
      void message_data(const std::uint8_t* d, std::size_t n) {
        if (stream.collecting()) stream.compression_->collected.append(reinterpret_cast<const char*>(d), n);
        else replies.message_data(d, n);
      }
      void message_end() {
        if (!stream.collecting()) {
          replies.message_end();
          return;
        }
        const std::string* inflated = stream.inflate_collected();
        if (!inflated) return;  // the reader is stopped: the connection fails
        replies.message_begin(stream.compression_->text);
        if (!inflated->empty())
          replies.message_data(reinterpret_cast<const std::uint8_t*>(inflated->data()), inflated->size());
        replies.message_end();
      }
      void control(wsp::Opcode op, const std::uint8_t* p, std::size_t n) { stream.control(op, p, n); }
    } both{*this, replies};
    reader_.feed(data, size, both);
  }

 private:
  bool on_received(std::span<const std::uint8_t> data) override;
  void on_receive_end(std::error_code error) override;
  void on_written(std::error_code error) override;

  void control(wsp::Opcode opcode, const std::uint8_t* payload, std::size_t size);
  bool collecting() const { return compression_ && compression_->collecting; }
  void collect_compressed(bool text);
  // The collected message inflated; null when it does not inflate (the reader is stopped
  // and the close code chosen: 1007 invalid, 1009 too big, 1011 no memory).
  // The server broke the protocol: our 1002, then the end (§7.1.7). False: stop reading.
  bool fail_protocol();
  const std::string* inflate_collected();
  void queue_frame(wsp::Opcode opcode, const std::uint8_t* payload, std::size_t size,
                   bool rsv1 = false);
  void flush();
  void finish();  // ends the connection: stream closed, the worker told (once)

  std::unique_ptr<io::ByteStream> stream_;
  Events& events_;
  void* owner_;
  ServerFrameReader reader_;
  // permessage-deflate's state, made only when it was negotiated.
  struct Compression {
    explicit Compression(const wsp::DeflateConfig& config);
    wsp::PerMessageDeflate deflate;
    std::string compressed;  // the message being sent
    bool collecting = false; // a compressed reply is being read
    bool text = false;       // its type
    std::string collected;   // its payload so far
    std::string inflated;
  };
  std::unique_ptr<Compression> compression_;
  int failure_code_ = wsp::close_code::protocol_error;  // what fail_protocol() sends
  // Frames queued this turn, and those the kernel is writing: two buffers that trade places,
  // grown (never zero-filled) to the largest batch.
  struct Buffer {
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t size = 0, capacity = 0;
    std::uint8_t* extend(std::size_t n);  // n more bytes at the end, to be written by the caller
  };
  Buffer out_, writing_;
  bool writing_now_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool ended_ = false;
  int close_code_ = -1;
  std::string close_reason_;
  io::CallbackNode<LoadStream, &LoadStream::flush> flush_node_{this};
};

}  // namespace wsp_load
