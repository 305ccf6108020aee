// Connection: one open WebSocket on the reactor, where the sans-IO Protocol meets a ByteStream.
// The one engine under both faces: the coroutine WebSocket (co_await receive/send) and the
// poll()-driven WebSocketPeer façade.
//
// Completion-driven, with no task of its own while idle: received bytes are pushed in by the
// stream (on TCP, a multishot receive from the reactor's buffer ring), parsed by the Protocol
// and queued as whole messages (or handed straight to a listener that takes them); whatever
// the Protocol serialized is written once per reactor turn, every pending frame in one write
// (on TCP one sendmsg, or one per 64 KiB of large given-away messages: see TcpPushIo). Queues
// are bounded (inbound_buffer_size, outbound_buffer_size, max_queued_packets): a full inbound
// queue pauses receiving (TCP back-pressure); a full outbound queue refuses or suspends
// senders. An idle connection holds no receive or send buffer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_stream.h"
#include "io/destruction_watch.h"
#include "io/event.h"
#include "io/reactor.h"
#include "io/slab.h"
#include "io/timeout_list.h"
#include "wsp/engine/inbound_queue.h"
#include "wsp/engine/outbound_queue.h"
#include "wsp/engine/shared_frame.h"
#include "wsp/protocol/deflate_negotiation.h"
#include "wsp/protocol/http_header_block.h"
#include "wsp/protocol/interned.h"
#include "wsp/protocol/permessage_deflate.h"
#include "wsp/protocol/protocol.h"

namespace wsp {

struct ConnectionLimits {
  // Largest message and most bytes held in the inbound queue. 0 = unlimited.
  std::size_t inbound_buffer_size = 65535;
  // Most payload bytes waiting to be written. 0 = unlimited: 4 GiB - 1, as is any larger value
  // (the outbound queue counts in 32 bits; so is max_queued_packets).
  std::size_t outbound_buffer_size = 65535;
  // Most messages in each queue (at least 1).
  std::size_t max_queued_packets = 4096;
  // Seconds between automatic pings; 0 = none. A ping unanswered by the next tick drops the
  // connection.
  double heartbeat_interval = 0;
  // How long CLOSING may last before the connection is dropped. 0 = forever.
  std::chrono::milliseconds close_timeout{5000};

  bool operator==(const ConnectionLimits&) const = default;
};

// What a server's opening request settled (empty for a client's connection).
struct RequestFacts {
  std::string url;
  std::string selected_protocol;
  HeaderList request_headers;  // only when asked to keep them
  bool operator==(const RequestFacts&) const = default;
};

// What a connection is opened with, mostly alike across a server's connections (one set of
// limits, one URL per path; the subprotocol and kept headers seldom set): one shared copy per
// distinct value (Interned), which the Protocol's config carries (see Connection::facts).
struct ConnectionFacts {
  ConnectionLimits limits;
  RequestFacts request;
  bool operator==(const ConnectionFacts&) const = default;
};

}  // namespace wsp

template <>
struct std::hash<wsp::ConnectionFacts> {
  // The request only: connections that differ at all mostly differ there.
  std::size_t operator()(const wsp::ConnectionFacts& facts) const noexcept {
    const std::hash<std::string_view> h;
    const wsp::RequestFacts& request = facts.request;
    std::size_t seed = h(request.url) ^ (h(request.selected_protocol) << 1);
    for (const auto& [name, value] : request.request_headers) {
      seed = seed * 31 + h(name);
      seed = seed * 31 + h(value);
    }
    return seed;
  }
};

namespace wsp {

enum class SendResult : std::uint8_t {
  ok,
  not_open,        // closing or closed
  too_many_queued, // max_queued_packets reached
  buffer_full,     // outbound_buffer_size would be exceeded
  invalid_utf8,    // text that is not UTF-8
};

class Connection;

// Told once when a connection ends (state closed, or destroyed while open): how
// publish/subscribe drops the subscriptions of a connection that is gone.
class ConnectionObserver {
 public:
  virtual void connection_ended(Connection& connection) = 0;

 protected:
  ~ConnectionObserver() = default;
};

// What a connection calls from the reactor's ready list when it has news for its listener
// (Connection::set_listener). It names its connection while set, and is told (connection()
// null) when the connection is destroyed. The connection's own ready entry carries the call,
// so a listener holds no entry of its own.
class ConnectionListener {
 public:
  Connection* connection() const { return connection_; }

