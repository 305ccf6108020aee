// The WebSocket opening handshake (RFC 6455 §4), sans-IO: requests and responses as bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wsp/protocol/deflate_negotiation.h"
#include "wsp/protocol/http_header_block.h"

namespace wsp {

// base64(SHA-1(client_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455 §4.2.2.
std::string compute_accept_key(std::string_view client_key);
// 16 random bytes (BoringSSL RAND_bytes), base64: a Sec-WebSocket-Key (§4.1).
std::string make_client_key();

enum class HandshakeStatus : std::uint8_t { incomplete, done, failed };

// Header blocks larger than this fail, on both sides (docs: websocketpeer.md).
inline constexpr std::size_t kDefaultMaxHeaderBytes = 4096;
inline constexpr std::size_t kMaxHeaderFields = 100;

struct ClientHandshakeOptions {
  std::string host;  // name or IP literal; an IPv6 literal may come with or without brackets
  int port = 80;
  bool tls = false;
  std::string path_and_query = "/";
  std::vector<std::string> protocols;      // offered subprotocols, in preference order
  std::vector<std::string> extra_headers;  // whole "Name: value" lines
  DeflateOptions deflate;                  // permessage-deflate offer (off: none)
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
  HandshakeStatus feed(const std::uint8_t* data, std::size_t len, std::size_t& consumed);
  HandshakeStatus status() const { return status_; }
  std::string error() const { return error_; }
  std::string selected_protocol() const { return selected_protocol_; }
  // What permessage-deflate does on this connection, once done (nullopt: not negotiated).
  const std::optional<DeflateConfig>& deflate() const { return deflate_; }
  // The response's header fields, once done.
  const HeaderList& headers() const { return head_.fields(); }

 private:
  HandshakeStatus fail(std::string reason);
  HandshakeStatus validate();
  bool check_extensions(std::string& error);

  ClientHandshakeOptions options_;
  std::string key_;
  HttpHeaderBlock head_{kDefaultMaxHeaderBytes, kMaxHeaderFields};
  HandshakeStatus status_ = HandshakeStatus::incomplete;
  std::string error_;
  std::string selected_protocol_;
  std::optional<DeflateConfig> deflate_;
};

struct ServerHandshakeOptions {
  std::vector<std::string> supported_protocols;
  std::vector<std::string> extra_response_headers;  // whole "Name: value" lines
  bool tls = false;
  std::size_t max_header_bytes = kDefaultMaxHeaderBytes;
  DeflateOptions deflate;  // which permessage-deflate offers to accept (off: none)
};

class ServerHandshake {
 public:
  explicit ServerHandshake(ServerHandshakeOptions options);

  // Reads the client's request; same contract as ClientHandshake::feed.
  HandshakeStatus feed(const std::uint8_t* data, std::size_t len, std::size_t& consumed);
  HandshakeStatus status() const { return status_; }

  // done: the 101 answer. failed: the whole HTTP error response to send before closing.
  // incomplete: empty.
  std::string response() const;
  // failed: 400 (malformed or missing fields, no acceptable subprotocol), 426 (version other
  // than 13), 431 (header block too big or too many fields). Otherwise 0 (incomplete) or 101.
  int http_status() const { return http_status_; }
  std::string error() const { return error_; }

  std::string request_target() const { return target_; }
  std::string host() const { return host_; }
  std::string requested_url() const;  // ws:// or wss:// + Host + target
  // Case-insensitive; repeated fields joined with ", "; empty when absent.
  std::string header(std::string_view name) const;
  const HeaderList& headers() const { return head_.fields(); }
  std::string selected_protocol() const { return selected_protocol_; }
  // What permessage-deflate does on this connection, once done (nullopt: not negotiated).
  const std::optional<DeflateConfig>& deflate() const { return deflate_; }
  // The Sec-WebSocket-Extensions value of the answer ("" when none).
  const std::string& extensions_response() const { return extensions_; }

 private:
  HandshakeStatus fail(int status, std::string reason);
  HandshakeStatus validate();

  ServerHandshakeOptions options_;
  HttpHeaderBlock head_;
  HandshakeStatus status_ = HandshakeStatus::incomplete;
  int http_status_ = 0;
  std::string error_;
  std::string target_;
  std::string host_;
  std::string accept_;
  std::string selected_protocol_;
  std::string extensions_;
  std::optional<DeflateConfig> deflate_;
};

}  // namespace wsp
