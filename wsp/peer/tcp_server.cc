#include "wsp/peer/tcp_server.h"

namespace wsp {

TCPServer::TCPServer(io::Reactor& reactor) : reactor_(&reactor) {}

TCPServer::~TCPServer() { stop(); }

Error TCPServer::listen(int port, const std::string& bind_address) {
  if (listener_.is_listening()) return ERR_ALREADY_IN_USE;
  if (port < 0 || port > 65535) return ERR_INVALID_PARAMETER;
  auto listener = io::TcpListener::bind(*reactor_, bind_address, static_cast<std::uint16_t>(port));
  if (!listener) {
    if (listener.error() == std::errc::address_in_use) return ERR_ALREADY_IN_USE;
    if (listener.error() == std::errc::invalid_argument) return ERR_INVALID_PARAMETER;
    return ERR_CANT_CREATE;
  }
  listener_ = std::move(*listener);
  return OK;
}

bool TCPServer::is_connection_available() {
  if (!listener_.is_listening()) return false;
  if (!pending_) {
    reactor_->poll();
    pending_ = listener_.try_accept();
  }
  return pending_.has_value();
}

std::shared_ptr<StreamPeerTCP> TCPServer::take_connection() {
  if (!is_connection_available()) return nullptr;
  auto peer = std::make_shared<StreamPeerTCP>(*reactor_, std::move(*pending_));
  pending_.reset();
  return peer;
}

void TCPServer::stop() {
  pending_.reset();
  listener_.close();
}

}  // namespace wsp