 protected:
  ~ConnectionListener() = default;
  // A message waits, the connection ended, or (while wanted) queued output was written. May
  // destroy the connection.
  virtual void on_connection_ready() = 0;
  // A message just parsed from the stream while none waits before it and this listener does
  // not want writes (it holds nothing back): taken now (true), or queued for
  // on_connection_ready() (false, `payload` untouched). A listener that takes it may leave an
  // empty buffer in `payload` for the next message. Called between frames, never from inside
  // another of the connection's calls to its listener; may destroy the connection.
  virtual bool take_parsed_message(std::string& payload, bool text) {
    (void)payload;
    (void)text;
    return false;
  }

 private:
  friend class Connection;
  Connection* connection_ = nullptr;
};

// What back-pressure holds in a Connection, made only then (at namespace scope: clang cannot
// default-construct a nested struct with member initializers inside its incomplete class).
namespace connection_backlog {
// Received bytes not parsed yet because the queue was full, and the end of the stream if it
// came after them.
struct Overflow {
  std::string bytes;
  bool stream_ended = false;
  std::error_code error;
};
// A parsed message waiting for room in the inbound queue, the bytes received after it, and a
// message the listener was given and held back.
struct Backlog {
  std::optional<ProtocolEvent> held;
  std::optional<Overflow> overflow;
  std::optional<Message> held_by_listener;
  bool empty() const { return !held && !overflow && !held_by_listener; }
};
}  // namespace connection_backlog

class Connection : private io::StreamHandler, private io::ReadyBase<Connection> {
 public:
  // What the application sees: open until our close frame is queued; closing while the closing
  // handshake finishes; closed once the stream is shut. Derived from the protocol's closing
  // handshake and whether the stream ended. A close frame from the peer (or a protocol error)
  // is answered once the application took every message that came before it, after its
  // replies of that turn: until then the connection is open, and send() and close() work.
  enum class State : std::uint8_t { open, closing, closed };

  // `deflate`: what the handshake agreed for permessage-deflate (null: not negotiated).
  Connection(std::unique_ptr<io::ByteStream> stream, Role role, ConnectionLimits limits,
             std::string leftover = {}, const DeflateConfig* deflate = nullptr,
             RequestFacts request = {});
  // Virtual, so deleting a WebSocket or a Connection is right either way (clang warns about
  // the other); the vtable pointer is there already, for io::StreamHandler.
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // --- receiving
  bool has_message() const { return occasional_ && !occasional_->inbound.empty(); }
  std::size_t queued_messages() const { return occasional_ ? occasional_->inbound.size() : 0; }
  // Moves the oldest message into `data`; returns whether it is text.
  bool pop_message(std::string& data);
  // Hands a consumed message's buffer back to the thread's pool, so the next message of that
  // size (up to 1 MiB; larger buffers are freed) needs no allocation (optional; for servers
  // that echo or forward messages).
  void recycle(std::string&& buffer);
  // Set when a message arrives and when the connection has ended (state closed): the two
  // things a receiver waits for. Made on first need, and made set (what happened before is not
  // known; a waiter resets it and checks again before it waits).
  io::Signal& readable() { return occasional().readable; }

  // --- sending (non-blocking; the coroutine face suspends on writable() instead)
  SendResult send(bool text, std::string_view data);
  // The same for a message the caller gives away: a large one is written from its own buffer
  // (no copy into the output; the buffer is recycled for receiving once written). One copied
  // into the output (small, compressed or fragmented) leaves `data` as it was, for the caller
  // to reuse: an echo's next message goes into the same buffer.
  SendResult send(bool text, std::string&& data) {
    if (!outbound_.takes_own_buffer(data.size())) return send(text, std::string_view(data));
    return send_own_buffer(text, std::move(data));
  }
  // A frame encoded once for many connections of this reactor (publish/subscribe): written
  // from the shared bytes when this connection sends such frames as they are, else encoded
  // for it as send() would (permessage-deflate, fragmentation, a client). Text in it must be
  // UTF-8 already: it is not checked again.
  SendResult send_shared(const SharedFrameRef& frame);
  // Whether a message of `size` bytes would be accepted now.
  SendResult can_send(std::size_t size) const {
    if (state() != State::open) return SendResult::not_open;
    if (outbound_.too_many(limits().max_queued_packets)) return SendResult::too_many_queued;
    if (outbound_.too_big(size, limits().outbound_buffer_size)) return SendResult::buffer_full;
    return SendResult::ok;
  }
  // Payload bytes of messages not yet fully written (headers excluded).
  std::size_t buffered_amount() const { return outbound_.bytes(); }
  std::size_t queued_outbound() const { return outbound_.count(); }
  // Set whenever queued output was written. Made on first need, set, as readable().
  io::Signal& writable() { return occasional().writable; }
  // Called from this reactor's ready list whenever readable() is set (or writable(), while
  // set_listener_wants_writable), and at once when a message waits or the connection has
  // ended (null: none). How a wsp::MessageHandler is called without a task waiting on the
  // events. Setting a listener clears wants_writable.
  void set_listener(ConnectionListener* listener);
  // Whether writes wake the listener too (a message waits for room); messages and the end
  // always do.
  void set_listener_wants_writable(bool wants) { listener_wants_writable_ = wants; }
  // A message the listener took out and holds back, to be offered again before any later one
  // (MessageHandler::on_message returned false). Kept with the back-pressure state, made only
  // then; dropped when the listener changes. Until it is taken for good, the peer's close is
  // not answered: it comes after the messages before it.
  void hold_for_listener(std::string&& data, bool text);
  Message* held_by_listener() const {
    Backlog* b = backlog_if_any();
    return b && b->held_by_listener ? &*b->held_by_listener : nullptr;
  }
  // The held message was taken (or is dropped).
  void drop_held_by_listener();

