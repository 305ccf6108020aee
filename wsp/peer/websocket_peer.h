// WebSocketPeer: the documented API (docs/websocketpeer.md), name for name and value for value,
// as a poll()-driven façade over the same Connection the coroutine face uses. poll() never
// blocks: it turns the reactor once without waiting and reads what happened.
//
// A program that only makes peers and polls them needs no reactor set-up (each thread has a
// default reactor); a service with many peers passes its own reactor and may run it itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "tls/tls_options.h"
#include "wsp/engine/connection.h"
#include "wsp/peer/error.h"
#include "wsp/engine/opening.h"
#include "wsp/peer/stream_peer.h"

namespace wsp {

class WebSocketPeer {
 public:
  enum WriteMode { WRITE_MODE_TEXT = 0, WRITE_MODE_BINARY = 1 };
  enum State { STATE_CONNECTING = 0, STATE_OPEN = 1, STATE_CLOSING = 2, STATE_CLOSED = 3 };

  explicit WebSocketPeer(io::Reactor& reactor = io::Reactor::current());
  ~WebSocketPeer();
  WebSocketPeer(const WebSocketPeer&) = delete;
  WebSocketPeer& operator=(const WebSocketPeer&) = delete;

  // --- methods of the reference
  Error accept_stream(const std::shared_ptr<StreamPeer>& stream);
  void close(int code = 1000, const std::string& reason = "");
  Error connect_to_url(const std::string& url,
                       std::shared_ptr<tls::TLSOptions> tls_client_options = nullptr);
  int get_close_code() const;
  std::string get_close_reason() const;
  std::string get_connected_host() const { return connected_host_; }
  int get_connected_port() const { return connected_port_; }
  int get_current_outbound_buffered_amount() const;
  State get_ready_state() const;
  std::string get_requested_url() const { return requested_url_; }
  std::string get_selected_protocol() const { return selected_protocol_; }
  void poll();
  Error send(const std::vector<std::uint8_t>& message, WriteMode write_mode = WRITE_MODE_BINARY);
  Error send(const std::string& message, WriteMode write_mode = WRITE_MODE_BINARY);
  Error send_text(const std::string& message);
  void set_no_delay(bool enabled);
  bool was_string_packet() const { return was_string_packet_; }

  // --- PacketPeer
  Error put_packet(const std::vector<std::uint8_t>& buffer);
  std::vector<std::uint8_t> get_packet();
  int get_available_packet_count() const;
  Error get_packet_error() const { return packet_error_; }

  // --- properties of the reference (set_X/get_X)
  void set_handshake_headers(std::vector<std::string> headers) { handshake_headers_ = std::move(headers); }
  std::vector<std::string> get_handshake_headers() const { return handshake_headers_; }
  void set_heartbeat_interval(double seconds);
  double get_heartbeat_interval() const { return heartbeat_interval_; }
  void set_inbound_buffer_size(int bytes) { inbound_buffer_size_ = bytes; }
  int get_inbound_buffer_size() const { return inbound_buffer_size_; }
  // At least 1; anything else is refused (logged, unchanged).
  void set_max_queued_packets(int count);
  int get_max_queued_packets() const { return max_queued_packets_; }
  void set_outbound_buffer_size(int bytes) { outbound_buffer_size_ = bytes; }
  int get_outbound_buffer_size() const { return outbound_buffer_size_; }
  void set_supported_protocols(std::vector<std::string> protocols) { supported_protocols_ = std::move(protocols); }
  std::vector<std::string> get_supported_protocols() const { return supported_protocols_; }

  // --- wsp's additions: slow or silent peers cannot hold a slot forever (seconds; 0 = none)
  // Seconds; 0 disables; negative is refused (logged, unchanged).
  void set_handshake_timeout(double seconds);
  double get_handshake_timeout() const { return handshake_timeout_; }
  void set_close_timeout(double seconds);
  double get_close_timeout() const { return close_timeout_; }

  // --- wsp's addition: permessage-deflate (RFC 7692), off by default. Read when a connection
  // starts, like the buffer sizes. ERR_INVALID_PARAMETER (unchanged) for numbers out of range.
  Error set_deflate(const DeflateOptions& options);
  const DeflateOptions& get_deflate() const { return deflate_; }
  // What the current connection agreed (nullopt: no compression), and what it saved.
  std::optional<DeflateConfig> get_negotiated_deflate() const;
  DeflateStats get_deflate_stats() const;

  // Why the last connection failed or was refused (resolve, TCP, TLS, handshake), or why
  // connect_to_url() returned ERR_INVALID_PARAMETER, readable.
  std::string get_error_reason() const { return error_reason_; }
  // The HTTP status of a refused handshake: the one a server answered instead of 101 (client),
  // or the one this peer refused the request with (server: 400, 426, 431); else 0.
  int get_refusal_status() const { return refusal_status_; }
  // The client's request header fields (server side, once OPEN).
  const HeaderList& get_request_headers() const { return request_headers_; }
  io::Reactor& reactor() const { return *reactor_; }

 private:
  Error begin_connection();
  void update();
  void become_open();
  void become_closed(int code, std::string reason);
  ConnectionLimits limits() const;

  io::Reactor* reactor_;
  State state_ = STATE_CLOSED;
  std::unique_ptr<Opening> opening_;
  std::unique_ptr<Connection> connection_;
  Role role_ = Role::client;

  std::vector<std::string> handshake_headers_;
  std::vector<std::string> supported_protocols_;
  double heartbeat_interval_ = 0.0;
  int inbound_buffer_size_ = 65535;
  int outbound_buffer_size_ = 65535;
  int max_queued_packets_ = 4096;
  double handshake_timeout_ = 10.0;
  double close_timeout_ = 5.0;
  bool no_delay_ = true;
  DeflateOptions deflate_;

  std::string requested_url_;
  std::string selected_protocol_;
  std::string connected_host_;
  int connected_port_ = 0;
  HeaderList request_headers_;
  int close_code_ = -1;
  std::string close_reason_;
  std::string error_reason_;
  int refusal_status_ = 0;
  bool was_string_packet_ = false;
  Error packet_error_ = OK;
};

}  // namespace wsp
