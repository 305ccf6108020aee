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

  std::string_view start_line() const { return view(start_line_); }
  // The fields as owned strings, made on first use: parsing keeps only where each name and
  // value lies in the head, so a handshake allocates nothing per field.
  const HeaderList& fields() const;
  HeaderList take_fields();
  // The value of the field (case-insensitive name): a view of the one field of that name or,
  // when it is repeated, of `joined`, which then holds all its values joined with ", " (RFC
  // 7230 §3.2.2); std::nullopt when absent. Views live as long as this block (and `joined`).
  std::optional<std::string_view> value(std::string_view name, std::string& joined) const;
  // The same, always as a copy.
  std::optional<std::string> get(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  // Whether any field of that name holds `token` in its comma-separated list (RFC 7230 §7),
  // case-insensitively: the same as has_token() on the joined value, without joining.
  bool has_token_in(std::string_view name, std::string_view token) const;

 private:
  static constexpr std::size_t kTypicalHeadBytes = 512;
  struct Span {  // where a piece of the head lies in buf_
    std::uint32_t at = 0, size = 0;
  };
  std::string_view view(Span span) const { return std::string_view(buf_).substr(span.at, span.size); }
  Span span_of(std::string_view piece) const {
    return {static_cast<std::uint32_t>(piece.data() - buf_.data()), static_cast<std::uint32_t>(piece.size())};
  }

  std::size_t max_bytes_;
  std::size_t max_fields_;
  std::string buf_;
  std::size_t line_start_ = 0;
  Span start_line_;
  std::vector<std::pair<Span, Span>> spans_;  // name and value of each field
  mutable HeaderList fields_;                 // made by fields()
  mutable bool fields_made_ = false;
};

bool iequals(std::string_view a, std::string_view b);
// Whether a comma-separated field value (RFC 7230 §7) holds `token`, case-insensitively.
bool has_token(std::string_view list, std::string_view token);
// The elements of a comma-separated list, trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view list);
// Calls `each(item)` for those elements, in order, until it returns true; whether one did.
template <typename Each>
bool find_in_list(std::string_view list, Each each);
// RFC 7230 §3.2.6 token.
bool is_token(std::string_view s);

std::string_view trim_blanks(std::string_view s);  // without leading and trailing SP and HTAB

template <typename Each>
bool find_in_list(std::string_view list, Each each) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim_blanks(list.substr(0, comma));
    if (!item.empty() && each(item)) return true;
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  return false;
}

}  // namespace wsp
