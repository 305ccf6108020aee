#include "wsp/protocol/handshake.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "wsp/protocol/base64.h"
#include "wsp/protocol/extension_header.h"
#include "wsp/protocol/random.h"
#include "wsp/protocol/sha1.h"

namespace wsp {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // §1.3

// "HTTP/1.1" or a later version: "HTTP/" DIGIT "." DIGIT (RFC 7230 §2.6).
bool http_version_at_least_1_1(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return false;
  const char major = v[5], minor = v[7];
  if (major < '0' || major > '9' || minor < '0' || minor > '9') return false;
  return major > '1' || (major == '1' && minor >= '1');
}

// Text that came from the peer, made fit for a reason, a log line or a response body: printable
// ASCII only (line breaks and tabs become spaces, runs of spaces one, other bytes '?'), trimmed,
// cut to `max` bytes with "..." after it.
std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (unsigned char c : text) {
    char ch = static_cast<char>(c);
    if (c == '\r' || c == '\n' || c == '\t') ch = ' ';
    else if (c < 0x20 || c >= 0x7f) ch = '?';
    if (ch == ' ' && (out.empty() || out.back() == ' ')) continue;
    if (out.size() == max) {
      out += "...";
      break;
    }
    out.push_back(ch);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// "chat superchat", or "none": subprotocol names are tokens, so a space separates them.
std::string list_text(const std::vector<std::string>& list) {
  if (list.empty()) return "none";
  std::string out;
  for (const std::string& item : list) {
    if (!out.empty()) out += ' ';
    out += item;
  }
  return printable(out, 100);
}

// Whether a Content-Type value is text/plain, whatever its parameters.
bool is_plain_text(const std::optional<std::string>& type) {
  if (!type) return false;
  std::string_view media = std::string_view(*type).substr(0, type->find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return iequals(media, "text/plain");
}

// Content-Length as a number of at most `cap` (larger values give `cap`); nullopt unless it is
// one field of digits.
std::optional<std::size_t> content_length(const HttpHeaderBlock& head, std::size_t cap) {
  if (head.count("Content-Length") != 1) return std::nullopt;
  const std::string value = *head.get("Content-Length");
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  std::size_t n = 0;
  for (char c : value) {
    n = n * 10 + static_cast<std::size_t>(c - '0');
    if (n > cap) return cap;
  }
  return n;
}

void append_line(std::string& out, std::string_view a, std::string_view b = {}) {
  out.append(a);
  out.append(b);
  out.append("\r\n");
}

}  // namespace

const char* http_reason_phrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 400: return "Bad Request";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

AcceptKey accept_key_of(std::string_view client_key) {
  Sha1 sha1;
  sha1.update(client_key);
  sha1.update(kGuid);
  const Sha1::Digest digest = sha1.finish();
  char text[AcceptKey().size() + 1];  // and the NUL the encoder writes
  base64_encode_to(digest.data(), digest.size(), text);
  AcceptKey key;
  std::memcpy(key.data(), text, key.size());
  return key;
}

std::string compute_accept_key(std::string_view client_key) {
  const AcceptKey key = accept_key_of(client_key);
  return std::string(key.data(), key.size());
}

std::string make_client_key() {
  std::uint8_t nonce[16];
  system_random(nonce, sizeof nonce);
  return base64_encode(nonce, sizeof nonce);
}

// ---- Client -----------------------------------------------------------------------------

ClientHandshake::ClientHandshake(ClientHandshakeOptions options)
    : ClientHandshake(std::move(options), make_client_key()) {}

ClientHandshake::ClientHandshake(ClientHandshakeOptions options, std::string key)
    : options_(std::move(options)), key_(std::move(key)) {}

bool ClientHandshake::valid_extra_header(std::string_view line) {
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return false;
  const std::size_t colon = line.find(':');
  return colon != std::string_view::npos && is_token(line.substr(0, colon));
}

std::string ClientHandshake::request() const {
  std::string out;
  out.reserve(256);
  const std::string& target = options_.path_and_query.empty() ? std::string("/")
                                                              : options_.path_and_query;
  append_line(out, "GET " + target + " HTTP/1.1");
  // RFC 7230 §5.4 / RFC 3986 §3.2.2: IPv6 literals in brackets; the port only when it is not
  // the scheme's default (RFC 6455 §4.1).
  std::string host = options_.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  if (options_.port != (options_.tls ? 443 : 80)) host += ":" + std::to_string(options_.port);
  append_line(out, "Host: ", host);
  append_line(out, "Upgrade: websocket");
  append_line(out, "Connection: Upgrade");
  append_line(out, "Sec-WebSocket-Key: ", key_);
  append_line(out, "Sec-WebSocket-Version: 13");
  if (!options_.protocols.empty()) {
    std::string list;
    for (const std::string& p : options_.protocols) {
      if (!list.empty()) list += ", ";
      list += p;
    }
    append_line(out, "Sec-WebSocket-Protocol: ", list);
  }
  if (const std::string offer = deflate_offer_header(options_.deflate); !offer.empty())
    append_line(out, "Sec-WebSocket-Extensions: ", offer);
  for (const std::string& line : options_.extra_headers)
    if (valid_extra_header(line)) append_line(out, line);
  out.append("\r\n");
  return out;
}

HandshakeStatus ClientHandshake::fail(std::string reason) {
  error_ = printable(reason, 4096);  // it may quote the server's bytes
  status_ = HandshakeStatus::failed;
  return status_;
}

HandshakeStatus ClientHandshake::feed(const std::uint8_t* data, std::size_t len,
                                      std::size_t& consumed) {
  consumed = 0;
  if (status_ != HandshakeStatus::incomplete) return status_;
  if (body_expected_ == 0) {
    const HttpHeaderBlock::Status head = head_.feed(data, len, consumed);
    // 0x15, 0x16: a TLS alert or handshake record (RFC 8446 §5.1), a TLS server on the other
    // end; said from its first byte rather than after a whole header block.
    const std::string_view start = head_.buffered();
    if (!start.empty() && (start.front() == '\x15' || start.front() == '\x16'))
      return fail("the server answered in TLS; perhaps it serves wss://, not plain ws://");
    switch (head) {
      case HttpHeaderBlock::Status::incomplete:
        return status_;
      case HttpHeaderBlock::Status::too_large:
        return fail("response header block larger than " +
                    std::to_string(kDefaultMaxHeaderBytes) + " bytes");
      case HttpHeaderBlock::Status::done:
        validate();
        if (status_ != HandshakeStatus::incomplete) return status_;
        break;  // a refusal with a body: read it
    }
  }
  const std::size_t take = std::min(len - consumed, body_expected_ - body_.size());
  body_.append(reinterpret_cast<const char*>(data) + consumed, take);
  consumed += take;
  if (body_.size() == body_expected_) return refused();
  return status_;
}

HandshakeStatus ClientHandshake::end_of_stream() {
  if (status_ != HandshakeStatus::incomplete) return status_;
  if (body_expected_ > 0) return refused();  // with the part of the reason that arrived
  if (head_.buffered().empty())
    return fail("the server closed the connection without answering the handshake");
  return fail("the server closed the connection during the handshake");
}

HandshakeStatus ClientHandshake::refused() {
  const std::string_view line = head_.start_line();
  const std::string status_text = printable(line.substr(line.find(' ') + 1), 100);
  std::string reason = http_status_ >= 400
                           ? "server refused the handshake: " + status_text
                           : "server answered " + status_text + " instead of 101 Switching Protocols";
  const std::string body = printable(body_, kMaxRefusalBodyBytes);
  if (!body.empty()) reason += ": " + body;
  body_expected_ = 0;
  body_ = std::string();
  return fail(std::move(reason));
}

HandshakeStatus ClientHandshake::validate() {
  std::string error;
  bool too_many = false;
  if (!head_.parse(error, too_many)) return fail("malformed response: " + error);
  // Status line: HTTP-version SP status-code SP reason-phrase (RFC 7230 §3.1.2).
  const std::string_view line = head_.start_line();
  const std::size_t sp = line.find(' ');
  const std::string_view status =
      sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1, 3);
  if (line.substr(0, 7) != "HTTP/1." || status.size() != 3 ||
      status.find_first_not_of("0123456789") != std::string_view::npos ||
      (line.size() > sp + 4 && line[sp + 4] != ' '))
    return fail("malformed status line in the response");
  http_status_ = std::stoi(std::string(status));
  if (http_status_ != 101) {
    // The server may say why in a text/plain body. Transfer-Encoding would override
    // Content-Length (RFC 7230 §3.3.3), so only a plain body of announced length is read.
    const auto length = content_length(head_, kMaxRefusalBodyBytes);
    if (length && *length > 0 && is_plain_text(head_.get("Content-Type")) &&
        !head_.get("Transfer-Encoding")) {
      body_expected_ = *length;
      return status_;
    }
    return refused();
  }
  // §4.1 client requirements 2-6, read in place as the server does.
  if (!head_.has_token_in("Upgrade", "websocket")) return fail("response lacks \"Upgrade: websocket\"");
  if (!head_.has_token_in("Connection", "upgrade"))
    return fail("response Connection header lacks the \"upgrade\" token");
  std::string joined;
  const auto accept = head_.value("Sec-WebSocket-Accept", joined);
  const AcceptKey expected = accept_key_of(key_);
  if (!accept || *accept != std::string_view(expected.data(), expected.size()))
    return fail("Sec-WebSocket-Accept does not match the key sent");
  if (std::string error; !check_extensions(error)) return fail(std::move(error));
  const auto protocol = head_.value("Sec-WebSocket-Protocol", joined);
  if (protocol) {
    const auto& offered = options_.protocols;
    if (std::find(offered.begin(), offered.end(), *protocol) == offered.end())
      return fail("server selected subprotocol \"" + printable(*protocol, 100) + "\" that was not offered");
    selected_protocol_ = *protocol;
  } else if (!options_.protocols.empty()) {
    return fail("server selected none of the offered subprotocols");
  }
  status_ = HandshakeStatus::done;
  return status_;
}

// RFC 6455 §4.1 item 5 and RFC 7692 §7.1: every extension in the answer must be one we
// offered, each at most once, with parameters consistent with an offer.
bool ClientHandshake::check_extensions(std::string& error) {
  std::string joined;
  const auto header = head_.value("Sec-WebSocket-Extensions", joined);
  if (!header) return true;
  std::size_t malformed = 0;
  const std::vector<Extension> accepted = parse_extensions(*header, &malformed);
  if (malformed != 0) {
    error = "malformed Sec-WebSocket-Extensions \"" + printable(*header, 100) + "\"";
    return false;
  }
  const bool offered = options_.deflate.mode != DeflateOptions::Mode::off;
  for (const Extension& e : accepted) {
    if (e.name != kPermessageDeflate || !offered) {
      error = "server selected extension \"" + printable(to_string(e), 100) + "\" that was not offered";
      return false;
    }
    if (deflate_) {
      error = "server selected permessage-deflate twice";
      return false;
    }
    deflate_ = accept_deflate_response(e, options_.deflate, error);
    if (!deflate_) return false;
  }
  return true;
}

// ---- Server -----------------------------------------------------------------------------

ServerHandshake::ServerHandshake(Shared, std::shared_ptr<const ServerHandshakeOptions> options)
    : options_(std::move(options)), head_(options_->max_header_bytes, kMaxHeaderFields) {}

ServerHandshake::ServerHandshake(ServerHandshakeOptions options)
    : ServerHandshake(Shared{},
                      std::make_shared<const ServerHandshakeOptions>(std::move(options))) {}

HandshakeStatus ServerHandshake::fail(int status, std::string reason) {
  http_status_ = status;
  error_ = std::move(reason);
  status_ = HandshakeStatus::failed;
  return status_;
}

HandshakeStatus ServerHandshake::feed(const std::uint8_t* data, std::size_t len,
                                      std::size_t& consumed) {
  consumed = 0;
  if (status_ != HandshakeStatus::incomplete) return status_;
  const HttpHeaderBlock::Status s = head_.feed(data, len, consumed);
  if (s == HttpHeaderBlock::Status::too_large)
    return fail(431, "request header block larger than " +
                         std::to_string(options_->max_header_bytes) + " bytes");
  // Refuse anything that does not start like a GET request (a TLS ClientHello on a plain port,
  // a stray protocol) from its first bytes rather than after a whole header block; first, since
  // a whole ClientHello may hold an empty line: its random bytes hold "\n\n" (a bare-LF one)
  // or "\n\r\n" in about one hello in 700.
  constexpr std::string_view kGet = "GET ";
  const std::string_view start = head_.buffered().substr(0, kGet.size());
  if (start != kGet.substr(0, start.size())) {
    // 0x16: a TLS handshake record (RFC 8446 §5.1), a wss:// client on this plain port.
    if (start.front() == '\x16' && !options_->tls)
      return fail(400, "TLS handshake on a plain ws:// port: the client wants wss://");
    return fail(400, "not a GET request");
  }
  if (s == HttpHeaderBlock::Status::done) return validate();
  return status_;
}

HandshakeStatus ServerHandshake::end_of_stream() {
  if (status_ != HandshakeStatus::incomplete) return status_;
  error_ = "the client closed the connection during the handshake";
  status_ = HandshakeStatus::failed;
  return status_;
}

HandshakeStatus ServerHandshake::validate() {
  std::string error;
  bool too_many = false;
  if (!head_.parse(error, too_many)) return fail(too_many ? 431 : 400, error);
  // Request line: method SP request-target SP HTTP-version (RFC 7230 §3.1.1).
  const std::string_view line = head_.start_line();
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  if (line.substr(0, sp1) != "GET") return fail(400, "not a GET request");  // §4.2.1 item 1
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (target.empty() || target.front() != '/') return fail(400, "request target is not a path");
  for (unsigned char c : target)
    if (c <= 0x20 || c == 0x7F) return fail(400, "malformed request target");
  if (!http_version_at_least_1_1(line.substr(sp2 + 1)))
    return fail(400, "HTTP version older than 1.1");
  // §4.2.1 items 2-6.
  if (head_.count("Host") != 1) return fail(400, "missing or repeated Host header");
  // Read in place: only a repeated field is joined (into `joined`), so a request allocates
  // nothing here.
  std::string joined;
  if (!head_.has_token_in("Upgrade", "websocket")) return fail(400, "missing \"Upgrade: websocket\"");
  if (!head_.has_token_in("Connection", "upgrade"))
    return fail(400, "Connection header lacks the \"upgrade\" token");
  const auto key = head_.value("Sec-WebSocket-Key", joined);
  if (!key || head_.count("Sec-WebSocket-Key") != 1 || !base64_decodes_to_size(*key, 16))
    return fail(400, "missing or malformed Sec-WebSocket-Key");
  const auto version = head_.value("Sec-WebSocket-Version", joined);
  if (!version) return fail(400, "missing Sec-WebSocket-Version");
  if (*version != "13")  // §4.4
    return fail(426, "unsupported Sec-WebSocket-Version: offered " + printable(*version, 20) +
                         ", supported 13");
  // Subprotocol: the first of the client's list that we support (§4.2.2 item 5.4). Without
  // one the answer names none (§4.2.2: the client then decides), unless a match is required.
  const auto& supported = options_->supported_protocols;
  const std::string_view offered = head_.value("Sec-WebSocket-Protocol", joined).value_or("");
  bool offers_any = false;  // a list of only commas and blanks offers none
  find_in_list(offered, [&](std::string_view p) {
    offers_any = true;
    if (std::find(supported.begin(), supported.end(), p) == supported.end()) return false;
    selected_protocol_.assign(p);
    return true;
  });
  if (selected_protocol_.empty() && options_->require_protocol_match &&
      !(!offers_any && supported.empty()))
    return fail(400, "no common subprotocol: offered " + list_text(split_list(offered)) +
                         ", supported " + list_text(supported));
  // RFC 7692 §5: the first permessage-deflate offer we can accept; a malformed header or
  // offer is declined, never fatal.
  if (options_->deflate.mode != DeflateOptions::Mode::off) {
    if (const auto requested = head_.value("Sec-WebSocket-Extensions", joined)) {
      deflate_ = accept_deflate_offer(parse_extensions(*requested), options_->deflate, extensions_);
    }
  }

  target_ = target;
  host_ = *head_.value("Host", joined);  // counted once above: a view of the head
  accept_ = accept_key_of(*key);
  http_status_ = 101;
  status_ = HandshakeStatus::done;
  return status_;
}

std::string ServerHandshake::response() const {
  std::string out;
  if (status_ == HandshakeStatus::incomplete || http_status_ == 0) return out;
  out.reserve(256);  // a 101 without extras in one allocation
  out.append("HTTP/1.1 ").append(std::to_string(http_status_)).append(" ");
  append_line(out, http_reason_phrase(http_status_));
  if (status_ == HandshakeStatus::done) {
    append_line(out, "Upgrade: websocket");
    append_line(out, "Connection: Upgrade");
    append_line(out, "Sec-WebSocket-Accept: ", std::string_view(accept_.data(), accept_.size()));
    if (!selected_protocol_.empty()) append_line(out, "Sec-WebSocket-Protocol: ", selected_protocol_);
    if (!extensions_.empty()) append_line(out, "Sec-WebSocket-Extensions: ", extensions_);
    for (const std::string& line : options_->extra_response_headers)
      if (ClientHandshake::valid_extra_header(line)) append_line(out, line);
  } else {
    // The reason in the body, so the client (or whoever reads its log) can tell why.
    const std::string body = error_ + "\n";
    if (http_status_ == 426) append_line(out, "Sec-WebSocket-Version: 13");  // §4.4
    append_line(out, "Connection: close");
    append_line(out, "Content-Type: text/plain; charset=utf-8");
    append_line(out, "Content-Length: ", std::to_string(body.size()));
    out.append("\r\n");
    out.append(body);
    return out;
  }
  out.append("\r\n");
  return out;
}

std::string ServerHandshake::requested_url() const {
  // Built at its exact size: it is kept for the connection's life.
  const std::string_view scheme = options_->tls ? "wss://" : "ws://";
  std::string url;
  url.reserve(scheme.size() + host_.size() + target_.size());
  url.append(scheme).append(host_).append(target_);
  return url;
}

std::string ServerHandshake::header(std::string_view name) const {
  return head_.get(name).value_or("");
}

}  // namespace wsp
