// Opening: the part of a connection before it is a WebSocket: resolve, TCP connect, TLS, and
// the HTTP upgrade (client), or reading the upgrade request and answering it (server). The
// client side runs as a task on the reactor; the server side is driven by the stream's push
// I/O, with no task of its own (a burst of accepted connections holds no coroutine frames while
// their requests arrive). Both have a deadline (handshake_timeout); both faces start one and
// take the result: the coroutine face awaits finished(), the poll() façade checks done(), and
// a server's openings started with Opening::serve() tell their ServerOpeningListener.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/byte_stream.h"
#include "io/event.h"
#include "io/reactor.h"
#include "io/task.h"
#include "wsp/protocol/handshake.h"
#include "wsp/protocol/url.h"

namespace tls {
class TLSOptions;
}

namespace wsp {

struct ClientOpeningOptions {
  std::vector<std::string> protocols;
  std::vector<std::string> extra_headers;
  std::shared_ptr<tls::TLSOptions> tls_options;  // null: the defaults (verify against the system store)
  std::chrono::milliseconds timeout{10000};       // 0: none
  DeflateOptions deflate{};                         // permessage-deflate offer (off: none)
};

struct ServerOpeningOptions {
  // What a request is checked against and its answer made from (subprotocols, extra headers,
  // tls: requested URLs start with wss://, permessage-deflate): one copy that every handshake
  // of a server points at.
  std::shared_ptr<const ServerHandshakeOptions> handshake =
      std::make_shared<const ServerHandshakeOptions>();
  std::chrono::milliseconds timeout{10000};
  bool keep_request_headers = true;  // false: OpenedStream::request_headers stays empty
};

// What a finished opening leaves behind.
struct OpenedStream {
  bool ok = false;
  std::string error;                         // readable reason when !ok
  // A refused handshake: the status the server answered instead of 101 (client), or the one
  // we refused the request with (server: 400, 426, 431). 0 for every other outcome.
  int refusal_status = 0;
  std::unique_ptr<io::ByteStream> stream;    // when ok
  std::string leftover;                      // bytes after the handshake: frame data
  std::string selected_protocol;
  std::string requested_url;                 // server: ws(s):// + Host + target
  HeaderList request_headers;                // server: the client's request header fields
  std::optional<DeflateConfig> deflate;      // permessage-deflate, when negotiated
  std::string refused_peer;                  // server, refused: the client's address, for a log
};

class Opening;

// What a server's openings started with Opening::serve() report to, each once it is over and
// gone (so the listener may start the next one, or destroy the list below).
class ServerOpeningListener {
 public:
  virtual void server_opening_over(OpenedStream& result) = 0;

 protected:
  ~ServerOpeningListener() = default;
};

// The openings a server started with Opening::serve() and not finished, in the order they
// began: each is owned here until it is over. They share one deadline task, which sleeps until
// the oldest one's deadline: a handshake holds no timer or frame of its own, and one that ends
// in time cancels nothing. Destroying the list (before its reactor) drops those still under
// way: their streams closed, their listener not told.
class PendingOpenings {
 public:
  // `timeout`: how long each may last (0: no limit).
  explicit PendingOpenings(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  PendingOpenings(const PendingOpenings&) = delete;
  PendingOpenings& operator=(const PendingOpenings&) = delete;
  ~PendingOpenings();
  std::size_t size() const { return size_; }

 private:
  friend class Opening;
  void add(Opening& opening, io::Reactor& reactor);
  void remove(Opening& opening);
  // Fails each opening whose deadline passed, oldest first; ends when none is left.
  io::Task<void> expire(io::Reactor& reactor);

  Opening* first_ = nullptr;  // the oldest: the earliest deadline
  Opening* last_ = nullptr;
  std::size_t size_ = 0;
  std::chrono::milliseconds timeout_;
  io::Reactor* reactor_ = nullptr;
  io::Reactor::TaskId expiry_ = 0;  // the deadline task, while one runs
  bool expiring_ = false;           // it is failing an opening now
};

class Opening {
 public:
  static std::unique_ptr<Opening> client(io::Reactor& reactor, WebSocketUrl url,
                                         ClientOpeningOptions options);
  // Only the HTTP upgrade, over a stream the caller connected (TCP, or TLS already
  // handshaken); `url` gives the Host header and the path. options.tls_options is not used.
  static std::unique_ptr<Opening> client_over(std::unique_ptr<io::ByteStream> stream,
                                              WebSocketUrl url, ClientOpeningOptions options);
  static std::unique_ptr<Opening> server(std::unique_ptr<io::ByteStream> stream,
                                         ServerOpeningOptions options);
  // The same, owned by `pending` until it is over, when `listener` is told and given the
  // result. Nothing waits for it, and its deadline is `pending`'s (options.timeout is not
  // used): while the request arrives the handshake holds no coroutine frame.
  static void serve(std::unique_ptr<io::ByteStream> stream, const ServerOpeningOptions& options,
                    PendingOpenings& pending, ServerOpeningListener& listener);
  ~Opening();  // cancels what is still running
  Opening(const Opening&) = delete;
  Opening& operator=(const Opening&) = delete;

  bool done() const { return done_; }
  // A server's handshake under way holds an Opening and its request state (bench:memory_layout).
  static std::size_t server_request_size();
  io::Event& finished() { return finished_; }
  OpenedStream& result() {
    if (!result_) result_ = std::make_unique<OpenedStream>();
    return *result_;
  }

 private:
  explicit Opening(io::Reactor& reactor);
  class ServerRequest;  // the server side: reads the request, writes the answer
  void start(io::Task<void> work, std::chrono::milliseconds timeout);
  void start_watchdog(std::chrono::milliseconds timeout);
  io::Task<void> run_client(WebSocketUrl url, ClientOpeningOptions options);
  io::Task<void> run_upgrade(std::unique_ptr<io::ByteStream> stream, WebSocketUrl url,
                             ClientOpeningOptions options);
  io::Task<void> watchdog(std::chrono::milliseconds timeout);
  void complete();
  void fail(std::string reason);
  void time_out();

  io::Reactor& reactor_;
  io::Event finished_;
  // Made on first need: a server's opening makes it when it ends, so the handshakes of a
  // burst under way hold none.
  std::unique_ptr<OpenedStream> result_;
  bool done_ = false;
  io::Reactor::TaskId work_ = 0, watchdog_ = 0;
  std::unique_ptr<ServerRequest> server_request_;
  // Only for Opening::serve(): who owns this and whom to tell, the owner's list, and when this
  // times out (io::Reactor::now()).
  friend class PendingOpenings;
  PendingOpenings* pending_ = nullptr;
  ServerOpeningListener* listener_ = nullptr;
  Opening* previous_ = nullptr;
  Opening* next_ = nullptr;
  io::Duration deadline_{};
};

}  // namespace wsp
