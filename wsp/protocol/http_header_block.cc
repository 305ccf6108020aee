#include "wsp/protocol/http_header_block.h"

#include <algorithm>
#include <cstring>

namespace wsp {
namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Cuts the next line off `rest`, without its CRLF or bare LF.
std::string_view next_line(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  find_in_list(list, [&](std::string_view item) {
    out.emplace_back(item);
    return false;
  });
  return out;
}

bool has_token(std::string_view list, std::string_view token) {
  return find_in_list(list, [&](std::string_view item) { return iequals(item, token); });
}

HttpHeaderBlock::Status HttpHeaderBlock::feed(const std::uint8_t* data, std::size_t len,
                                              std::size_t& consumed) {
  consumed = 0;
  // One allocation for a typical head (a few hundred bytes) rather than a string doubling
  // from 15: each step would leave a hole in the heap of a server accepting a burst.
  if (buf_.capacity() < kTypicalHeadBytes) buf_.reserve(std::min(max_bytes_, kTypicalHeadBytes));
  while (consumed < len) {
    if (buf_.size() >= max_bytes_) return Status::too_large;
    const char c = static_cast<char>(data[consumed++]);
    buf_.push_back(c);
    if (c != '\n') continue;
    const std::size_t line_len = buf_.size() - line_start_;
    line_start_ = buf_.size();
    // An empty line (CRLF, or a bare LF as RFC 7230 §3.5 lets a recipient accept) ends the
    // head; a first line cannot end it.
    const bool empty = line_len == 1 || (line_len == 2 && buf_[buf_.size() - 2] == '\r');
    if (empty && buf_.size() > line_len) return Status::done;
  }
  return Status::incomplete;
}

bool HttpHeaderBlock::parse(std::string& error, bool& too_many) {
  too_many = false;
  std::string_view rest(buf_);
  const std::string_view first = next_line(rest);
  if (first.find('\r') != std::string_view::npos) {
    error = "stray CR in the start line";
    return false;
  }
  start_line_ = span_of(first);
  spans_.clear();
  fields_.clear();
  fields_made_ = false;
  // Room for every line at once (at most one more than there are fields).
  spans_.reserve(std::min<std::size_t>(std::count(rest.begin(), rest.end(), '\n'), max_fields_ + 1));
  for (;;) {
    const std::string_view line = next_line(rest);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      error = "obsolete line folding in the header block";  // RFC 7230 §3.2.4
      return false;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      error = "header line without a colon";
      return false;
    }
    const std::string_view name = line.substr(0, colon);
    // RFC 7230 §3.2.4: no whitespace between the field name and the colon.
    if (!is_token(name)) {
      error = "malformed header name";
      return false;
    }
    const std::string_view value = trim_blanks(line.substr(colon + 1));
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7F) {
        error = "control character in a header value";
        return false;
      }
    }
    if (spans_.size() == max_fields_) {
      error = "too many header fields";
      too_many = true;
      return false;
    }
    spans_.emplace_back(span_of(name), span_of(value));
  }
  return true;
}

const HeaderList& HttpHeaderBlock::fields() const {
  if (!fields_made_) {
    fields_.reserve(spans_.size());
    for (const auto& [name, value] : spans_) fields_.emplace_back(view(name), view(value));
    fields_made_ = true;
  }
  return fields_;
}

HeaderList HttpHeaderBlock::take_fields() {
  fields();
  fields_made_ = false;
  spans_.clear();
  return std::move(fields_);
}

std::optional<std::string_view> HttpHeaderBlock::value(std::string_view name,
                                                      std::string& joined) const {
  std::optional<std::string_view> found;
  bool repeated = false;
  for (const auto& [n, v] : spans_) {
    if (!iequals(view(n), name)) continue;
    if (!found) {
      found = view(v);
      continue;
    }
    if (!repeated) joined.assign(*found);
    repeated = true;
    joined.append(", ").append(view(v));
  }
  if (repeated) found = joined;
  return found;
}

std::optional<std::string> HttpHeaderBlock::get(std::string_view name) const {
  std::string joined;
  const auto found = value(name, joined);
  if (!found) return std::nullopt;
  return std::string(*found);
}

bool HttpHeaderBlock::has_token_in(std::string_view name, std::string_view token) const {
  for (const auto& [n, v] : spans_) {
    if (iequals(view(n), name) && has_token(view(v), token)) return true;
  }
  return false;
}

std::size_t HttpHeaderBlock::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& field : spans_) n += iequals(view(field.first), name);
  return n;
}

}  // namespace wsp
