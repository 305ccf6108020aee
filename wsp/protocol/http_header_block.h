// An HTTP/1.1 message head (start line + header fields, RFC 7230 §3), read incrementally and
// bounded in size, for the WebSocket opening handshake (RFC 6455 §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsp {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpHeaderBlock {
 public:
  enum class Status : std::uint8_t { incomplete, done, too_large };

  HttpHeaderBlock(std::size_t max_bytes, std::size_t max_fields)
      : max_bytes_(max_bytes), max_fields_(max_fields) {}

  // Takes bytes up to and including the empty line that ends the head; `consumed` tells how
  // many, so what follows (frame data) stays with the caller. Never holds more than max_bytes.
  Status feed(const std::uint8_t* data, std::size_t len, std::size_t& consumed);

  // The bytes taken so far (lets a server refuse garbage before the head is complete).
  std::string_view buffered() const { return buf_; }

  // Splits the finished head into start line and fields. False with `error` set when a line
  // is malformed (obsolete line folding, no colon, bad name, control bytes in a value) or
  // there are more than max_fields fields (`too_many` set).
  bool parse(std::string& error, bool& too_many);

  std::string_view start_line() const { return start_line_; }
  const HeaderList& fields() const { return fields_; }
  HeaderList take_fields() { return std::move(fields_); }
  // All values of the field (case-insensitive name) joined with ", " (RFC 7230 §3.2.2);
  // std::nullopt when absent.
  std::optional<std::string> get(std::string_view name) const;
  std::size_t count(std::string_view name) const;

 private:
  static constexpr std::size_t kTypicalHeadBytes = 512;
  std::size_t max_bytes_;
  std::size_t max_fields_;
  std::string buf_;
  std::size_t line_start_ = 0;
  std::string start_line_;
  HeaderList fields_;
};

bool iequals(std::string_view a, std::string_view b);
// Whether a comma-separated field value (RFC 7230 §7) holds `token`, case-insensitively.
bool has_token(std::string_view list, std::string_view token);
// The elements of a comma-separated list, trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view list);
// RFC 7230 §3.2.6 token.
bool is_token(std::string_view s);

}  // namespace wsp
