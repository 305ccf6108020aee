#include "redis/resp.h"

#include <algorithm>
#include <charconv>

#include "redis/redis_error.h"

namespace redis {

void append_command(std::string& out, std::span<const std::string_view> arguments) {
  out += '*';
  out += std::to_string(arguments.size());
  out += "\r\n";
  for (std::string_view a : arguments) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

void append_command(std::string& out, std::initializer_list<std::string_view> arguments) {
  append_command(out, std::span<const std::string_view>(arguments.begin(), arguments.size()));
}

namespace {

// A whole signed decimal number and nothing else (RESP2 integers and lengths).
bool parse_integer(std::string_view text, std::int64_t& value) {
  if (text.empty() || text == "-") return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && text[0] != '+';
}

}  // namespace

std::error_code ReplyParser::feed(std::span<const std::uint8_t> data, std::vector<Reply>& replies) {
  const char* p = reinterpret_cast<const char*>(data.data());
  const char* const end = p + data.size();
  while (p < end && !error_) {
    switch (step_) {
      case Step::type:
        type_ = *p++;
        if (type_ != '+' && type_ != '-' && type_ != ':' && type_ != '$' && type_ != '*') {
          error_ = Errc::protocol_error;
          break;
        }
        line_.clear();
        step_ = Step::line;
        break;
      case Step::line: {
        const char* newline = std::find(p, end, '\n');
        const std::size_t room = limits_.max_line_length + 2 - line_.size();
        line_.append(p, std::min(static_cast<std::size_t>(newline - p), room));
        // Over the limit once more than it, its CR included, is in (no waiting for the LF).
        if (line_.size() > limits_.max_line_length &&
            (line_.size() > limits_.max_line_length + 1 || line_.back() != '\r')) {
          error_ = Errc::reply_too_large;
          break;
        }
        p = newline;
        if (p == end) break;
        ++p;  // the LF
        if (line_.empty() || line_.back() != '\r') {
          error_ = Errc::protocol_error;  // a line ends with CRLF, never a bare LF
          break;
        }
        line_.pop_back();
        error_ = end_of_line(replies);
        break;
      }
      case Step::bulk: {
        const std::size_t n = std::min(bulk_left_, static_cast<std::size_t>(end - p));
        bulk_.text.append(p, n);
        p += n;
        bulk_left_ -= n;
        if (bulk_left_ == 0) step_ = Step::bulk_cr;
        break;
      }
      case Step::bulk_cr:
        if (*p++ != '\r') error_ = Errc::protocol_error;
        else step_ = Step::bulk_lf;
        break;
      case Step::bulk_lf:
        if (*p++ != '\n') {
          error_ = Errc::protocol_error;
        } else {
          step_ = Step::type;
          complete(std::move(bulk_), replies);
          bulk_ = Reply{};
        }
        break;
    }
  }
  return error_;
}

std::error_code ReplyParser::end_of_line(std::vector<Reply>& replies) {
  step_ = Step::type;
  Reply reply;
  switch (type_) {
    case '+':
    case '-':
      reply.type = type_ == '+' ? Reply::Type::simple_string : Reply::Type::error;
      reply.text = std::move(line_);
      line_ = std::string();
      complete(std::move(reply), replies);
      return {};
    case ':':
      if (!parse_integer(line_, reply.integer)) return Errc::protocol_error;
      reply.type = Reply::Type::integer;
      complete(std::move(reply), replies);
      return {};
    default:
      break;
  }
  std::int64_t length = 0;
  if (!parse_integer(line_, length) || length < -1) return Errc::protocol_error;
  if (length == -1) {  // a null bulk string or a null array
    complete(Reply{}, replies);
    return {};
  }
  const auto size = static_cast<std::uint64_t>(length);
  if (type_ == '$') {
    if (size > limits_.max_bulk_length) return Errc::reply_too_large;
    bulk_.type = Reply::Type::bulk_string;
    bulk_left_ = static_cast<std::size_t>(size);
    bulk_.text.reserve(std::min<std::size_t>(bulk_left_, 64 * 1024));  // a hostile length gets no more
    step_ = bulk_left_ == 0 ? Step::bulk_cr : Step::bulk;
    return {};
  }
  if (size > limits_.max_array_length) return Errc::reply_too_large;
  reply.type = Reply::Type::array;
  if (size == 0) {
    complete(std::move(reply), replies);
    return {};
  }
  if (open_arrays_.size() >= limits_.max_depth) return Errc::reply_too_deep;
  // No reserve from the header: a hostile length would allocate before any element arrived.
  open_arrays_.push_back({std::move(reply), static_cast<std::size_t>(size)});
  return {};
}

void ReplyParser::complete(Reply reply, std::vector<Reply>& replies) {
  while (!open_arrays_.empty()) {
    OpenArray& open = open_arrays_.back();
    open.array.elements.push_back(std::move(reply));
    if (open.array.elements.size() < open.expected) return;
    reply = std::move(open.array);
    open_arrays_.pop_back();
  }
  replies.push_back(std::move(reply));
}

}  // namespace redis
