// A deliberately minimal epoll WebSocket echo server, for benchmarks only: the shape of
// uWebSockets (one thread, non-blocking sockets, one read into a shared 512 KiB buffer per
// readable event, every reply to that read corked into one send) with wsp's masking and UTF-8
// routines. The uWS anchor of ../shared/bench cannot be built on this machine; this stands in
// for it in the same run, showing what an epoll engine of that shape reaches here.
//
// Not a server to use: it trusts its peer (no fragmented messages, no ping payload checks, no
// limits but 64 MiB frames), answers a close by echoing the code and closing, and drops any
// connection that breaks a rule.
//
//   epoll_echo --port 9106
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "tools/flags/flags.h"
#include "wsp/protocol/handshake.h"
#include "wsp/protocol/mask.h"
#include "wsp/protocol/utf8.h"

namespace {

constexpr std::size_t kReadBufferSize = 512 * 1024;
constexpr std::uint64_t kMaxFrame = 64u << 20;
constexpr std::size_t kMaxRequest = 8192;

struct Conn {
  explicit Conn(int socket) : fd(socket) {}
  int fd;
  bool upgraded = false;
  bool closing = false;     // a close frame was answered: close once it is written
  bool want_write = false;  // EPOLLOUT armed
  std::string in;           // an incomplete request or frame, kept between reads
  std::string out;
};

volatile sig_atomic_t g_stop = 0;
int g_epoll = -1;

void drop(Conn* c) {
  epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  delete c;
}

void append_header(std::string& out, std::uint8_t opcode, std::uint64_t size) {
  char h[10];
  std::size_t n = 2;
  h[0] = static_cast<char>(0x80 | opcode);
  if (size < 126) {
    h[1] = static_cast<char>(size);
  } else if (size <= 0xFFFF) {
    h[1] = 126;
    h[2] = static_cast<char>(size >> 8);
    h[3] = static_cast<char>(size);
    n = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>(size >> (56 - 8 * i));
    n = 10;
  }
  out.append(h, n);
}

// The opening handshake; returns bytes used, 0 while incomplete, -1 to drop.
long upgrade(Conn* c, const char* data, std::size_t len) {
  std::string_view request(data, len);
  std::size_t end = request.find("\r\n\r\n");
  if (end == std::string_view::npos) return len > kMaxRequest ? -1 : 0;
  std::string lower(request.substr(0, end));
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::size_t at = lower.find("\r\nsec-websocket-key:");
  if (at == std::string::npos) return -1;
  at += 20;
  std::size_t line_end = lower.find("\r\n", at);
  std::string_view key = request.substr(at, line_end == std::string::npos ? end - at : line_end - at);
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  c->out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: ";
  c->out += wsp::compute_accept_key(key);
  c->out += "\r\n\r\n";
  c->upgraded = true;
  return static_cast<long>(end + 4);
}

// Echoes every whole frame in data (unmasking in place); returns bytes used, -1 to drop.
long echo_frames(Conn* c, std::uint8_t* data, std::size_t len) {
  std::size_t pos = 0;
  while (len - pos >= 2 && !c->closing) {
    const std::uint8_t* p = data + pos;
    const std::uint8_t opcode = p[0] & 0x0F;
    if ((p[0] & 0xF0) != 0x80 || !(p[1] & 0x80)) return -1;  // fragments, RSV, unmasked
    std::uint64_t size = p[1] & 0x7F;
    std::size_t header = 2;
    if (size == 126) {
      if (len - pos < 4) break;
      size = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (size == 127) {
      if (len - pos < 10) break;
      size = 0;
      for (int i = 0; i < 8; ++i) size = (size << 8) | p[2 + i];
      header = 10;
    }
    if (size > kMaxFrame) return -1;
    if (len - pos < header + 4 + size) break;
    std::array<std::uint8_t, 4> key{p[header], p[header + 1], p[header + 2], p[header + 3]};
    std::uint8_t* payload = data + pos + header + 4;
    wsp::apply_mask(payload, size, key);
    std::string_view body(reinterpret_cast<const char*>(payload), size);
    pos += header + 4 + size;
    switch (opcode) {
      case 0x1:
        if (!wsp::is_valid_utf8(body)) return -1;
        [[fallthrough]];
      case 0x2:
        append_header(c->out, opcode, size);
        c->out.append(body);
        break;
      case 0x8:
        append_header(c->out, 0x8, std::min<std::size_t>(size, 2));
        c->out.append(body.substr(0, 2));
        c->closing = true;
        break;
      case 0x9:
        append_header(c->out, 0xA, size);
        c->out.append(body);
        break;
      case 0xA:
        break;
      default:
        return -1;
    }
  }
  return static_cast<long>(pos);
}

long consume(Conn* c, std::uint8_t* data, std::size_t len) {
  long used = 0;
  if (!c->upgraded) {
    used = upgrade(c, reinterpret_cast<const char*>(data), len);
    if (used <= 0) return used;
  }
  long framed = echo_frames(c, data + used, len - used);
  return framed < 0 ? -1 : used + framed;
}

// Sends what the socket takes; arms EPOLLOUT for the rest. False to drop the connection.
bool flush(Conn* c) {
  if (!c->out.empty()) {
    ssize_t n = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) return false;
    if (n > 0) c->out.erase(0, static_cast<std::size_t>(n));
  }
  if (c->out.empty() && c->closing) return false;
  const bool want = !c->out.empty();
  if (want != c->want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_write = want;
  }
  return true;
}

bool on_readable(Conn* c, std::uint8_t* buffer) {
  ssize_t n = recv(c->fd, buffer, kReadBufferSize, 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN;
  long used;
  if (c->in.empty()) {
    used = consume(c, buffer, static_cast<std::size_t>(n));
    if (used >= 0) c->in.assign(reinterpret_cast<char*>(buffer) + used, n - used);
  } else {
    c->in.append(reinterpret_cast<char*>(buffer), static_cast<std::size_t>(n));
    used = consume(c, reinterpret_cast<std::uint8_t*>(c->in.data()), c->in.size());
    if (used >= 0) c->in.erase(0, static_cast<std::size_t>(used));
  }
  return used >= 0 && flush(c);
}

// Listens on 127.0.0.1:`port` (0: any free port); `port` becomes the port listened on.
int listen_on(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    std::fprintf(stderr, "epoll_echo: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    std::exit(1);
  }
  socklen_t length = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 9106;
  flags::Flags flags("epoll_echo", "Minimal epoll WebSocket echo server, for benchmarks only.");
  flags.add("--port", &port, 0, 65535, "port to listen on, 0 for any free one (default 9106)");
  flags.parse(argc, argv);
  struct sigaction stop {};
  stop.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &stop, nullptr);
  sigaction(SIGTERM, &stop, nullptr);

  int listener = listen_on(port);
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listener
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, listener, &ev);
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  auto buffer = std::make_unique<std::uint8_t[]>(kReadBufferSize);
  std::array<epoll_event, 1024> events;
  while (!g_stop) {
    int n = epoll_wait(g_epoll, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (!c) {
        int fd;
        while ((fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event add{};
          add.events = EPOLLIN;
          add.data.ptr = new Conn(fd);
          epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &add);
        }
        continue;
      }
      bool keep = true;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) keep = false;
      if (keep && (events[i].events & EPOLLOUT)) keep = flush(c);
      if (keep && (events[i].events & EPOLLIN)) keep = on_readable(c, buffer.get());
      if (!keep) drop(c);
    }
  }
  return 0;
}
