// The coroutine face of wsp:
//
//   auto ws = co_await wsp::connect(reactor, "ws://127.0.0.1:9001/chat");
//   co_await ws->send_text("hello");
//   wsp::Received r = co_await ws->receive();   // a message, or the close
//
// and on the server side `co_await wsp::accept(std::move(stream))` for an accepted TCP (or TLS)
// stream. Under it is the same Connection the WebSocketPeer façade uses.
#pragma once

#include <coroutine>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "io/byte_stream.h"
#include "io/event.h"
#include "io/reactor.h"
#include "io/result.h"
#include "io/slab.h"
#include "wsp/engine/connection.h"
#include "wsp/engine/opening.h"
#include "wsp/protocol/interned.h"

namespace wsp {

// wsp's error codes (category "wsp") for the coroutine face.
enum class Errc {
  bad_url = 1,
  handshake_failed,   // resolve, connect, TLS or HTTP upgrade failed; see the reason
  closed,             // the connection is closing or closed
  message_too_big,    // larger than outbound_buffer_size: would never fit
  invalid_utf8,       // send_text() of bytes that are not UTF-8
  // An HTTP status instead of 101: the server refused the client's handshake, or accept()
  // refused the client's request (400, 426, 431); the reason says why.
  handshake_refused,
  // The outbound queue is full: WebSocket::send_now() queued nothing (retry after a write).
  no_room,
};
const std::error_category& wsp_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), wsp_category()}; }

}  // namespace wsp

template <>
struct std::is_error_code_enum<wsp::Errc> : std::true_type {};

namespace wsp {

struct ConnectOptions {
  std::vector<std::string> protocols;
  std::vector<std::string> extra_headers;
  std::shared_ptr<tls::TLSOptions> tls_options;
  std::chrono::milliseconds handshake_timeout{10000};
  ConnectionLimits limits;
  // Gets the readable reason when connect fails ("cannot connect to 127.0.0.1:9: Connection
  // refused", "server refused the handshake: 400 Bad Request: no common subprotocol: ...").
  std::string* failure_reason = nullptr;
  // permessage-deflate (RFC 7692): off by default; see docs/permessage-deflate.md.
  DeflateOptions deflate{};
};

struct AcceptOptions {
  // The first of the client's subprotocols found here is selected. When none is (or the client
  // offers none) the answer names no subprotocol and the client decides (RFC 6455 §4.2.2),
  // unless require_protocol_match: then the handshake is refused with 400, as WebSocketPeer
  // does.
  std::vector<std::string> supported_protocols;
  bool require_protocol_match = false;
  std::vector<std::string> extra_response_headers;
  bool tls = false;
  std::chrono::milliseconds handshake_timeout{10000};
  ConnectionLimits limits;
  // Gets the readable reason when accept fails: for Errc::handshake_refused the status and
  // the reason sent to the client ("handshake refused with 400 Bad Request: no common
  // subprotocol: offered chat, supported none").
  std::string* failure_reason = nullptr;
  // Keep the client's request header fields for request_headers() (about 1 KiB a connection;
  // off by default so idle connections stay small).
  bool keep_request_headers = false;
  // permessage-deflate (RFC 7692): off by default; see docs/permessage-deflate.md.
  DeflateOptions deflate{};
};

// What receive() yields: a message, or the end of the connection.
struct Received {
  bool closed = false;     // no more messages: see close_code/close_reason
  bool text = false;
  std::string data;
  int close_code = -1;     // -1: not closed cleanly
  std::string close_reason;
};

// What a WebSocket is made of: the stream after its opening handshake, and what the
// handshake agreed.
struct WebSocketParts {
  std::unique_ptr<io::ByteStream> stream{};
  Role role = Role::server;
  ConnectionLimits limits{};
  std::string leftover{};  // bytes that came after the handshake: the first frames
  const DeflateConfig* deflate = nullptr;  // permessage-deflate, when negotiated
  std::string selected_protocol{};
  std::string requested_url{};
  HeaderList request_headers{};
};

// The connection is a base of the WebSocket (one allocation for both, and WebSocket::of()
// finds the WebSocket of a connection with no pointer kept).
class WebSocket : public io::slab::Allocated, private Connection {
 public:
  explicit WebSocket(WebSocketParts parts);
  // The WebSocket a connection is part of (`connection` must be one's).
  static WebSocket& of(Connection& connection) { return static_cast<WebSocket&>(connection); }

