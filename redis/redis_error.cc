#include "redis/redis_error.h"

#include <string>

namespace redis {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::protocol_error: return "not a RESP2 reply";
      case Errc::reply_too_large: return "RESP2 reply over the size limit";
      case Errc::reply_too_deep: return "RESP2 arrays nested over the depth limit";
      case Errc::server_error: return "Redis answered with an error";
      case Errc::unexpected_reply: return "Redis answered something else than asked";
      case Errc::connection_closed: return "Redis closed the connection";
    }
    return "unknown redis error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

}  // namespace redis
