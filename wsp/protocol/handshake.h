// The WebSocket opening handshake (RFC 6455 §4), sans-IO: requests and responses as bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wsp/protocol/deflate_negotiation.h"
#include "wsp/protocol/http_header_block.h"

namespace wsp {

// base64(SHA-1(client_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455 §4.2.2.
std::string compute_accept_key(std::string_view client_key);
// The same in place: the 28 base64 characters of a SHA-1 digest.
using AcceptKey = std::array<char, 28>;
AcceptKey accept_key_of(std::string_view client_key);
// 16 random bytes (BoringSSL RAND_bytes), base64: a Sec-WebSocket-Key (§4.1).
std::string make_client_key();

enum class HandshakeStatus : std::uint8_t { incomplete, done, failed };

// Header blocks larger than this fail, on both sides (docs: websocketpeer.md).
inline constexpr std::size_t kDefaultMaxHeaderBytes = 4096;
inline constexpr std::size_t kMaxHeaderFields = 100;
// A client reads at most this much of the text/plain body of a refusal (the server's reason).
inline constexpr std::size_t kMaxRefusalBodyBytes = 1024;

// "Bad Request" for 400, and so on for the statuses a handshake uses; "Error" for the rest.
const char* http_reason_phrase(int status);

struct ClientHandshakeOptions {
  std::string host;  // name or IP literal; an IPv6 literal may come with or without brackets
  int port = 80;
  bool tls = false;
  std::string path_and_query = "/";
  std::vector<std::string> protocols;      // offered subprotocols, in preference order
  std::vector<std::string> extra_headers;  // whole "Name: value" lines
  DeflateOptions deflate{};                  // permessage-deflate offer (off: none)
};

class ClientHandshake {
 public:
  explicit ClientHandshake(ClientHandshakeOptions options);
  // With a fixed Sec-WebSocket-Key (tests use the RFC's sample key).
  ClientHandshake(ClientHandshakeOptions options, std::string key);

  // A "Name: value" line with a token name and no CR, LF or NUL: anything else could inject
  // headers. request() leaves out the lines that fail this.
  static bool valid_extra_header(std::string_view line);

  std::string request() const;
  const std::string& key() const { return key_; }

  // Reads the server's response. `consumed` stops right after the empty line ending the head:
  // the bytes after it are WebSocket frames. Call again with more bytes while incomplete.
  // An answer other than 101 fails once its text/plain body (the server's reason, when
  // Content-Length announces one) is read, or its first kMaxRefusalBodyBytes.
  HandshakeStatus feed(const std::uint8_t* data, std::size_t len, std::size_t& consumed);
  // The server closed the stream: a refusal whose body was cut short fails with the part that
  // arrived; anything else still incomplete fails as closed without an answer or during it.
  HandshakeStatus end_of_stream();
  HandshakeStatus status() const { return status_; }
  // Why it failed, a whole sentence: "server refused the handshake: 400 Bad Request: no common
  // subprotocol: offered chat, supported none".
  std::string error() const { return error_; }
  // The status code of the server's answer once its head was read (101 when done), else 0.
  int http_status() const { return http_status_; }
  std::string selected_protocol() const { return selected_protocol_; }
  // What permessage-deflate does on this connection, once done (nullopt: not negotiated).
  const std::optional<DeflateConfig>& deflate() const { return deflate_; }
  // The response's header fields, once done.
  const HeaderList& headers() const { return head_.fields(); }

 private:
  HandshakeStatus fail(std::string reason);
  HandshakeStatus validate();
  HandshakeStatus refused();  // fails with the status line and the body read
  bool check_extensions(std::string& error);

