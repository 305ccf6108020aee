// TlsHandshake: a TLS handshake driven by polling, for StreamPeerTLS. It spawns TlsStream::handshake on the reactor; the
// owner keeps turning the reactor (reactor.poll() in its own poll()) and reads status():
//
//   auto hs = TlsHandshake::connect(reactor, std::move(tcp), host, options, 10s);
//   ... each poll():  reactor.poll();
//                     switch (hs->status()) {
//                       case STATUS_HANDSHAKING: break;                 // not yet
//                       case STATUS_CONNECTED: stream = hs->take_stream(); break;
//                       default: report hs->error(); hs.reset();        // the TCP is closed
//                     }
//
// Destroying it while handshaking cancels the task (and its I/O) and closes the connection.
#pragma once

#include <memory>
#include <string>

#include "io/reactor.h"
#include "io/tcp_stream.h"
#include "tls/tls_options.h"
#include "tls/tls_stream.h"
#include "wsp/peer/tls_status.h"

namespace wsp {

class TlsHandshake {
 public:
  static std::unique_ptr<TlsHandshake> connect(io::Reactor& reactor, io::TcpStream tcp,
                                               std::string host,
                                               std::shared_ptr<tls::TLSOptions> options,
                                               io::Duration timeout);
  static std::unique_ptr<TlsHandshake> accept(io::Reactor& reactor, io::TcpStream tcp,
                                              std::shared_ptr<tls::TLSOptions> options,
                                              io::Duration timeout);
  ~TlsHandshake();
  TlsHandshake(const TlsHandshake&) = delete;
  TlsHandshake& operator=(const TlsHandshake&) = delete;

  // STATUS_HANDSHAKING until the handshake ends; then STATUS_CONNECTED, STATUS_ERROR or
  // STATUS_ERROR_HOSTNAME_MISMATCH. STATUS_DISCONNECTED once the stream was taken.
  TlsStatus status() const;
  std::string error() const;
  // The connected stream (once, when status() is STATUS_CONNECTED), else nullptr.
  std::unique_ptr<tls::TlsStream> take_stream();

 private:
  TlsHandshake(io::Reactor& reactor, std::unique_ptr<tls::TlsStream> stream);
  void start(io::Duration timeout);
  static io::Task<void> run(TlsHandshake* self, io::Duration timeout);

  io::Reactor* reactor_;
  std::unique_ptr<tls::TlsStream> stream_;
  io::Reactor::TaskId task_ = 0;
  bool running_ = false;
  bool taken_ = false;
};

}  // namespace wsp
