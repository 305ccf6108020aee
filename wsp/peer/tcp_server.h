// TCPServer of the reference API on the io_uring reactor: listens, and hands each accepted
// connection over as a connected StreamPeerTCP.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "wsp/peer/error.h"
#include "wsp/peer/stream_peer_tcp.h"

namespace wsp {

class TCPServer {
 public:
  explicit TCPServer(io::Reactor& reactor = io::Reactor::current());
  ~TCPServer();

  // bind_address "*" listens on every IPv4 and IPv6 interface.
  Error listen(int port, const std::string& bind_address = "*");
  bool is_listening() const { return listener_.is_listening(); }
  bool is_connection_available();
  // An already connected StreamPeerTCP, or null when none is waiting.
  std::shared_ptr<StreamPeerTCP> take_connection();
  int get_local_port() const { return listener_.local_port(); }
  void stop();

 private:
  io::Reactor* reactor_;
  io::TcpListener listener_;
  std::optional<io::TcpStream> pending_;
};

}  // namespace wsp
