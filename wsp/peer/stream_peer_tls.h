// StreamPeerTLS of the reference API: a TLS session over a connected StreamPeerTCP, its
// handshake advanced by poll(). WebSocketPeer::accept_stream() takes it once connected.
#pragma once

#include <memory>
#include <string>

#include "tls/tls_options.h"
#include "wsp/peer/tls_handshake.h"
#include "wsp/peer/error.h"
#include "wsp/peer/stream_peer_tcp.h"

namespace wsp {

class StreamPeerTLS final : public StreamPeer, public TlsStatusValues {
 public:

  explicit StreamPeerTLS(io::Reactor& reactor = io::Reactor::current()) : reactor_(&reactor) {}

  // Client side. `client_options` null: verify against the system trust store.
  Error connect_to_stream(const std::shared_ptr<StreamPeerTCP>& stream, const std::string& common_name,
                          std::shared_ptr<tls::TLSOptions> client_options = nullptr);
  // Server side; `server_options` from TLSOptions::server().
  Error accept_stream(const std::shared_ptr<StreamPeerTCP>& stream,
                      std::shared_ptr<tls::TLSOptions> server_options);
  void poll() override;
  Status get_status() const { return status_; }
  // Readable reason of the last failure.
  std::string get_error() const { return error_; }
  void disconnect_from_stream();
  // The StreamPeerTCP this session runs over (null before connect_to_stream/accept_stream):
  // it reads CONNECTED while the session uses it.
  std::shared_ptr<StreamPeerTCP> get_stream() const { return tcp_; }

  // Handshake bound (0: none). Default 10 s, like WebSocketPeer's handshake_timeout.
  void set_handshake_timeout(double seconds) { handshake_timeout_ = seconds; }

  // StreamPeer
  bool is_connected_stream() const override { return status_ == STATUS_CONNECTED; }
  bool is_tls() const override { return true; }
  std::unique_ptr<io::ByteStream> release_stream() override;
  io::Reactor& reactor() const override { return *reactor_; }

 private:
  Error start(const std::shared_ptr<StreamPeerTCP>& stream, bool server, const std::string& name,
              std::shared_ptr<tls::TLSOptions> options);

  io::Reactor* reactor_;
  Status status_ = STATUS_DISCONNECTED;
  std::unique_ptr<TlsHandshake> handshake_;
  std::unique_ptr<tls::TlsStream> stream_;
  std::shared_ptr<StreamPeerTCP> tcp_;
  std::string error_;
  double handshake_timeout_ = 10.0;
};

}  // namespace wsp