  // The next message, or the close once every message before it was taken. An awaitable,
  // not a Task: a message already queued is returned without suspending or allocating.
  // One receiver at a time per connection. The peer's close (or its protocol error) is
  // answered only after the messages before it were taken and the replies sent in that turn
  // went out: a reply to the last message before a close still reaches the peer.
  class ReceiveOp {
   public:
    explicit ReceiveOp(Connection& connection) : connection_(&connection), waiter_(connection.readable()) {}
    bool await_ready() const noexcept { return ready(); }
    bool await_suspend(std::coroutine_handle<> h) {
      connection_->readable().reset();
      if (ready()) return false;  // nothing can have changed, but stay exact
      waiter_.await_suspend(h);
      return true;
    }
    Received await_resume();

   private:
    bool ready() const {
      return connection_->has_message() || connection_->state() == Connection::State::closed;
    }
    Connection* connection_;
    io::Signal::Waiter waiter_;
  };
  ReceiveOp receive() { return ReceiveOp(*this); }
  // Queues a message; suspends while the outbound queue is full (back-pressure) and fails
  // only when the connection is closing/closed, the message can never fit, or text is not
  // UTF-8. An awaitable, not a Task: when there is room the message is queued without
  // suspending or allocating. A borrowed `data` must stay valid until the co_await ends.
  class SendOp {
   public:
    SendOp(Connection& connection, std::string_view data, bool text)
        : connection_(&connection), borrowed_(data), text_(text) {}
    SendOp(Connection& connection, std::string&& data, bool text)
        : connection_(&connection), owned_(std::move(data)), text_(text), is_owned_(true) {}
    SendOp(const SendOp&) = delete;
    SendOp& operator=(const SendOp&) = delete;
    ~SendOp();  // a buffer the send copied from goes back to the thread's pool
    bool await_ready() { return try_send(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting);
    io::Result<void> await_resume() {
      if (failure_ == Errc{}) return {};
      return make_error_code(failure_);
    }

   private:
    // Queues the message if there is room; true once the send is over (failure_ is set).
    bool try_send() {
      Errc e = is_owned_ ? queue(*connection_, std::move(owned_), text_)
                         : queue(*connection_, borrowed_, text_);
      if (e == Errc::no_room) return false;
      failure_ = e;
      return true;
    }
    io::Task<void> wait_for_room();

    Connection* connection_;
    union {  // one or the other: an echo loop holds a SendOp per connection, kept small
      std::string_view borrowed_;
      std::string owned_;  // given away (zero-copy when large); moved from only once accepted
    };
    bool text_;
    bool is_owned_ = false;
    Errc failure_{};          // 0 once sent
    io::Task<void> waiting_;  // only while the queue is full
  };
  SendOp send(std::string_view data, bool text) { return SendOp(*this, data, text); }
  // The same for a message given away: large ones are written without a copy.
  SendOp send(std::string&& data, bool text) { return SendOp(*this, std::move(data), text); }
  SendOp send_text(std::string_view text) { return send(text, true); }
  SendOp send_binary(std::string_view data) { return send(data, false); }
  // Queues a message without suspending (for wsp::MessageHandler and other code outside a
  // coroutine): empty on success, else Errc::no_room when the queue is full (nothing queued,
  // `data` untouched), or the error send() would give.
  std::error_code send_now(std::string_view data, bool text) {
    return error_of(queue(*this, data, text));
  }
  std::error_code send_now(std::string&& data, bool text) {
    return error_of(queue(*this, std::move(data), text));
  }
  // Starts the close handshake and waits until it is over (or close_timeout drops it).
  io::Task<void> close(int code = 1000, std::string_view reason = {});
  // Optional: returns a received message's buffer for reuse by the next message.
  void recycle(std::string&& buffer) { Connection::recycle(std::move(buffer)); }
  // Drops the connection without a close frame.
  void abort() { Connection::abort(); }

