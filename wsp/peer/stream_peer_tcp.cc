#include "wsp/peer/stream_peer_tcp.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>

#include "io/resolver.h"

namespace wsp {

StreamPeerTCP::StreamPeerTCP(io::Reactor& reactor) : reactor_(&reactor) {}

StreamPeerTCP::StreamPeerTCP(io::Reactor& reactor, io::TcpStream stream)
    : reactor_(&reactor), status_(STATUS_CONNECTED), stream_(std::move(stream)) {}

StreamPeerTCP::~StreamPeerTCP() { disconnect_from_host(); }

Error StreamPeerTCP::bind(int port, const std::string& host) {
  if (port < 0 || port > 65535) return ERR_INVALID_PARAMETER;
  auto address = io::SocketAddress::parse(host == "*" ? "0.0.0.0" : host,
                                          static_cast<std::uint16_t>(port));
  if (!address) return ERR_INVALID_PARAMETER;
  local_ = *address;
  return OK;
}

Error StreamPeerTCP::connect_to_host(const std::string& host, int port) {
  if (status_ != STATUS_NONE) return ERR_ALREADY_IN_USE;
  if (host.empty() || port < 1 || port > 65535) return ERR_INVALID_PARAMETER;
  status_ = STATUS_CONNECTING;
  connecting_ = reactor_->spawn(connect_task(host, port));
  return OK;
}

io::Task<void> StreamPeerTCP::connect_task(std::string host, int port) {
  auto addresses = co_await io::resolve(*reactor_, host, static_cast<std::uint16_t>(port));
  connecting_ = 0;
  if (addresses) {
    for (const io::SocketAddress& address : *addresses) {
      // A bound local address must be of the same family as the peer's.
      std::optional<io::SocketAddress> local;
      if (local_ && local_->family() == address.family()) local = local_;
      auto stream = co_await io::TcpStream::connect(*reactor_, address, io::Duration::zero(), local);
      if (stream) {
        stream_ = std::move(*stream);
        if (!no_delay_) (void)stream_->set_no_delay(false);
        status_ = STATUS_CONNECTED;
        co_return;
      }
    }
  }
  status_ = STATUS_ERROR;
}

void StreamPeerTCP::poll() { reactor_->poll(); }

void StreamPeerTCP::disconnect_from_host() {
  if (connecting_) reactor_->cancel(std::exchange(connecting_, 0));
  if (stream_) stream_->close();
  stream_.reset();
  lent_remote_.reset();
  lent_local_.reset();
  status_ = STATUS_NONE;
}

std::string StreamPeerTCP::get_connected_host() const {
  if (lent_remote_) return lent_remote_->ip();
  if (!stream_) return {};
  auto remote = stream_->remote_address();
  return remote ? remote->ip() : std::string();
}

int StreamPeerTCP::get_connected_port() const {
  if (lent_remote_) return lent_remote_->port();
  if (!stream_) return 0;
  auto remote = stream_->remote_address();
  return remote ? remote->port() : 0;
}

int StreamPeerTCP::get_local_port() const {
  if (lent_local_) return lent_local_->port();
  if (!stream_) return 0;
  auto local = stream_->local_address();
  return local ? local->port() : 0;
}

void StreamPeerTCP::set_no_delay(bool enabled) {
  no_delay_ = enabled;
  if (stream_) (void)stream_->set_no_delay(enabled);  // void API: best effort
}

Error StreamPeerTCP::put_partial_data(const std::vector<std::uint8_t>& data, int& sent) {
  sent = 0;
  if (status_ != STATUS_CONNECTED || !stream_) return FAILED;  // lent to TLS: not ours to use
  ssize_t n = ::send(stream_->fd(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return OK;
    status_ = STATUS_ERROR;
    return FAILED;
  }
  sent = static_cast<int>(n);
  return OK;
}

Error StreamPeerTCP::put_data(const std::vector<std::uint8_t>& data) {
  if (status_ != STATUS_CONNECTED || !stream_) return FAILED;
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(stream_->fd(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status_ = STATUS_ERROR;
      return FAILED;
    }
    done += static_cast<std::size_t>(n);
  }
  return OK;
}

Error StreamPeerTCP::get_partial_data(int bytes, std::vector<std::uint8_t>& out) {
  out.clear();
  if (status_ != STATUS_CONNECTED || !stream_) return FAILED;
  if (bytes < 0) return ERR_INVALID_PARAMETER;
  out.resize(static_cast<std::size_t>(bytes));
  ssize_t n = ::recv(stream_->fd(), out.data(), out.size(), MSG_DONTWAIT);
  if (n < 0) {
    out.clear();
    if (errno == EAGAIN || errno == EWOULDBLOCK) return OK;
    status_ = STATUS_ERROR;
    return FAILED;
  }
  if (n == 0 && bytes > 0) {  // orderly EOF: the peer is gone
    out.clear();
    status_ = STATUS_NONE;
    return ERR_FILE_EOF;
  }
  out.resize(static_cast<std::size_t>(n));
  return OK;
}

Error StreamPeerTCP::get_data(int bytes, std::vector<std::uint8_t>& out) {
  out.clear();
  if (status_ != STATUS_CONNECTED || !stream_) return FAILED;
  if (bytes < 0) return ERR_INVALID_PARAMETER;
  out.resize(static_cast<std::size_t>(bytes));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::recv(stream_->fd(), out.data() + got, out.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.resize(got);
      status_ = n == 0 ? STATUS_NONE : STATUS_ERROR;
      return n == 0 ? ERR_FILE_EOF : FAILED;
    }
    got += static_cast<std::size_t>(n);
  }
  return OK;
}

int StreamPeerTCP::get_available_bytes() const {
  if (status_ != STATUS_CONNECTED || !stream_) return 0;
  int available = 0;
  ::ioctl(stream_->fd(), FIONREAD, &available);
  return available;
}

std::optional<io::TcpStream> StreamPeerTCP::release_tcp() {
  if (status_ != STATUS_CONNECTED || !stream_) return std::nullopt;
  std::optional<io::TcpStream> out = std::move(stream_);
  stream_.reset();
  status_ = STATUS_NONE;
  return out;
}

std::optional<io::TcpStream> StreamPeerTCP::lend_tcp() {
  if (status_ != STATUS_CONNECTED || !stream_) return std::nullopt;
  if (auto remote = stream_->remote_address()) lent_remote_ = *remote;
  if (auto local = stream_->local_address()) lent_local_ = *local;
  std::optional<io::TcpStream> out = std::move(stream_);
  stream_.reset();
  return out;
}

std::unique_ptr<io::ByteStream> StreamPeerTCP::release_stream() {
  auto tcp = release_tcp();
  if (!tcp) return nullptr;
  return std::make_unique<io::TcpStream>(std::move(*tcp));
}

}  // namespace wsp
