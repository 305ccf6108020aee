// A hand-rolled WebSocket client on a plain blocking socket, for tests that must misbehave in
// ways no well-behaved library allows: half a handshake, floods of headers, frames or pings,
// an RST in the middle of a frame. Every wait has a deadline; the socket closes with the object.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

namespace raw_peer {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline const char* const kUpgradeRequest =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// One masked client frame (RFC 6455 §5.2; mask bytes fixed, which §5.3 allows for a test peer).
inline std::string frame(int opcode, bool fin, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(std::uint64_t(n) >> (8 * i)));
  }
  const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  for (unsigned char m : mask) f.push_back(static_cast<char>(m));
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

struct Frame {
  int opcode = -1;
  bool fin = false;
  std::string payload;
  int close_code() const {
    return payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]) : -1;
  }
};

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_), in_(std::move(o.in_)) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    std::swap(in_, o.in_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  static Socket connect_to(const std::string& host, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return Socket();
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Socket(fd);
  }

  // Writes everything (blocking); false on an error (EPIPE, ECONNRESET).
  bool write_all(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads more bytes into the buffer; false at EOF, on an error, or when `deadline` passes.
  bool fill(Clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      in_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  // The HTTP response head (through the blank line), or nullopt.
  std::optional<std::string> read_head(Clock::time_point deadline) {
    for (;;) {
      if (auto end = in_.find("\r\n\r\n"); end != std::string::npos) {
        std::string head = in_.substr(0, end + 4);
        in_.erase(0, end + 4);
        return head;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  bool handshake(Clock::time_point deadline) {
    if (!write_all(kUpgradeRequest)) return false;
    auto head = read_head(deadline);
    return head && head->rfind("HTTP/1.1 101", 0) == 0;
  }

  // The next (unmasked) server frame, or nullopt at EOF or the deadline.
  std::optional<Frame> read_frame(Clock::time_point deadline) {
    for (;;) {
      if (in_.size() >= 2) {
        auto b = [&](std::size_t i) { return static_cast<unsigned char>(in_[i]); };
        std::size_t header = 2;
        std::uint64_t n = b(1) & 0x7f;
        if (n == 126) {
          header = 4;
          if (in_.size() >= 4) n = (std::uint64_t(b(2)) << 8) | b(3);
        } else if (n == 127) {
          header = 10;
          if (in_.size() >= 10) {
            n = 0;
            for (int i = 2; i < 10; ++i) n = (n << 8) | b(static_cast<std::size_t>(i));
          }
        }
        if (in_.size() >= header && in_.size() >= header + n) {
          Frame f{b(0) & 0x0f, (b(0) & 0x80) != 0, in_.substr(header, n)};
          in_.erase(0, header + n);
          return f;
        }
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // True once the peer has closed (EOF or reset) before `deadline`; data read meanwhile is kept.
  bool wait_closed(Clock::time_point deadline) {
    while (!eof_) {
      if (!fill(deadline) && !eof_) return false;
    }
    return true;
  }

  // SO_LINGER 0 then close: the kernel sends an RST instead of a FIN.
  void reset() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }

  std::string& buffered() { return in_; }

 private:
  int fd_ = -1;
  std::string in_;
  bool eof_ = false;
};

// A field of /proc/PID/status in KiB (VmRSS, VmHWM), or -1.
inline long proc_status_kib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

}  // namespace raw_peer
