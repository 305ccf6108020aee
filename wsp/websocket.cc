#include "wsp/websocket.h"

#include "wsp/engine/per_thread.h"

namespace wsp {

namespace {

struct Category final : std::error_category {
  const char* name() const noexcept override { return "wsp"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::bad_url: return "not a valid ws:// or wss:// URL";
      case Errc::handshake_failed: return "the WebSocket opening handshake failed";
      case Errc::closed: return "the WebSocket connection is closing or closed";
      case Errc::message_too_big: return "message larger than the outbound buffer";
      case Errc::invalid_utf8: return "text message is not valid UTF-8";
      case Errc::handshake_refused: return "the WebSocket opening handshake was refused";
      case Errc::no_room: return "the outbound queue is full";
    }
    return "unknown wsp error";
  }
};
// Built at compile time: comparing a send's result with an Errc checks no guard.
constinit const Category category;

}  // namespace

const std::error_category& wsp_category() { return category; }

WebSocket::WebSocket(WebSocketParts parts)
    : Connection(std::move(parts.stream), parts.role, parts.limits, std::move(parts.leftover),
                 parts.deflate,
                 RequestFacts{std::move(parts.requested_url), std::move(parts.selected_protocol),
                              std::move(parts.request_headers)}) {}

Received WebSocket::ReceiveOp::await_resume() {
  // The readable event is set only for a message or the end, so one of them is here.
  Received r;
  if (connection_->has_message()) {
    r.text = connection_->pop_message(r.data);
  } else {
    r.closed = true;
    r.close_code = connection_->close_code();
    r.close_reason = connection_->close_reason();
  }
  return r;
}

WebSocket::SendOp::~SendOp() {
  if (!is_owned_) return;
  if (heap_capacity(owned_) != 0) thread_buffer_pool().give_back(std::move(owned_));
  owned_.~basic_string();
}

io::Task<void> WebSocket::SendOp::wait_for_room() {
  do {
    connection_->writable().reset();
    co_await connection_->writable().wait();
  } while (!try_send());
}

std::coroutine_handle<> WebSocket::SendOp::await_suspend(std::coroutine_handle<> awaiting) {
  // The queue is full: a small task waits for room (a frame only in this slow case) and
  // resumes the sender when the message was queued or the send failed.
  waiting_ = wait_for_room();
  return (std::move(waiting_).operator co_await()).await_suspend(awaiting);
}

io::Task<void> WebSocket::close(int code, std::string_view reason) {
  // A code or reason the RFC forbids queues nothing: the connection stays as it was.
  if (!Connection::close(code, reason) && state() == Connection::State::open) {
    co_return;
  }
  while (state() != Connection::State::closed) {
    readable().reset();
    co_await readable().wait();
  }
}

namespace {

// The WebSocket a finished opening made, or why there is none.
io::Result<std::unique_ptr<WebSocket>> websocket_from(OpenedStream& opened, Role role,
                                                      const ConnectionLimits& limits) {
  // What the handshake allocated is freed by now.
  if (io::Reactor* reactor = io::Reactor::current_if_any()) reactor->trim_heap_when_quiet();
  if (!opened.ok) {
    return make_error_code(opened.refusal_status ? Errc::handshake_refused
                                                 : Errc::handshake_failed);
  }
  return std::make_unique<WebSocket>(WebSocketParts{
      .stream = std::move(opened.stream),
      .role = role,
      .limits = limits,
      .leftover = std::move(opened.leftover),
      .deflate = opened.deflate ? &*opened.deflate : nullptr,
      .selected_protocol = std::move(opened.selected_protocol),
      .requested_url = std::move(opened.requested_url),
      .request_headers = std::move(opened.request_headers)});
}

io::Task<io::Result<std::unique_ptr<WebSocket>>> finish_opening(std::unique_ptr<Opening> opening,
                                                                Role role, ConnectionLimits limits,
                                                                std::string* failure_reason) {
  if (!opening->done()) co_await opening->finished().wait();
  OpenedStream& opened = opening->result();
  if (!opened.ok && failure_reason) *failure_reason = opened.error;
  co_return websocket_from(opened, role, limits);
}

// The opening's share of AcceptOptions (its vectors moved out), or false with the reason
// when they cannot serve.
bool opening_options_of(AcceptOptions& options, ServerOpeningOptions& opening, std::string& error) {
  if (!valid_deflate_options(options.deflate, error)) {
    error = "invalid deflate options: " + error;
    return false;
  }
  opening = ServerOpeningOptions{
      .handshake = std::make_shared<const ServerHandshakeOptions>(ServerHandshakeOptions{
          .supported_protocols = std::move(options.supported_protocols),
          .extra_response_headers = std::move(options.extra_response_headers),
          .tls = options.tls,
          .require_protocol_match = options.require_protocol_match,
          .deflate = std::move(options.deflate),
      }),
      .timeout = options.handshake_timeout,
      .keep_request_headers = options.keep_request_headers,
  };
  return true;
}

}  // namespace