  // --- closing
  // Queues a close frame (code -1: empty payload). False for a code or reason the RFC forbids
  // or when a close was already sent.
  bool close(int code, std::string_view reason);
  // Drops the connection at once, without a close frame; close code -1.
  void abort();

  State state() const {
    if (ended_) return State::closed;
    return protocol_.close_handshake() == Protocol::CloseHandshake::none ? State::open
                                                                          : State::closing;
  }
  // The peer's close code (1005 for an empty close frame), or -1 for an unclean close; the
  // code we sent when we failed the connection for a protocol error.
  int close_code() const;
  std::string close_reason() const;
  bool clean() const { return close_code() != -1; }

  // permessage-deflate on this connection (none when not negotiated): its configuration and
  // how many bytes it saved. Its zlib state is made on the first compressed message: a view
  // taken before that shows none of it.
  std::optional<DeflateView> deflate() const {
    if (const DeflateView d = protocol_.deflate()) return d;
    return std::nullopt;
  }

  // Heap bytes of the buffers this connection holds besides the messages queued for the
  // application: the message being assembled, output, bytes waiting to be parsed. 0 when
  // idle: buffers go back to the thread's pool between messages.
  std::size_t buffer_capacity() const {
    return protocol_.buffer_capacity() + outbound_.buffer_capacity() +
           (held() ? heap_capacity(held()->payload) : 0) +
           (overflow() ? heap_capacity(overflow()->bytes) : 0);
  }

  // One observer (null: none); not told when set on a connection already ended.
  void set_observer(ConnectionObserver* observer) {
    if (observer || occasional_) occasional().observer = observer;
  }
  ConnectionObserver* observer() const { return occasional_ ? occasional_->observer : nullptr; }

  io::TcpStream* tcp() { return stream_ ? stream_->tcp() : nullptr; }
  io::Reactor& reactor() { return reactor_; }
  const ConnectionLimits& limits() const { return facts().limits; }
  const RequestFacts& request() const { return facts().request; }

 private:
  // io::StreamHandler
  bool on_received(std::span<const std::uint8_t> data) override;
  void on_receive_end(std::error_code error) override;
  void on_written(std::error_code error) override;
  void on_written_some(std::size_t bytes) override;

  // Parses `data` until it is used up or the inbound queue is full; returns what was used.
  // With `direct` (bytes straight from the stream), a message nothing waits before goes to
  // the listener at once (ConnectionListener::take_parsed_message); parsing stops if that
  // destroyed the connection, which `direct` then tells.
  std::size_t parse(const std::uint8_t* data, std::size_t size,
                    io::DestructionWatch* direct = nullptr);
  // Parses what waits in overflow() after the queue got room; resumes receiving when done.
  void drain_overflow();
  // Receiving waits: for room in the inbound queue, or for the peer to read what we owe it.
  bool stalled() const { return held() || backlogged_; }
  bool output_backlogged() const;
  bool inbound_full(std::size_t next_size) const {
    // One message always fits an empty queue.
    return occasional_ && occasional_->inbound.full_for(next_size, limits().inbound_buffer_size,
                                                        limits().max_queued_packets);
  }
  // Queues a parsed message, or holds it while the queue is full; notes a pong.
  void deliver(ProtocolEvent& event);
  // Whether a message parsed now may go to the listener at once: nothing waits before it.
  bool listener_takes_now() const {
    if (!listener_ || listener_wants_writable_ || has_message()) return false;
    const Backlog* b = backlog_if_any();
    return !b || (!b->held && !b->held_by_listener);
  }
  // Queues the held message once there is room.
  void deliver_held();
  // After the protocol left OPEN (a close sent, received or owed): starts the close timer and
  // has the owed close frame written once no message before it waits for the application.
  void closing_progress();
  // The stream ended (orderly when `error` is empty) and every byte it brought was parsed.
  void end_of_stream(std::error_code error);
  void output_added();
  // send() of a large message given away: written from its own buffer when it goes out as one
  // plain frame. Apart, so that a small message's send() keeps no stack canary or spills.
  SendResult send_own_buffer(bool text, std::string&& data);
  // Set readable() or writable() (if made) and tell the listener that wants to know.
  void signal_readable() {
    if (occasional_) occasional_->readable.set(reactor_);
    if (listener_) call_listener_soon();
  }
  void signal_writable() {
    if (occasional_) occasional_->writable.set(reactor_);
    if (listener_ && listener_wants_writable_) call_listener_soon();
  }
  void call_listener_soon() {
    listener_due_ = true;
    reactor_.schedule(this);
  }
  // The connection is its own ready entry: scheduled once per turn in which output was added
  // (it writes what the protocol serialized) or its listener has news (called first: what it
  // sends goes out in the same write).
  friend class io::ReadyBase<Connection>;
  void run_ready();
  void flush();
  io::Task<void> heartbeat_loop();
  static void close_timed_out(io::TimeoutEntry& entry);
  io::Task<void> graceful_end();  // for streams whose orderly end must wait (TLS)
  void shut_down(const io::Result<void>& ended, io::Reactor::TaskId self);
  // Ends the connection: stops timers (all but `self`, the one calling) and closes the stream.
  void finish(io::Reactor::TaskId self);

