#include "wsp/peer/stream_peer_tls.h"

#include <chrono>

namespace wsp {

Error StreamPeerTLS::connect_to_stream(const std::shared_ptr<StreamPeerTCP>& stream,
                                       const std::string& common_name,
                                       std::shared_ptr<tls::TLSOptions> client_options) {
  if (!client_options) client_options = tls::TLSOptions::client();
  if (client_options->is_server()) return ERR_INVALID_PARAMETER;
  return start(stream, false, common_name, std::move(client_options));
}

Error StreamPeerTLS::accept_stream(const std::shared_ptr<StreamPeerTCP>& stream,
                                   std::shared_ptr<tls::TLSOptions> server_options) {
  if (!server_options || !server_options->is_server()) return ERR_INVALID_PARAMETER;
  return start(stream, true, {}, std::move(server_options));
}

Error StreamPeerTLS::start(const std::shared_ptr<StreamPeerTCP>& stream, bool server,
                           const std::string& name, std::shared_ptr<tls::TLSOptions> options) {
  if (status_ == STATUS_HANDSHAKING || status_ == STATUS_CONNECTED) return ERR_ALREADY_IN_USE;
  if (!stream || stream->get_status() != StreamPeerTCP::STATUS_CONNECTED) return ERR_INVALID_PARAMETER;
  auto timeout = std::chrono::duration_cast<io::Duration>(std::chrono::duration<double>(handshake_timeout_));
  io::TcpStream plain = std::move(*stream->lend_tcp());
  tcp_ = stream;
  handshake_ = server ? TlsHandshake::accept(*reactor_, std::move(plain), std::move(options), timeout)
                      : TlsHandshake::connect(*reactor_, std::move(plain), name, std::move(options), timeout);
  error_.clear();
  status_ = STATUS_HANDSHAKING;
  return OK;
}

void StreamPeerTLS::poll() {
  reactor_->poll();
  if (status_ != STATUS_HANDSHAKING || !handshake_) return;
  switch (handshake_->status()) {
    case STATUS_HANDSHAKING:
      return;
    case STATUS_CONNECTED:
      stream_ = handshake_->take_stream();
      status_ = STATUS_CONNECTED;
      break;
    case STATUS_ERROR_HOSTNAME_MISMATCH:
      error_ = handshake_->error();
      status_ = STATUS_ERROR_HOSTNAME_MISMATCH;
      break;
    default:
      error_ = handshake_->error();
      status_ = STATUS_ERROR;
      break;
  }
  handshake_.reset();
}

void StreamPeerTLS::disconnect_from_stream() {
  handshake_.reset();
  if (stream_) stream_->close();
  stream_.reset();
  if (tcp_) tcp_->disconnect_from_host();  // its socket went with the session
  status_ = STATUS_DISCONNECTED;
}

std::unique_ptr<io::ByteStream> StreamPeerTLS::release_stream() {
  if (status_ != STATUS_CONNECTED || !stream_) return nullptr;
  status_ = STATUS_DISCONNECTED;
  return std::move(stream_);
}

}  // namespace wsp
