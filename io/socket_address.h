// An IPv4 or IPv6 socket address.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "io/result.h"

namespace io {

class SocketAddress {
 public:
  SocketAddress() = default;
  // Numeric addresses only ("127.0.0.1", "::1", "[::1]"); no resolution.
  static Result<SocketAddress> parse(std::string_view ip, std::uint16_t port);
  static SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len);

  std::string ip() const;            // "127.0.0.1", "::1"
  std::uint16_t port() const;
  std::string to_string() const;     // "127.0.0.1:80", "[::1]:80"
  int family() const { return storage_.ss_family; }
  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace io