io::Task<io::Result<std::unique_ptr<WebSocket>>> connect(io::Reactor& reactor, std::string url,
                                                         ConnectOptions options) {
  if (std::string error; !valid_deflate_options(options.deflate, error)) {
    if (options.failure_reason) *options.failure_reason = "invalid deflate options: " + error;
    co_return make_error_code(Errc::handshake_failed);
  }
  WebSocketUrl parsed;
  std::string why;
  if (!parse_websocket_url(url, parsed, &why)) {
    if (options.failure_reason) *options.failure_reason = why;
    co_return make_error_code(Errc::bad_url);
  }
  auto opening = Opening::client(reactor, std::move(parsed),
                                 ClientOpeningOptions{
                                     .protocols = std::move(options.protocols),
                                     .extra_headers = std::move(options.extra_headers),
                                     .tls_options = std::move(options.tls_options),
                                     .timeout = options.handshake_timeout,
                                     .deflate = std::move(options.deflate),
                                 });
  auto ws = co_await finish_opening(std::move(opening), Role::client, options.limits,
                                    options.failure_reason);
  co_return ws;
}

io::Task<io::Result<std::unique_ptr<WebSocket>>> connect(std::unique_ptr<io::ByteStream> stream,
                                                         std::string url,
                                                         ConnectOptions options) {
  WebSocketUrl parsed;
  if (!parse_websocket_url(url, parsed)) {
    if (options.failure_reason) *options.failure_reason = "not a valid ws:// or wss:// URL: " + url;
    co_return make_error_code(Errc::bad_url);
  }
  auto opening = Opening::client_over(std::move(stream), std::move(parsed),
                                      ClientOpeningOptions{
                                          .protocols = std::move(options.protocols),
                                          .extra_headers = std::move(options.extra_headers),
                                          .tls_options = nullptr,  // the stream is ready
                                          .timeout = options.handshake_timeout,
                                      });
  auto ws = co_await finish_opening(std::move(opening), Role::client, options.limits,
                                    options.failure_reason);
  co_return ws;
}

io::Task<io::Result<std::unique_ptr<WebSocket>>> accept(std::unique_ptr<io::ByteStream> stream,
                                                        AcceptOptions options) {
  ServerOpeningOptions opening_options;
  if (std::string error; !opening_options_of(options, opening_options, error)) {
    if (options.failure_reason) *options.failure_reason = std::move(error);
    co_return make_error_code(Errc::handshake_failed);
  }
  auto ws = co_await finish_opening(Opening::server(std::move(stream), std::move(opening_options)),
                                    Role::server, options.limits, options.failure_reason);
  co_return ws;
}

Acceptor::Acceptor(AcceptOptions options)
    : limits_(options.limits), pending_(options.handshake_timeout) {
  opening_options_of(options, opening_options_, invalid_options_);
}

void Acceptor::accept(std::unique_ptr<io::ByteStream> stream) {
  if (!invalid_options_.empty()) {
    on_accept_failed({make_error_code(Errc::handshake_failed), invalid_options_, {}});
    return;
  }
  Opening::serve(std::move(stream), opening_options_, pending_, *this);
}

void Acceptor::server_opening_over(OpenedStream& opened) {
  auto ws = websocket_from(opened, Role::server, limits_);
  if (ws) {
    on_accepted(std::move(*ws));
  } else {
    on_accept_failed({ws.error(), std::move(opened.error), std::move(opened.refused_peer)});
  }
}

}  // namespace wsp