  Connection& connection() { return *this; }
  bool is_open() const { return state() == Connection::State::open; }
  int close_code() const { return Connection::close_code(); }
  std::string close_reason() const { return Connection::close_reason(); }
  const std::string& selected_protocol() const { return request().selected_protocol; }
  const std::string& requested_url() const { return request().url; }
  const HeaderList& request_headers() const { return request().request_headers; }

 private:
  // Queues `data` (moved from only when queued): Errc{} when queued, else why not. Inline:
  // every message sent passes here.
  template <typename Data>
  static Errc queue(Connection& connection, Data&& data, bool text) {
    const std::size_t limit = connection.limits().outbound_buffer_size;
    if (limit > 0 && data.size() > limit) return Errc::message_too_big;
    switch (connection.send(text, std::forward<Data>(data))) {
      case SendResult::ok: return Errc{};
      case SendResult::not_open: return Errc::closed;
      case SendResult::invalid_utf8: return Errc::invalid_utf8;
      case SendResult::too_many_queued:
      case SendResult::buffer_full: break;
    }
    return Errc::no_room;
  }
  static std::error_code error_of(Errc e) { return e == Errc{} ? std::error_code{} : make_error_code(e); }
};

io::Task<io::Result<std::unique_ptr<WebSocket>>> connect(io::Reactor& reactor, std::string url,
                                                         ConnectOptions options = {});
// Only the WebSocket handshake, over a stream the caller has connected: TCP, or TLS whose own
// handshake is done (for a chosen address, or to time each step). `url` gives the Host header,
// the path and ws/wss; options.tls_options is not used.
io::Task<io::Result<std::unique_ptr<WebSocket>>> connect(std::unique_ptr<io::ByteStream> stream,
                                                         std::string url,
                                                         ConnectOptions options = {});
io::Task<io::Result<std::unique_ptr<WebSocket>>> accept(std::unique_ptr<io::ByteStream> stream,
                                                        AcceptOptions options = {});

// Why an Acceptor's handshake failed.
struct AcceptFailure {
  std::error_code error;  // Errc::handshake_failed, or Errc::handshake_refused
  std::string reason;     // as AcceptOptions::failure_reason gets it
  std::string peer;       // refused: the client's address (for a log line), else empty
};

// The server's handshakes without a task each: accept(stream) starts one, and the Acceptor is
// told, on the stream's reactor, when it opened or failed. While a request arrives and is
// answered, the handshake holds its request state and no coroutine frame: one task of the
// Acceptor's times out every handshake (co_await wsp::accept() holds the frames of the tasks
// awaiting it, and a timer and a frame for its deadline: about 1.9 KiB per handshake in the
// example echo server). Made once per reactor thread with the options its connections share
// (its streams are all of that reactor); destroy it before its reactor.
//
//   struct Server : wsp::Acceptor {
//     void on_accepted(std::unique_ptr<wsp::WebSocket> ws) override { new Handler(std::move(ws)); }
//     void on_accept_failed(const wsp::AcceptFailure& f) override { log(f.peer, f.reason); }
//   };
//   server.accept(std::make_unique<io::TcpStream>(std::move(tcp)));
class Acceptor : private ServerOpeningListener {
 public:
  // options.failure_reason is not used: each failure brings its reason.
  explicit Acceptor(AcceptOptions options);
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;
  // Handshakes still under way end here: their streams are closed, and neither call follows.
  virtual ~Acceptor() = default;

  // Starts the handshake over an accepted stream: TCP, or TLS whose own handshake is done.
  // With options that cannot serve (invalid deflate options) it fails before this returns.
  void accept(std::unique_ptr<io::ByteStream> stream);
  std::size_t handshakes_under_way() const { return pending_.size(); }

 protected:
  // Each accepted stream leads to one of the two, called from its reactor's ready list (or
  // from accept(), as said there); either may destroy the Acceptor.
  virtual void on_accepted(std::unique_ptr<WebSocket> ws) = 0;
  virtual void on_accept_failed(const AcceptFailure& failure) = 0;

 private:
  void server_opening_over(OpenedStream& result) override;

  ServerOpeningOptions opening_options_;
  ConnectionLimits limits_;
  std::string invalid_options_;  // why the options cannot serve; empty when they can
  PendingOpenings pending_;      // last: its handshakes end before the options go
};

}  // namespace wsp
