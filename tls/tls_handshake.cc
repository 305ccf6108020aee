#include "tls/tls_handshake.h"

namespace tls {

TlsHandshake::TlsHandshake(io::Reactor& reactor, std::unique_ptr<TlsStream> stream)
    : reactor_(&reactor), stream_(std::move(stream)) {}

std::unique_ptr<TlsHandshake> TlsHandshake::connect(io::Reactor& reactor, io::TcpStream tcp,
                                                    std::string host,
                                                    std::shared_ptr<TLSOptions> options,
                                                    io::Duration timeout) {
  std::unique_ptr<TlsHandshake> h(new TlsHandshake(
      reactor, TlsStream::client(std::move(tcp), std::move(host), std::move(options))));
  h->start(timeout);
  return h;
}

std::unique_ptr<TlsHandshake> TlsHandshake::accept(io::Reactor& reactor, io::TcpStream tcp,
                                                   std::shared_ptr<TLSOptions> options,
                                                   io::Duration timeout) {
  std::unique_ptr<TlsHandshake> h(
      new TlsHandshake(reactor, TlsStream::server(std::move(tcp), std::move(options))));
  h->start(timeout);
  return h;
}

void TlsHandshake::start(io::Duration timeout) {
  if (stream_->status() != STATUS_HANDSHAKING) {  // unusable options: failed already
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
  if (taken_) return STATUS_DISCONNECTED;
  if (running_) return STATUS_HANDSHAKING;
  return stream_->status();
}

std::string TlsHandshake::error() const { return stream_ ? stream_->error() : std::string(); }

std::unique_ptr<TlsStream> TlsHandshake::take_stream() {
  if (taken_ || running_ || stream_->status() != STATUS_CONNECTED) return nullptr;
  taken_ = true;
  return std::move(stream_);
}

}  // namespace tls
