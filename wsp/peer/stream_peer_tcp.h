// StreamPeerTCP of the reference API on the io_uring reactor.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/socket_address.h"
#include "io/tcp_stream.h"
#include "wsp/peer/error.h"
#include "wsp/peer/stream_peer.h"

namespace wsp {

class StreamPeerTCP final : public StreamPeer {
 public:
  enum Status { STATUS_NONE = 0, STATUS_CONNECTING = 1, STATUS_CONNECTED = 2, STATUS_ERROR = 3 };

  explicit StreamPeerTCP(io::Reactor& reactor = io::Reactor::current());
  // An already connected stream (TCPServer::take_connection).
  StreamPeerTCP(io::Reactor& reactor, io::TcpStream stream);
  ~StreamPeerTCP() override;

  // Local address for the next connect_to_host(); host "*" means any.
  Error bind(int port, const std::string& host = "*");
  // Non-blocking: starts connecting; poll() and get_status() tell the outcome.
  Error connect_to_host(const std::string& host, int port);
  void poll() override;
  Status get_status() const { return status_; }
  void disconnect_from_host();

  std::string get_connected_host() const;
  int get_connected_port() const;
  int get_local_port() const;
  void set_no_delay(bool enabled);

  // StreamPeer data calls on the connected socket. put_data/get_data wait until everything
  // is sent/received (as the reference does); the partial ones never wait.
  Error put_data(const std::vector<std::uint8_t>& data);
  Error put_partial_data(const std::vector<std::uint8_t>& data, int& sent);
  Error get_data(int bytes, std::vector<std::uint8_t>& out);
  Error get_partial_data(int bytes, std::vector<std::uint8_t>& out);
  int get_available_bytes() const;

  // StreamPeer
  bool is_connected_stream() const override { return status_ == STATUS_CONNECTED; }
  bool is_tls() const override { return false; }
  std::unique_ptr<io::ByteStream> release_stream() override;
  // The connected TCP stream itself (once); the peer is then disconnected.
  std::optional<io::TcpStream> release_tcp();
  // The connected TCP stream, lent to a TLS session over it (StreamPeerTLS): as the
  // reference's StreamPeerTCP under a StreamPeerTLS, the peer stays CONNECTED and keeps its
  // addresses, but its own data calls fail; disconnect_from_host() returns it to NONE.
  std::optional<io::TcpStream> lend_tcp();
  io::Reactor& reactor() const override { return *reactor_; }
  io::TcpStream* tcp() { return stream_ ? &*stream_ : nullptr; }

 private:
  io::Task<void> connect_task(std::string host, int port);

  io::Reactor* reactor_;
  Status status_ = STATUS_NONE;
  std::optional<io::TcpStream> stream_;
  std::optional<io::SocketAddress> local_;
  // While lent: the addresses the stream had.
  std::optional<io::SocketAddress> lent_remote_, lent_local_;
  io::Reactor::TaskId connecting_ = 0;
  bool no_delay_ = true;
};

}  // namespace wsp
