// StreamPeer family of the reference API (StreamPeerTCP, StreamPeerTLS) as the poll() façade
// sees them: poll-driven objects that own a reactor byte stream, which WebSocketPeer's
// accept_stream() takes over.
#pragma once

#include <memory>

#include "io/byte_stream.h"
#include "io/reactor.h"

namespace wsp {

class StreamPeer {
 public:
  virtual ~StreamPeer() = default;
  // Advances connection work on the reactor; never blocks.
  virtual void poll() = 0;
  // Whether the stream is connected (TCP up, TLS handshake done).
  virtual bool is_connected_stream() const = 0;
  virtual bool is_tls() const = 0;
  // Hands the underlying stream over (once); the peer is then disconnected.
  virtual std::unique_ptr<io::ByteStream> release_stream() = 0;
  virtual io::Reactor& reactor() const = 0;
};

}  // namespace wsp
