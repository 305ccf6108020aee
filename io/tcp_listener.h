// A listening TCP socket on the reactor: one multishot accept feeds every accept().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "io/reactor.h"
#include "io/result.h"
#include "io/task.h"
#include "io/tcp_stream.h"

namespace io {

class TcpListener {
 public:
  struct Options {
    int backlog = 4096;
    bool reuse_port = false;
    bool v6_only = false;
  };

  // host: numeric IPv4/IPv6 address, "*" or "" for all IPv6+IPv4 interfaces, or "localhost".
  static Result<TcpListener> bind(Reactor& reactor, std::string_view host, std::uint16_t port,
                                  Options options);
  static Result<TcpListener> bind(Reactor& reactor, std::string_view host, std::uint16_t port) {
    return bind(reactor, host, port, Options{});
  }

  TcpListener();
  TcpListener(TcpListener&&) noexcept;
  TcpListener& operator=(TcpListener&&) noexcept;
  ~TcpListener();

  // Next accepted connection (one multishot accept feeds them all).
  Task<Result<TcpStream>> accept();
  // Non-blocking: an accepted connection if one is queued (arms the multishot accept).
  std::optional<TcpStream> try_accept();
  // The same as a bare descriptor, for a connection that will live on another reactor
  // (a TcpStream belongs to the reactor it was made on).
  Task<Result<FileDescriptor>> accept_fd();
  std::optional<FileDescriptor> try_accept_fd();

  std::uint16_t local_port() const;
  bool is_listening() const { return bool(state_); }
  void close();

  // Accepts refused for lack of file descriptors (EMFILE/ENFILE); the listener keeps
  // running and retries after a short pause.
  std::uint64_t fd_exhaustion_count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace io
