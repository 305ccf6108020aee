// RESP2, the Redis serialization protocol, apart from any I/O (sans-IO): commands in, bytes
// out; bytes in, replies out. It never touches a socket, a clock or a reactor, so it is tested
// byte by byte and fuzzed. Only RESP2: what SUBSCRIBE, PUBLISH and PUBSUB need (simple
// strings, errors, integers, bulk strings, arrays).
// https://redis.io/docs/reference/protocol-spec/
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace redis {

// One RESP2 reply. A null bulk string ($-1) and a null array (*-1) are both `nil`.
struct Reply {
  enum class Type : std::uint8_t { simple_string, error, integer, bulk_string, array, nil };
  Type type = Type::nil;
  std::string text;             // simple_string, error, bulk_string
  std::int64_t integer = 0;     // integer
  std::vector<Reply> elements;  // array

  bool is_string() const { return type == Type::simple_string || type == Type::bulk_string; }
  // A bulk or simple string equal to `s`.
  bool is(std::string_view s) const { return is_string() && text == s; }
};

// Appends `arguments` as one command: an array of bulk strings, the form Redis expects.
void append_command(std::string& out, std::initializer_list<std::string_view> arguments);
void append_command(std::string& out, std::span<const std::string_view> arguments);

struct ReplyParserLimits {
  // Redis' own proto-max-bulk-len is 512 MiB; a client that holds a reply in memory wants less.
  std::size_t max_bulk_length = 64 * 1024 * 1024;
  std::size_t max_array_length = 1024 * 1024;
  std::size_t max_depth = 16;
  // A simple string, error or integer line, or a length header, without its CRLF.
  std::size_t max_line_length = 64 * 1024;
};

// Incremental: bytes may arrive cut anywhere; a reply is handed out once its last byte is in.
// After an error it takes nothing more (the stream has lost its framing): reconnect.
class ReplyParser {
 public:
  explicit ReplyParser(ReplyParserLimits limits = {}) : limits_(limits) {}

  // Consumes all of `data` and appends every reply it completes to `replies`, in order.
  std::error_code feed(std::span<const std::uint8_t> data, std::vector<Reply>& replies);
  std::error_code feed(std::string_view data, std::vector<Reply>& replies) {
    return feed({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, replies);
  }

  // A reply has begun and is not complete.
  bool mid_reply() const { return step_ != Step::type || !open_arrays_.empty(); }
  std::error_code error() const { return error_; }

 private:
  enum class Step : std::uint8_t { type, line, bulk, bulk_cr, bulk_lf };
  std::error_code end_of_line(std::vector<Reply>& replies);
  void complete(Reply reply, std::vector<Reply>& replies);

  ReplyParserLimits limits_;
  std::error_code error_;
  Step step_ = Step::type;
  char type_ = 0;             // the type byte of the reply being read
  std::string line_;          // the line being read (with its CR once seen)
  Reply bulk_;                // the bulk string being read
  std::size_t bulk_left_ = 0;
  struct OpenArray {
    Reply array;
    std::size_t expected;
  };
  std::vector<OpenArray> open_arrays_;  // innermost last
};

}  // namespace redis
