#include "wsp/websocket.h"

#include <type_traits>

namespace wsp {

const std::error_category& wsp_category() {
  struct Category final : std::error_category {
    const char* name() const noexcept override { return "wsp"; }
    std::string message(int value) const override {
      switch (static_cast<Errc>(value)) {
        case Errc::bad_url: return "not a valid ws:// or wss:// URL";
        case Errc::handshake_failed: return "the WebSocket opening handshake failed";
        case Errc::closed: return "the WebSocket connection is closing or closed";
        case Errc::message_too_big: return "message larger than the outbound buffer";
        case Errc::invalid_utf8: return "text message is not valid UTF-8";
      }
      return "unknown wsp error";
    }
  };
  static const Category category;
  return category;
}

WebSocket::WebSocket(std::unique_ptr<Connection> connection, std::string selected_protocol,
                     std::string requested_url, HeaderList request_headers)
    : connection_(std::move(connection)),
      selected_protocol_(std::move(selected_protocol)),
      requested_url_(std::move(requested_url)),
      request_headers_(std::move(request_headers)) {}

Received WebSocket::ReceiveOp::await_resume() {
  // The readable event is set only for a message or the end, so one of them is here.
  Received r;
  if (connection_->has_message()) {
    Message m = connection_->pop_message();
    r.text = m.text;
    r.data = std::move(m.data);
  } else {
    r.closed = true;
    r.close_code = connection_->close_code();
    r.close_reason = connection_->close_reason();
  }
  return r;
}

namespace {

// Queues `data` on `connection`, waiting while the outbound queue is full.
template <typename Data>
io::Task<io::Result<void>> send_when_room(Connection& connection, Data& data, bool text) {
  const ConnectionLimits& limits = connection.limits();
  if (limits.outbound_buffer_size > 0 && data.size() > limits.outbound_buffer_size) {
    co_return make_error_code(Errc::message_too_big);
  }
  for (;;) {
    SendResult result;
    if constexpr (std::is_same_v<Data, std::string>) {
      result = connection.send(text, std::move(data));  // moved from only when accepted
    } else {
      result = connection.send(text, std::string_view(data));
    }
    switch (result) {
      case SendResult::ok:
        co_return io::Result<void>{};
      case SendResult::not_open:
        co_return make_error_code(Errc::closed);
      case SendResult::invalid_utf8:
        co_return make_error_code(Errc::invalid_utf8);
      case SendResult::too_many_queued:
      case SendResult::buffer_full:
        connection.writable().reset();
        co_await connection.writable().wait();
        break;
    }
  }
}

}  // namespace

io::Task<io::Result<void>> WebSocket::send(std::string_view data, bool text) {
  co_return co_await send_when_room(*connection_, data, text);
}

io::Task<io::Result<void>> WebSocket::send(std::string&& data, bool text) {
  std::string owned = std::move(data);
  co_return co_await send_when_room(*connection_, owned, text);
}

io::Task<void> WebSocket::close(int code, std::string_view reason) {
  // A code or reason the RFC forbids queues nothing: the connection stays as it was.
  if (!connection_->close(code, reason) && connection_->state() == Connection::State::open) {
    co_return;
  }
  while (connection_->state() != Connection::State::closed) {
    connection_->readable().reset();
    co_await connection_->readable().wait();
  }
}

namespace {

io::Task<io::Result<std::unique_ptr<WebSocket>>> finish_opening(std::unique_ptr<Opening> opening,
                                                                Role role, ConnectionLimits limits,
                                                                std::string* failure_reason,
                                                                bool keep_request_headers) {
  if (!opening->done()) co_await opening->finished().wait();
  OpenedStream& opened = opening->result();
  if (!opened.ok) {
    if (failure_reason) *failure_reason = opened.error;
    co_return make_error_code(Errc::handshake_failed);
  }
  auto connection = std::make_unique<Connection>(std::move(opened.stream), role, limits,
                                                 std::move(opened.leftover));
  HeaderList headers;
  if (keep_request_headers) headers = std::move(opened.request_headers);
  co_return std::make_unique<WebSocket>(std::move(connection), std::move(opened.selected_protocol),
                                        std::move(opened.requested_url), std::move(headers));
}

}  // namespace

io::Task<io::Result<std::unique_ptr<WebSocket>>> connect(io::Reactor& reactor, std::string url,
                                                         ConnectOptions options) {
  WebSocketUrl parsed;
  if (!parse_websocket_url(url, parsed)) {
    if (options.failure_reason) *options.failure_reason = "not a valid ws:// or wss:// URL: " + url;
    co_return make_error_code(Errc::bad_url);
  }
  auto opening = Opening::client(reactor, std::move(parsed),
                                 ClientOpeningOptions{
                                     .protocols = std::move(options.protocols),
                                     .extra_headers = std::move(options.extra_headers),
                                     .tls_options = std::move(options.tls_options),
                                     .timeout = options.handshake_timeout,
                                 });
  auto ws = co_await finish_opening(std::move(opening), Role::client, options.limits,
                                    options.failure_reason, false);
  co_return ws;
}

io::Task<io::Result<std::unique_ptr<WebSocket>>> accept(std::unique_ptr<io::ByteStream> stream,
                                                        AcceptOptions options) {
  auto opening = Opening::server(std::move(stream),
                                 ServerOpeningOptions{
                                     .supported_protocols = std::move(options.supported_protocols),
                                     .extra_response_headers =
                                         std::move(options.extra_response_headers),
                                     .tls = options.tls,
                                     .timeout = options.handshake_timeout,
                                 });
  auto ws = co_await finish_opening(std::move(opening), Role::server, options.limits,
                                    options.failure_reason, options.keep_request_headers);
  co_return ws;
}

}  // namespace wsp
