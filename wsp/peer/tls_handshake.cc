#include "wsp/peer/tls_handshake.h"

namespace wsp {

using tls::TlsStream;

TlsHandshake::TlsHandshake(io::Reactor& reactor, std::unique_ptr<TlsStream> stream)
    : reactor_(&reactor), stream_(std::move(stream)) {}

std::unique_ptr<TlsHandshake> TlsHandshake::connect(io::Reactor& reactor, io::TcpStream tcp,
                                                    std::string host,
                                                    std::shared_ptr<tls::TLSOptions> options,
                                                    io::Duration timeout) {
  std::unique_ptr<TlsHandshake> h(new TlsHandshake(
      reactor, TlsStream::client(std::move(tcp), std::move(host), std::move(options))));
  h->start(timeout);
  return h;
}

std::unique_ptr<TlsHandshake> TlsHandshake::accept(io::Reactor& reactor, io::TcpStream tcp,
                                                   std::shared_ptr<tls::TLSOptions> options,
                                                   io::Duration timeout) {
  std::unique_ptr<TlsHandshake> h(
      new TlsHandshake(reactor, TlsStream::server(std::move(tcp), std::move(options))));
  h->start(timeout);
  return h;
}

void TlsHandshake::start(io::Duration timeout) {
  if (stream_->state() != tls::TlsState::handshaking) {  // unusable options: failed already
    stream_->close();
    return;
  }
  running_ = true;
  task_ = reactor_->spawn(run(this, timeout));
}

io::Task<void> TlsHandshake::run(TlsHandshake* self, io::Duration timeout) {
  auto done = co_await self->stream_->handshake(timeout);
  if (!done) self->stream_->close();
  self->running_ = false;
}

TlsHandshake::~TlsHandshake() {
  if (running_) reactor_->cancel(task_);
}

TlsStatus TlsHandshake::status() const {
  if (taken_) return TlsStatusValues::STATUS_DISCONNECTED;
  if (running_) return TlsStatusValues::STATUS_HANDSHAKING;
  return tls_status(*stream_);
}

std::string TlsHandshake::error() const { return stream_ ? stream_->error() : std::string(); }

std::unique_ptr<TlsStream> TlsHandshake::take_stream() {
  if (taken_ || running_ || stream_->state() != tls::TlsState::connected) return nullptr;
  taken_ = true;
  return std::move(stream_);
}

}  // namespace wsp