  ClientHandshakeOptions options_;
  std::string key_;
  HttpHeaderBlock head_{kDefaultMaxHeaderBytes, kMaxHeaderFields};
  HandshakeStatus status_ = HandshakeStatus::incomplete;
  int http_status_ = 0;
  std::string error_;
  std::string selected_protocol_;
  std::size_t body_expected_ = 0;  // > 0 while the body of a refusal is read
  std::string body_;
  std::optional<DeflateConfig> deflate_;
};

struct ServerHandshakeOptions {
  std::vector<std::string> supported_protocols;
  std::vector<std::string> extra_response_headers;  // whole "Name: value" lines
  bool tls = false;
  std::size_t max_header_bytes = kDefaultMaxHeaderBytes;
  // false (RFC 6455 §4.2.2): when none of the client's subprotocols is supported, or it offers
  // none, the answer has no Sec-WebSocket-Protocol and the client decides. true: both cases
  // are refused with 400, the rule of the reference engine that the WebSocketPeer façade keeps.
  bool require_protocol_match = false;
  DeflateOptions deflate{};  // which permessage-deflate offers to accept (off: none)
};

class ServerHandshake {
 public:
  explicit ServerHandshake(ServerHandshakeOptions options);
  // The same with options shared, not copied: every handshake of a server points at one copy
  // (a burst of pending handshakes holds a pointer each).
  static ServerHandshake sharing(std::shared_ptr<const ServerHandshakeOptions> options) {
    return ServerHandshake(Shared{}, std::move(options));
  }
  // Not copied: target and host are views of this handshake's own head. A move keeps them
  // (the head is always on the heap: HttpHeaderBlock reserves it).
  ServerHandshake(const ServerHandshake&) = delete;
  ServerHandshake& operator=(const ServerHandshake&) = delete;
  ServerHandshake(ServerHandshake&&) = default;
  ServerHandshake& operator=(ServerHandshake&&) = default;

  // Reads the client's request; same contract as ClientHandshake::feed.
  HandshakeStatus feed(const std::uint8_t* data, std::size_t len, std::size_t& consumed);
  // The client closed the stream before its request was whole: failed, nothing to answer.
  HandshakeStatus end_of_stream();
  HandshakeStatus status() const { return status_; }

  // done: the 101 answer. failed with an HTTP status: the whole error response to send before
  // closing, its text/plain body the reason (error() and a newline). Otherwise empty.
  std::string response() const;
  // failed: 400 (malformed or missing fields, no acceptable subprotocol), 426 (version other
  // than 13), 431 (header block too big or too many fields), or 0 when the client went away.
  // Otherwise 0 (incomplete) or 101.
  int http_status() const { return http_status_; }
  // Why it failed, short enough for a log line or a response body ("no common subprotocol:
  // offered chat, supported none").
  std::string error() const { return error_; }

  std::string request_target() const { return std::string(target_); }
  std::string host() const { return std::string(host_); }
  std::string requested_url() const;  // ws:// or wss:// + Host + target
  // Case-insensitive; repeated fields joined with ", "; empty when absent.
  std::string header(std::string_view name) const;
  const HeaderList& headers() const { return head_.fields(); }
  // The request's header fields, moved out (headers() is empty afterwards).
  HeaderList take_headers() { return head_.take_fields(); }
  std::string selected_protocol() const { return selected_protocol_; }
  // What permessage-deflate does on this connection, once done (nullopt: not negotiated).
  const std::optional<DeflateConfig>& deflate() const { return deflate_; }
  // The Sec-WebSocket-Extensions value of the answer ("" when none).
  const std::string& extensions_response() const { return extensions_; }

 private:
  struct Shared {};  // sets the constructor apart from the public one's `({})`
  ServerHandshake(Shared, std::shared_ptr<const ServerHandshakeOptions> options);
  HandshakeStatus fail(int status, std::string reason);
  HandshakeStatus validate();

  std::shared_ptr<const ServerHandshakeOptions> options_;
  HttpHeaderBlock head_;
  HandshakeStatus status_ = HandshakeStatus::incomplete;
  int http_status_ = 0;
  std::string error_;
  std::string_view target_;  // views of the request's head, kept in head_
  std::string_view host_;
  AcceptKey accept_{};
  std::string selected_protocol_;
  std::string extensions_;
  std::optional<DeflateConfig> deflate_;
};

}  // namespace wsp
