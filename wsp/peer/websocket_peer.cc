#include "wsp/peer/websocket_peer.h"

#include "io/log.h"
#include "io/tcp_stream.h"
#include "wsp/protocol/close_code.h"
#include "wsp/protocol/handshake.h"
#include "wsp/protocol/url.h"

namespace wsp {
namespace {

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

std::string_view as_text(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

WebSocketPeer::WebSocketPeer(io::Reactor& reactor) : reactor_(&reactor) {}

WebSocketPeer::~WebSocketPeer() = default;

ConnectionLimits WebSocketPeer::limits() const {
  ConnectionLimits l;
  l.inbound_buffer_size = inbound_buffer_size_ > 0 ? static_cast<std::size_t>(inbound_buffer_size_) : 0;
  l.outbound_buffer_size = outbound_buffer_size_ > 0 ? static_cast<std::size_t>(outbound_buffer_size_) : 0;
  l.max_queued_packets = static_cast<std::size_t>(max_queued_packets_);
  l.heartbeat_interval = heartbeat_interval_;
  l.close_timeout = to_millis(close_timeout_);
  return l;
}

// --- opening -----------------------------------------------------------------------------

Error WebSocketPeer::begin_connection() {
  if (state_ != STATE_CLOSED && state_ != STATE_CLOSING) return ERR_ALREADY_IN_USE;
  opening_.reset();
  connection_.reset();
  close_code_ = -1;
  close_reason_.clear();
  error_reason_.clear();
  refusal_status_ = 0;
  selected_protocol_.clear();
  requested_url_.clear();
  connected_host_.clear();
  connected_port_ = 0;
  request_headers_.clear();
  was_string_packet_ = false;
  packet_error_ = OK;
  return OK;
}

Error WebSocketPeer::connect_to_url(const std::string& url,
                                    std::shared_ptr<tls::TLSOptions> tls_client_options) {
  if (state_ != STATE_CLOSED && state_ != STATE_CLOSING) return ERR_ALREADY_IN_USE;
  // wsp: get_error_reason() says which parameter is invalid.
  WebSocketUrl parsed;
  std::string why;
  if (!parse_websocket_url(url, parsed, &why)) {
    error_reason_ = why;
    return ERR_INVALID_PARAMETER;
  }
  if (tls_client_options && tls_client_options->is_server()) {
    error_reason_ = "server TLS options cannot be used to connect";
    return ERR_INVALID_PARAMETER;
  }
  for (const std::string& header : handshake_headers_) {
    // wsp: no header injection (a line with CR or LF would start a new header).
    if (!ClientHandshake::valid_extra_header(header)) {
      error_reason_ = "handshake header is not one \"Name: value\" line";
      return ERR_INVALID_PARAMETER;
    }
  }
  begin_connection();
  role_ = Role::client;
  requested_url_ = url;
  opening_ = Opening::client(*reactor_, std::move(parsed),
                             ClientOpeningOptions{
                                 .protocols = supported_protocols_,
                                 .extra_headers = handshake_headers_,
                                 .tls_options = std::move(tls_client_options),
                                 .timeout = to_millis(handshake_timeout_),
                                 .deflate = deflate_,
                             });
  state_ = STATE_CONNECTING;
  return OK;
}

Error WebSocketPeer::accept_stream(const std::shared_ptr<StreamPeer>& stream) {
  if (!stream || !stream->is_connected_stream() || &stream->reactor() != reactor_) {
    return ERR_INVALID_PARAMETER;
  }
  if (state_ != STATE_CLOSED && state_ != STATE_CLOSING) return ERR_ALREADY_IN_USE;
  for (const std::string& header : handshake_headers_) {
    // The same rule as connect_to_url(): no header injection into the 101 response.
    if (!ClientHandshake::valid_extra_header(header)) return ERR_INVALID_PARAMETER;
  }
  begin_connection();
  role_ = Role::server;
  const bool tls = stream->is_tls();
  // The reference engine refuses a client without a common subprotocol (RFC 6455 lets a server
  // answer with none; wsp::accept does by default).
  opening_ = Opening::server(
      stream->release_stream(),
      ServerOpeningOptions{
          .handshake = std::make_shared<const ServerHandshakeOptions>(ServerHandshakeOptions{
              .supported_protocols = supported_protocols_,
              .extra_response_headers = handshake_headers_,
              .tls = tls,
              .require_protocol_match = true,
              .deflate = deflate_,
          }),
          .timeout = to_millis(handshake_timeout_),
      });
  state_ = STATE_CONNECTING;
  return OK;
}

// --- polling -----------------------------------------------------------------------------

void WebSocketPeer::poll() {
  if (state_ == STATE_CLOSED) return;
  reactor_->poll();
  update();
}

void WebSocketPeer::update() {
  switch (state_) {
    case STATE_CLOSED:
      return;
    case STATE_CONNECTING:
      if (opening_ && opening_->done()) {
        if (opening_->result().ok) {
          become_open();
        } else {
          error_reason_ = opening_->result().error;
          refusal_status_ = opening_->result().refusal_status;
          opening_.reset();
          become_closed(-1, {});
        }
      }
      return;
    case STATE_OPEN:
    case STATE_CLOSING:
      break;
  }
  if (!connection_) return;
  // wsp: messages that arrived before the peer's close are delivered first (the reference
  // engine drops them). The engine answers the peer's close only once they were taken, so
  // the peer reads OPEN, and send() and close() work, until then. Packets still queued when
  // the connection ends stay readable with get_packet() in CLOSED.
  switch (connection_->state()) {
    case Connection::State::open:
      state_ = STATE_OPEN;
      break;
    case Connection::State::closing:
      state_ = STATE_CLOSING;
      break;
    case Connection::State::closed:
      become_closed(connection_->close_code(), connection_->close_reason());
      break;
  }
}

void WebSocketPeer::become_open() {
  OpenedStream& opened = opening_->result();
  selected_protocol_ = opened.selected_protocol;
  if (role_ == Role::server) {
    requested_url_ = opened.requested_url;
    request_headers_ = std::move(opened.request_headers);
  }
  // Limits are taken now: changing them later applies to the next connection.
  connection_ = std::make_unique<Connection>(std::move(opened.stream), role_, limits(),
                                             std::move(opened.leftover),
                                             opened.deflate ? &*opened.deflate : nullptr);
  opening_.reset();
  if (io::TcpStream* tcp = connection_->tcp()) {
    if (auto remote = tcp->remote_address()) {
      connected_host_ = remote->ip();
      connected_port_ = remote->port();
    }
    if (!no_delay_) (void)tcp->set_no_delay(false);
  }
  state_ = STATE_OPEN;
}

void WebSocketPeer::become_closed(int code, std::string reason) {
  state_ = STATE_CLOSED;
  close_code_ = code;
  close_reason_ = std::move(reason);
}

// --- state and close ---------------------------------------------------------------------

WebSocketPeer::State WebSocketPeer::get_ready_state() const { return state_; }

int WebSocketPeer::get_close_code() const { return close_code_; }

std::string WebSocketPeer::get_close_reason() const { return close_reason_; }

void WebSocketPeer::close(int code, const std::string& reason) {
  if (code < 0) {
    // Drop at once, without telling the peer.
    opening_.reset();
    if (connection_) connection_->abort();
    if (state_ != STATE_CLOSED) become_closed(-1, {});
    return;
  }
  switch (state_) {
    case STATE_CLOSED:
    case STATE_CLOSING:
      return;
    case STATE_CONNECTING:
      opening_.reset();
      become_closed(-1, {});
      return;
    case STATE_OPEN:
      break;
  }
  if (!is_sendable_close_code(code)) {
    WSP_LOG_ERROR("WebSocketPeer::close: %d is not a close code that may be sent (RFC 6455 §7.4)", code);
    return;
  }
  if (!connection_ || !connection_->close(code, reason)) {
    if (connection_ && connection_->state() == Connection::State::open) {
      WSP_LOG_ERROR("WebSocketPeer::close: the reason is not valid UTF-8");
    }
    return;
  }
  state_ = STATE_CLOSING;
}

// --- sending -----------------------------------------------------------------------------

Error WebSocketPeer::send(const std::string& message, WriteMode write_mode) {
  if (state_ != STATE_OPEN || !connection_) return FAILED;
  switch (connection_->send(write_mode == WRITE_MODE_TEXT, message)) {
    case SendResult::ok:
      return OK;
    case SendResult::not_open:
      return FAILED;
    case SendResult::too_many_queued:
    case SendResult::buffer_full:
      return ERR_OUT_OF_MEMORY;
    case SendResult::invalid_utf8:
      return ERR_INVALID_PARAMETER;
  }
  return FAILED;
}

Error WebSocketPeer::send(const std::vector<std::uint8_t>& message, WriteMode write_mode) {
  return send(std::string(as_text(message)), write_mode);
}

Error WebSocketPeer::send_text(const std::string& message) { return send(message, WRITE_MODE_TEXT); }

Error WebSocketPeer::put_packet(const std::vector<std::uint8_t>& buffer) {
  return send(buffer, WRITE_MODE_BINARY);
}

int WebSocketPeer::get_current_outbound_buffered_amount() const {
  if (state_ != STATE_OPEN || !connection_) return 0;
  return static_cast<int>(connection_->buffered_amount());
}

void WebSocketPeer::set_no_delay(bool enabled) {
  no_delay_ = enabled;
  if (connection_ && connection_->tcp()) (void)connection_->tcp()->set_no_delay(enabled);  // void API: best effort
}

namespace {
// Refuses a negative number of seconds for property `name`, with a logged error.
bool valid_seconds(const char* name, double seconds) {
  if (seconds >= 0) return true;
  WSP_LOG_ERROR("WebSocketPeer::set_%s: %f is negative; unchanged", name, seconds);
  return false;
}
}  // namespace

void WebSocketPeer::set_heartbeat_interval(double seconds) {
  if (valid_seconds("heartbeat_interval", seconds)) heartbeat_interval_ = seconds;
}

void WebSocketPeer::set_handshake_timeout(double seconds) {
  if (valid_seconds("handshake_timeout", seconds)) handshake_timeout_ = seconds;
}

void WebSocketPeer::set_close_timeout(double seconds) {
  if (valid_seconds("close_timeout", seconds)) close_timeout_ = seconds;
}

void WebSocketPeer::set_max_queued_packets(int count) {
  if (count < 1) {
    WSP_LOG_ERROR("WebSocketPeer::set_max_queued_packets: %d is below 1; unchanged", count);
    return;
  }
  max_queued_packets_ = count;
}

// --- permessage-deflate -----------------------------------------------------------------

Error WebSocketPeer::set_deflate(const DeflateOptions& options) {
  std::string error;
  if (!valid_deflate_options(options, error)) {
    WSP_LOG_ERROR("WebSocketPeer::set_deflate: %s; unchanged", error.c_str());
    return ERR_INVALID_PARAMETER;
  }
  deflate_ = options;
  return OK;
}

std::optional<DeflateConfig> WebSocketPeer::get_negotiated_deflate() const {
  if (!connection_ || !connection_->deflate()) return std::nullopt;
  return connection_->deflate()->config();
}

DeflateStats WebSocketPeer::get_deflate_stats() const {
  if (!connection_ || !connection_->deflate()) return {};
  return connection_->deflate()->stats();
}

// --- receiving ---------------------------------------------------------------------------

std::vector<std::uint8_t> WebSocketPeer::get_packet() {
  if (!connection_ || !connection_->has_message()) {
    packet_error_ = ERR_UNAVAILABLE;
    return {};
  }
  std::string data;
  was_string_packet_ = connection_->pop_message(data);
  packet_error_ = OK;
  std::vector<std::uint8_t> packet(data.begin(), data.end());
  connection_->recycle(std::move(data));
  update();
  return packet;
}

int WebSocketPeer::get_available_packet_count() const {
  return connection_ ? static_cast<int>(connection_->queued_messages()) : 0;
}

}  // namespace wsp
