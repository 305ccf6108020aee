// The errors of redis/: std::error_code values in their own category (errors are values).
#pragma once

#include <system_error>

namespace redis {

enum class Errc {
  protocol_error = 1,  // bytes that are not RESP2: the connection cannot be trusted further
  reply_too_large,     // a bulk string or array over the parser's limits
  reply_too_deep,      // arrays nested deeper than the parser's limit
  server_error,        // Redis answered a command with an error reply (-ERR ...)
  unexpected_reply,    // a well-formed reply that does not answer the command sent
  connection_closed,   // Redis closed the connection
};

const std::error_category& error_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace redis

template <>
struct std::is_error_code_enum<redis::Errc> : std::true_type {};