  io::Reactor& reactor_;
  std::unique_ptr<io::ByteStream> stream_;
  // The flags fill the Protocol's last three bytes of padding (thousands of connections): the
  // two written for each message received are whole bytes, the rest bits.
  [[no_unique_address]] Protocol protocol_;
  bool receiving_paused_ = false;
  bool backlogged_ = false;  // too much owed output (pongs) waits unwritten
  bool ended_ : 1 = false;    // the stream is shut: closed
  bool aborted_ : 1 = false;  // ended without a clean close (close code -1)
  bool awaiting_pong_ : 1 = false;
  bool answer_due_ : 1 = false;  // the next flush writes the owed close frame first
  bool listener_wants_writable_ : 1 = false;
  bool listener_due_ : 1 = false;
  // The limits and the request: one interned copy for connections opened alike, carried by the
  // Protocol's config (ProtocolConfig::attached), so the connection holds no pointer to it.
  const ConnectionFacts& facts() const {
    return *static_cast<const ConnectionFacts*>(protocol_.attached());
  }

  using Overflow = connection_backlog::Overflow;
  using Backlog = connection_backlog::Backlog;
  OutboundQueue outbound_;

  // The closing handshake's bound (ConnectionLimits::close_timeout), in the reactor's list of
  // such timeouts.
  struct CloseTimeout : io::TimeoutEntry {
    Connection* connection = nullptr;
  };
  // Made on first need: the connection's own tasks (heartbeats, the closing handshake), its
  // observer (publish/subscribe), what back-pressure holds, the coroutine face's signals and
  // the messages queued for it. An idle connection without heartbeats, served by a
  // MessageHandler (which takes messages as they are parsed), holds none.
  struct Occasional : io::slab::Allocated {  // lives as long as the connection
    io::Reactor::TaskId heartbeat = 0, ending = 0;
    CloseTimeout close_timeout;
    ConnectionObserver* observer = nullptr;
    std::unique_ptr<Backlog> backlog;  // only under back-pressure
    io::Signal readable, writable;
    InboundQueue inbound;
  };
  Occasional& occasional() {
    if (!occasional_) {
      occasional_ = std::make_unique<Occasional>();
      occasional_->readable.set(reactor_);
      occasional_->writable.set(reactor_);
    }
    return *occasional_;
  }
  std::unique_ptr<Occasional> occasional_;

  Backlog* backlog_if_any() const { return occasional_ ? occasional_->backlog.get() : nullptr; }
  ProtocolEvent* held() const {
    Backlog* b = backlog_if_any();
    return b && b->held ? &*b->held : nullptr;
  }
  Overflow* overflow() const {
    Backlog* b = backlog_if_any();
    return b && b->overflow ? &*b->overflow : nullptr;
  }
  Backlog& backlog() {
    std::unique_ptr<Backlog>& b = occasional().backlog;
    if (!b) b = std::make_unique<Backlog>();
    return *b;
  }
  // Drops the held message or the overflow: the backlog goes with the last of what it holds.
  void drop_held() {
    occasional_->backlog->held.reset();
    drop_backlog_if_empty();
  }
  void drop_overflow() {
    occasional_->backlog->overflow.reset();
    drop_backlog_if_empty();
  }
  void drop_backlog_if_empty() {
    std::unique_ptr<Backlog>& b = occasional_->backlog;
    if (b->empty()) b.reset();
  }
  ConnectionListener* listener_ = nullptr;
};

}  // namespace wsp
